/**
 * On-demand tokenizer for normalized answer text, LaTeX or plain. The parser
 * asks for one token at a position (so "\frac12" can take its arguments one
 * character at a time, as TeX does). "plain" mode, used for answers that were
 * not inside math delimiters, also reads space thousands ("1 000"); both modes
 * read comma thousands ("7,425,000") and scientific notation ("7.02e5"). A
 * decimal comma ("2,74") is ambiguous with a list and is handled by verify.ts,
 * which tries both readings.
 */

export type LexMode = "latex" | "plain";

export type Tok =
  | { readonly t: "num"; readonly text: string; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "letters"; readonly text: string; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "cmd"; readonly name: string; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "text"; readonly cmd: string; readonly content: string; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "op"; readonly v: string; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "qsep"; readonly start: number; readonly end: number; readonly space: boolean }
  | { readonly t: "eof"; readonly start: number; readonly end: number; readonly space: boolean };

/** Commands whose braced argument is read raw as text. */
export const TEXT_COMMANDS = new Set([
  "text",
  "textbf",
  "textit",
  "textrm",
  "textnormal",
  "texttt",
  "textsf",
  "textup",
  "mbox",
  "hbox",
  "mathrm",
  "mathbf",
  "mathit",
  "mathsf",
  "mathtt",
  "mathcal",
  "mathbb",
  "mathscr",
  "mathfrak",
  "operatorname",
  "emph",
  "boldsymbol",
  "bm",
  "pmb",
]);

/** Commands that are pure layout and vanish. */
const SKIP_COMMANDS = new Set([
  "left",
  "right",
  "middle",
  "big",
  "Big",
  "bigg",
  "Bigg",
  "bigl",
  "bigr",
  "Bigl",
  "Bigr",
  "biggl",
  "biggr",
  "Biggl",
  "Biggr",
  "displaystyle",
  "textstyle",
  "scriptstyle",
  "limits",
  "nolimits",
  "mathstrut",
  "strut",
  "nonumber",
  "notag",
  "rm",
  "bf",
  "it",
  "cal",
  "mathrel",
  "mathop",
  "mathord",
  "mathbin",
  "relax",
  "noindent",
  "centering",
  "small",
  "large",
  "Large",
  "tiny",
  "normalsize",
]);

const SKIP_WITH_ARG = new Set(["phantom", "hphantom", "vphantom", "label", "tag", "color", "textcolor", "vspace", "hspace*", "vspace*"]);
const SPACE_COMMANDS = new Set(["quad", "qquad", "hfill", "enspace", "enskip", "hspace", "medskip", "smallskip", "bigskip", "newline", "linebreak"]);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
}

/** Reads a balanced {...} group starting at s[i] === "{"; returns the content and the index after "}". */
export function readGroup(s: string, i: number): { content: string; end: number } | undefined {
  if (s[i] !== "{") return undefined;
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return { content: s.slice(i + 1, j), end: j + 1 };
    }
  }
  return undefined;
}

function skipSpaces(s: string, i: number): number {
  for (;;) {
    const c = s[i];
    if (c === " " || c === "\n" || c === "\t" || c === "\r" || c === "~") {
      i++;
      continue;
    }
    if (c === "\\") {
      const d = s[i + 1];
      if (d === "," || d === ";" || d === ":" || d === "!" || d === " " || d === ">") {
        i += 2;
        continue;
      }
    }
    return i;
  }
}

function readDigits(s: string, i: number): number {
  while (isDigit(s[i])) i++;
  return i;
}

/** Thousands separators: ",", "\,", "{,}" already normalized to "," by normalize.ts; "\," handled here. */
function thousandsSep(s: string, i: number, mode: LexMode): number {
  if (s[i] === ",") return 1;
  if (s[i] === "\\" && s[i + 1] === ",") return 2;
  if (mode === "plain" && s[i] === " ") return 1;
  return 0;
}

