/**
 * String-level clean-up applied before extraction and parsing: repairs of
 * text damaged by escaping (control characters standing for "\f", "\t", ...;
 * doubled backslashes before commands), Unicode math symbols to LaTeX,
 * thousands braces ("14{,}916"), percent and degree words, glued "or"/"and",
 * and trailing punctuation. Everything here is linear in the input length.
 */
import { KNOWN_COMMANDS } from "./parse-commands.js";
import { TEXT_COMMANDS } from "./lexer.js";

/** Command names used to recognize damaged escapes ("\f" + "rac" was "\frac"). */
const COMMAND_NAMES = new Set<string>([
  ...KNOWN_COMMANDS,
  ...TEXT_COMMANDS,
  "left",
  "right",
  "times",
  "cdot",
  "div",
  "pm",
  "mp",
  "le",
  "leq",
  "ge",
  "geq",
  "ne",
  "neq",
  "lt",
  "gt",
  "approx",
  "in",
  "cup",
  "cap",
  "setminus",
  "to",
  "quad",
  "qquad",
  "circ",
  "rangle",
  "rfloor",
  "rceil",
  "rvert",
  "end",
  "displaystyle",
  "prime",
  "Rightarrow",
  "implies",
  "infty",
  "boxed",
  "fbox",
  "hline",
  "not",
  "pmod",
]);

/** Control characters that a non-raw string literal made out of "\x" escapes. */
const CONTROL_LETTERS = new Map<string, string>([
  ["\u0007", "a"],
  ["\u0008", "b"],
  ["\u000b", "v"],
  ["\u000c", "f"],
  ["\t", "t"],
  ["\r", "r"],
]);

function isLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
}

/**
 * Turns a control character back into backslash + letter when the letters
 * that follow complete a known command: TAB + "ext{13}" was "\text{13}".
 */
export function repairControlChars(s: string): string {
  if (!/[\u0007\u0008\u000b\u000c\t\r]/.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    const letter = CONTROL_LETTERS.get(c);
    if (letter !== undefined && isLetter(s[i + 1])) {
      let e = i + 1;
      while (isLetter(s[e])) e++;
      if (COMMAND_NAMES.has(letter + s.slice(i + 1, e))) {
        out += `\\${letter}`;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/**
 * "\\frac" (an escaped backslash that was never unescaped) becomes "\frac";
 * a real line break "\\" followed by a space, digit or "\cmd" is untouched.
 */
export function fixDoubledBackslashes(s: string): string {
  if (!s.includes("\\\\")) return s;
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === "\\" && s[i + 1] === "\\" && s[i - 1] !== "\\" && isLetter(s[i + 2])) {
      let e = i + 2;
      while (isLetter(s[e])) e++;
      const name = s.slice(i + 2, e);
      if (COMMAND_NAMES.has(name) || commandPrefix(name)) {
        out += "\\";
        i += 2;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

function commandPrefix(name: string): boolean {
  for (let len = name.length - 1; len >= 3; len--) if (COMMAND_NAMES.has(name.slice(0, len))) return true;
  return false;
}

const UNICODE: ReadonlyArray<[RegExp, string]> = [
  [/[\u2212\u2012\u2013\u2014]/g, "-"],
  [/\u00d7/g, "\\times "],
  [/\u00f7/g, "\\div "],
  [/[\u00b7\u22c5\u2219]/g, "\\cdot "],
  [/\u2264/g, "\\le "],
  [/\u2265/g, "\\ge "],
  [/\u2260/g, "\\ne "],
  [/\u2248/g, "\\approx "],
  [/\u03c0/g, "\\pi "],
  [/\u221e/g, "\\infty "],
  [/\u221a/g, "\\sqrt"],
  [/\u00b0/g, "^\\circ "],
  [/\u00b2/g, "^2"],
  [/\u00b3/g, "^3"],
  [/\u222a/g, "\\cup "],
  [/\u2229/g, "\\cap "],
  [/\u2208/g, "\\in "],
  [/\u00b1/g, "\\pm "],
  [/\u2213/g, "\\mp "],
  [/\u2192/g, "\\to "],
  [/\u21d2/g, "\\Rightarrow "],
  [/\u2026/g, "\\ldots "],
  [/[\u2032\u2019]/g, "'"],
  [/\u2205/g, "\\emptyset "],
  [/[\uff0c\u3001]/g, ", "],
  [/\uff1b/g, "; "],
  [/\uff08/g, "("],
  [/\uff09/g, ")"],
  [/\u00a0/g, " "],
];

/** Repairs applied to any text (responses and golds) before extraction. */
export function repairText(s: string): string {
  return fixDoubledBackslashes(repairControlChars(s));
}

/** Clean-up of one extracted answer before it is parsed. */
export function normalizeAnswer(raw: string): string {
  let s = repairText(raw);
  if (/[^\x00-\x7f]/.test(s)) for (const [re, rep] of UNICODE) s = s.replace(re, rep);
  s = s
    .replace(/\s*\{\s*,\s*\}\s*/g, ",")
    .replace(/\\!\s*/g, "")
    .replace(/\b(?:np|numpy|math|sympy|sp)\.(?=[a-z])/g, "")
    .replace(/\\text\{\s*\\?%\s*\}/g, "\\%")
    .replace(/\\(?:text|mathrm)\{\s*(?:percent|percentage|pct)\s*\}/g, "\\%")
    .replace(/\s*\b(?:percentage|percent|pct)\b/g, "\\%")
    .replace(/\\%\s*\\%/g, "\\%")
    .replace(/\^\s*\{\s*\\circ\s*\}\s*(?:\\mathrm\{[CF]\}|C\b|F\b)?/g, "^\\circ")
    // "1orW(x)=-1", "(11,7)or(7,11)": a connective typed without spaces
    .replace(/(?<=[\d)}\]])\s*(and|or)\s*(?=[A-Z([{\\$\d-])/g, ", ")
    .replace(/\\(?:dfrac|tfrac|cfrac)/g, "\\frac")
    .replace(/\\\\\s*$/g, "")
    .replace(/\s+/g, " ")
    .trim();
  // trailing sentence punctuation and empty decorations
  s = s.replace(/(?:\s|\\[,;:! ]|[.,;?])+$/g, "");
  return s;
}
