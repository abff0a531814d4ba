/**
 * The atoms of the parser: symbols (subscripts, primes, applications f(x)),
 * runs of letters (function words, products of single-letter symbols),
 * \\text{...} and friends, and bracketed groups (tuples, intervals, sets,
 * absolute values). Functions of the Parser's state, kept apart from the
 * precedence climbing in parse.ts.
 */
import { type Node, num, sym } from "./ast.js";
import { AnswerParseError, AnswerTooLarge } from "../errors.js";
import type { Tok } from "./lexer.js";
import { parseCommand } from "./parse-commands.js";
import type { Parser } from "./parse.js";
import { parseDecimal } from "../numbers/rational.js";

/** After a symbol name: subscript, primes, and function application f(x). */
export function symbolTail(p: Parser, name: string): Node {
  let full = name;
  if (p.isOp(p.peek(), "_")) {
    p.next();
    full += `_${p.readRawArg()}`;
  }
  while (p.isOp(p.peek(), "'")) {
    p.next();
    full += "'";
  }
  if (full === "e") return { k: "const", name: "e" };
  if (full === "i") return { k: "const", name: "i" };
  const tok = p.peek();
  if (p.isOp(tok, "(") && !tok.space) {
    const save = p.pos;
    const arg = p.parsePrimary();
    const args = arg.k === "tuple" ? arg.items : [arg];
    const atomic = arg.k === "sym" || arg.k === "num" || arg.k === "const" || arg.k === "tuple" || (arg.k === "neg" && arg.arg.k === "num");
    if (atomic || FUNCTION_LETTERS.has(name) || full !== name) return { k: "apply", name: full, args };
    p.pos = save;
  }
  return sym(full);
}

export function parseLetters(p: Parser, tok: Extract<Tok, { t: "letters" }>): Node {
  const text = tok.text;
  const word = WORDS.get(text) ?? WORDS.get(text.toLowerCase());
  if (word !== undefined && (text.length > 1 || word === "pi")) {
    p.next();
    if (word === "pi") return { k: "const", name: "pi" };
    if (word === "inf") return { k: "const", name: "inf" };
    return parseCommand(p, word);
  }
  // "sinx", "lnx": a function word glued to its argument
  for (const [w, f] of WORDS) {
    if (f.length > 1 && f !== "inf" && w.length >= 2 && text.length > w.length && text.length <= w.length + 2 && text.startsWith(w)) {
      p.pos = tok.start + w.length;
      return parseCommand(p, f);
    }
  }
  if (text.length === 1) {
    p.next();
    return symbolTail(p, text);
  }
  // TeX reads "aM^2" as a*M^2: one letter is one factor; the rest are read as further factors
  p.pos = tok.start + 1;
  return letterNode(text[0] as string);
}

export function parseTextTok(p: Parser, tok: Extract<Tok, { t: "text" }>): Node {
  p.next();
  const content = tok.content.trim();
  if (tok.cmd === "operatorname") {
    const f = WORDS.get(content) ?? WORDS.get(content.toLowerCase());
    if (f !== undefined && f.length > 1) return parseCommand(p, f);
    return symbolTail(p, content);
  }
  const mathFont = tok.cmd.startsWith("math") || tok.cmd === "boldsymbol" || tok.cmd === "bm" || tok.cmd === "pmb";
  if (content === "") return p.fail("empty text");
  if (mathFont || p.textIsMath(content) || /^\\?[a-zA-Z]$/.test(content)) {
    if (/^[a-zA-Z]$/.test(content) && !mathFont) return { k: "text", text: content };
    const inner = p.sub(content);
    if (inner) return inner;
  }
  const choice = /^\(\s*([A-Za-z])\s*\)$/.exec(content);
  if (choice) return { k: "text", text: choice[1] as string };
  return { k: "text", text: content.replace(/\s+/g, " ") };
}

export function parseBracketed(p: Parser, tok: Extract<Tok, { t: "op" }>): Node {
  switch (tok.v) {
    case "(":
    case "[": {
      p.next();
      const items = p.parseItems();
      const close = p.next();
      if (close.t !== "op" || (close.v !== ")" && close.v !== "]")) p.fail(`unclosed "${tok.v}"`);
      if (items.length === 1) {
        if (tok.v === close.v.replace(")", "(").replace("]", "[")) return items[0] as Node;
        p.fail("mismatched brackets");
      }
      if (items.length === 2 && !(tok.v === "(" && close.v === ")")) {
        return { k: "interval", lo: items[0] as Node, hi: items[1] as Node, loOpen: tok.v === "(", hiOpen: close.v === ")" };
      }
      if (tok.v !== close.v.replace(")", "(").replace("]", "[")) p.fail("mismatched brackets");
      return { k: "tuple", items, delim: tok.v === "(" ? "(" : "[" };
    }
    case "{": {
      p.next();
      if (p.isOp(p.peek(), "}")) {
        p.next();
        return { k: "set", items: [] };
      }
      const inner = p.parseGroups();
      p.expectOp("}");
      return inner;
    }
    case "\\{": {
      p.next();
      if (p.isOp(p.peek(), "\\}")) {
        p.next();
        return { k: "set", items: [] };
      }
      const items = p.parseItems();
      p.expectOp("\\}");
      return { k: "set", items };
    }
    case "|": {
      p.next();
      p.absDepth++;
      const inner = p.parseGroups();
      p.absDepth--;
      p.expectOp("|");
      return { k: "fn", name: "abs", args: [inner] };
    }
    default:
      return p.fail(`unexpected "${tok.v}"`);
  }
}