function lexNumber(s: string, start: number, mode: LexMode): { text: string; end: number } {
  let i = start;
  let intPart = "";
  if (s[i] !== ".") {
    const e = readDigits(s, i);
    intPart = s.slice(i, e);
    i = e;
    // thousands groups: first group 1-3 digits (not a lone 0), then groups of exactly 3;
    // not for an item of a list ("(12,102)", "27,54,108") and not when more comma-numbers follow
    const prev = s[start - 1];
    const listItem = prev === "(" || prev === "[" || prev === "{" || prev === "," || prev === ";";
    if (!listItem && intPart.length <= 3 && intPart[0] !== "0") {
      let j = i;
      let grouped = intPart;
      for (;;) {
        const sep = thousandsSep(s, j, mode);
        if (sep === 0) break;
        const k = j + sep;
        const e2 = readDigits(s, k);
        if (e2 - k !== 3) break;
        grouped += s.slice(k, e2);
        j = e2;
      }
      const moreItems = s[j] === "," && isDigit(s[j + 1]);
      if (j !== i && !moreItems) {
        intPart = grouped;
        i = j;
      }
    }
  }
  let text = intPart;
  if (s[i] === "." && isDigit(s[i + 1])) {
    const e = readDigits(s, i + 1);
    text += s.slice(i, e);
    i = e;
  } else if (s[i] === "." && intPart !== "" && (i + 1 >= s.length || /[\s)}\],;/*+\-^]/.test(s[i + 1] ?? ""))) {
    i += 1; // "3." is just 3
  }
  // scientific notation: 7.02e5, 1e-5, 2.5E+3 (but not 2e^x or 2ex)
  if ((s[i] === "e" || s[i] === "E") && text !== "") {
    let j = i + 1;
    if (s[j] === "+" || s[j] === "-") j++;
    if (isDigit(s[j])) {
      const e = readDigits(s, j);
      if (!isLetter(s[e]) && s[e] !== "^" && s[e] !== "{") {
        text += `e${s.slice(i + 1, e)}`;
        i = e;
      }
    }
  }
  return { text: text.startsWith(".") ? `0${text}` : text, end: i };
}

const TWO_CHAR_OPS = new Map([
  ["<=", "<="],
  [">=", ">="],
  ["=<", "<="],
  ["=>", ">="],
  ["!=", "!="],
  ["<>", "!="],
  ["==", "="],
  ["**", "^"],
  ["->", "to"],
]);

const ONE_CHAR_OPS = new Set(["+", "-", "*", "/", "^", "_", "!", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ";", ":", "|", "&", "'", "?"]);

export function lexAt(s: string, pos: number, mode: LexMode): Tok {
  const start0 = pos;
  let i = skipSpaces(s, pos);
  for (;;) {
    const space = i > start0;
    if (i >= s.length) return { t: "eof", start: i, end: i, space };
    const c = s[i] as string;
    if (isDigit(c) || (c === "." && isDigit(s[i + 1]))) {
      const { text, end } = lexNumber(s, i, mode);
      return { t: "num", text, start: i, end, space };
    }
    if (isLetter(c)) {
      let e = i + 1;
      while (isLetter(s[e])) e++;
      return { t: "letters", text: s.slice(i, e), start: i, end: e, space };
    }
    if (c === "\\") {
      const d = s[i + 1];
      if (d === undefined) return { t: "eof", start: i, end: i + 1, space };
      if (!isLetter(d)) {
        if (d === "\\") return { t: "op", v: "rowsep", start: i, end: i + 2, space };
        if (d === "{" || d === "}") return { t: "op", v: d === "{" ? "\\{" : "\\}", start: i, end: i + 2, space };
        if (d === "|") return { t: "op", v: "|", start: i, end: i + 2, space };
        if (d === "%") return { t: "cmd", name: "%", start: i, end: i + 2, space };
        if (d === "$" || d === "#" || d === "&" || d === "_") {
          i += 2;
          i = skipSpaces(s, i);
          continue;
        }
        // "\(" "\)" "\[" "\]" left over from delimiters: treat as brackets
        if (d === "(" || d === ")" || d === "[" || d === "]") return { t: "op", v: d, start: i, end: i + 2, space };
        i += 2;
        i = skipSpaces(s, i);
        continue;
      }
      let e = i + 1;
      while (isLetter(s[e])) e++;
      const name = s.slice(i + 1, e);
      if (name === "hspace" && s[e] === "*") e++;
      if (SKIP_COMMANDS.has(name)) {
        i = e;
        // \left. and \right. are invisible delimiters
        if ((name === "left" || name === "right" || name === "middle") && s[i] === ".") i++;
        i = skipSpaces(s, i);
        continue;
      }
      if (SKIP_WITH_ARG.has(name)) {
        let j = skipSpaces(s, e);
        const g = readGroup(s, j);
        if (g) j = g.end;
        if (name === "textcolor") {
          // \textcolor{red}{x}: keep the second group as content
          i = j;
        } else i = j;
        i = skipSpaces(s, i);
        continue;
      }
      if (SPACE_COMMANDS.has(name)) {
        let j = e;
        if (name === "hspace") {
          const g = readGroup(s, skipSpaces(s, j));
          if (g) j = g.end;
        }
        return { t: "qsep", start: i, end: j, space };
      }
      if (TEXT_COMMANDS.has(name)) {
        const j = skipSpaces(s, e);
        const g = readGroup(s, j);
        if (g) return { t: "text", cmd: name, content: g.content, start: i, end: g.end, space };
        // \mathrm x: a single following character
        if (j < s.length && s[j] !== "\\") return { t: "text", cmd: name, content: s[j] as string, start: i, end: j + 1, space };
        i = j;
        continue;
      }
      return { t: "cmd", name, start: i, end: e, space };
    }
    const two = s.slice(i, i + 2);
    const op2 = TWO_CHAR_OPS.get(two);
    if (op2 !== undefined) return { t: "op", v: op2, start: i, end: i + 2, space };
    if (c === "%") return { t: "cmd", name: "%", start: i, end: i + 1, space };
    if (ONE_CHAR_OPS.has(c)) return { t: "op", v: c, start: i, end: i + 1, space };
    if (c === "$") {
      i = skipSpaces(s, i + 1);
      continue;
    }
    // anything else (stray punctuation, non-Latin letters) is an unknown character
    return { t: "op", v: c, start: i, end: i + 1, space };
  }
}