const FUNCTION_LETTERS = new Set(["f", "g", "h", "F", "G", "H"]);
/** Words read as functions or constants in both plain and LaTeX text. */
export const WORDS = new Map<string, string>([
  ["sqrt", "sqrt"],
  ["sin", "sin"],
  ["cos", "cos"],
  ["tan", "tan"],
  ["cot", "cot"],
  ["sec", "sec"],
  ["csc", "csc"],
  ["arcsin", "arcsin"],
  ["arccos", "arccos"],
  ["arctan", "arctan"],
  ["asin", "arcsin"],
  ["acos", "arccos"],
  ["atan", "arctan"],
  ["sinh", "sinh"],
  ["cosh", "cosh"],
  ["tanh", "tanh"],
  ["ln", "ln"],
  ["log", "log"],
  ["exp", "exp"],
  ["abs", "abs"],
  ["pi", "pi"],
  ["infinity", "inf"],
  ["infty", "inf"],
  ["inf", "inf"],
  ["gcd", "gcd"],
  ["lcm", "lcm"],
  ["floor", "floor"],
  ["ceil", "ceil"],
]);

const UNIT_WORDS = new Set(
  "cm mm km kg mg ml mL dm nm um ft in yd mi mph kmh kph sec secs min mins hr hrs h hour hours minute minutes second seconds day days week weeks month months year years meter meters metre metres mile miles inch inches foot feet yard yards gram grams kilogram kilograms liter liters litre litres dollar dollars cent cents units unit degree degrees deg rad radians percent pct yuan euros euro pounds pound cal kcal mol cm2 sq square cubic"
    .split(" "),
);

export function isUnitWord(w: string): boolean {
  return UNIT_WORDS.has(w);
}

export function isQuantity(n: Node): boolean {
  return n.k === "num" || n.k === "const" || (n.k === "pow" && isQuantity(n.base)) || n.k === "div" || n.k === "fn";
}

/** A whole number followed by a proper fraction of whole numbers: 137\frac{1}{2}. */
export function isMixedNumber(whole: Node, frac: Node): boolean {
  const nat = (n: Node): n is Extract<Node, { k: "num" }> => n.k === "num" && !n.float && n.q.d === 1n && n.q.n >= 0n;
  return nat(whole) && frac.k === "div" && nat(frac.num) && nat(frac.den) && frac.num.q.n < frac.den.q.n && frac.num.q.n > 0n;
}

export function isSeparatorText(content: string): boolean {
  return /^\s*,?\s*(and|or|und|et|y|ou)?\s*,?\s*$/i.test(content) && /\S/.test(content);
}

export function letterNode(c: string): Node {
  if (c === "e") return { k: "const", name: "e" };
  if (c === "i") return { k: "const", name: "i" };
  return sym(c);
}

export function primed(n: Node): Node {
  if (n.k === "sym") return sym(`${n.name}'`);
  if (n.k === "apply") return { k: "apply", name: `${n.name}'`, args: n.args };
  return { k: "apply", name: "prime", args: [n] };
}

export function printDigits(n: Node): string {
  if (n.k !== "num" || n.q.d !== 1n || n.q.n < 0n) return "";
  return n.q.n.toString();
}

/** Decimal exponents past this are refused: 10^4000 is already 13288 bits, and "2e99999" must not be read as 2. */
const MAX_DECIMAL_EXPONENT = 4000;

export function numberNode(text: string, p: { fail(m: string, kind?: typeof AnswerParseError): never }): Node {
  const q = parseDecimal(text);
  if (!q) {
    const exponent = /[eE]([+-]?\d+)$/.exec(text)?.[1];
    if (exponent !== undefined && Math.abs(Number(exponent)) > MAX_DECIMAL_EXPONENT) return p.fail(`number ${text.length > 40 ? `${text.slice(0, 37)}...` : text} has an exponent beyond 10^±${MAX_DECIMAL_EXPONENT}`, AnswerTooLarge);
    return p.fail(`bad number ${text}`);
  }
  return num(q, /[.eE]/.test(text));
}

