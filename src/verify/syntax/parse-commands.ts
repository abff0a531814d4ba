/**
 * The LaTeX commands the parser understands: fractions, roots, binomials,
 * named functions (with powers "\sin^2 x", inverses "\sin^{-1}" and log
 * bases "\log_2"), delimiters (floor, ceil, angle brackets, bars),
 * environments (matrices; aligned rows become lists), big operators and
 * decorated symbols. Parser state stays in parse.ts; this file only reads.
 */
import { type FnName, type Node, num, print, sym } from "./ast.js";
import { checkDeadline } from "../deadline.js";
import { readGroup } from "./lexer.js";
import type { Parser } from "./parse.js";
import { ratInt } from "../numbers/rational.js";

const GREEK = [
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "varepsilon",
  "zeta",
  "eta",
  "theta",
  "vartheta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "omicron",
  "rho",
  "varrho",
  "sigma",
  "varsigma",
  "tau",
  "upsilon",
  "phi",
  "varphi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Sigma",
  "Upsilon",
  "Phi",
  "Psi",
  "Omega",
  "ell",
  "hbar",
  "partial",
  "nabla",
  "aleph",
  "angle",
  "triangle",
  "odot",
  "mho",
];

const FUNCTIONS = new Map<string, FnName>([
  ["sin", "sin"],
  ["cos", "cos"],
  ["tan", "tan"],
  ["cot", "cot"],
  ["sec", "sec"],
  ["csc", "csc"],
  ["arcsin", "asin"],
  ["arccos", "acos"],
  ["arctan", "atan"],
  ["arccot", "acot"],
  ["sinh", "sinh"],
  ["cosh", "cosh"],
  ["tanh", "tanh"],
  ["ln", "ln"],
  ["log", "log"],
  ["lg", "log"],
  ["exp", "exp"],
  ["det", "det"],
  ["gcd", "gcd"],
  ["lcm", "lcm"],
  ["max", "max"],
  ["min", "min"],
  ["sqrt", "sqrt"],
  ["abs", "abs"],
  ["floor", "floor"],
  ["ceil", "ceil"],
  ["Re", "re"],
  ["Im", "im"],
]);

const INVERSE: Partial<Record<FnName, FnName>> = { sin: "asin", cos: "acos", tan: "atan", cot: "acot" };

const DECORATIONS = new Map([
  ["overline", "bar"],
  ["bar", "bar"],
  ["vec", "vec"],
  ["overrightarrow", "vec"],
  ["overleftrightarrow", "vec"],
  ["hat", "hat"],
  ["widehat", "hat"],
  ["tilde", "tilde"],
  ["widetilde", "tilde"],
  ["underline", "underline"],
  ["mathring", "ring"],
  ["dot", "dot"],
  ["ddot", "ddot"],
  ["check", "check"],
  ["breve", "breve"],
  ["acute", "acute"],
  ["grave", "grave"],
  ["overarc", "arc"],
  ["arc", "arc"],
]);

const MATRIX_ENVS = new Set(["pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "matrix", "smallmatrix", "array", "psmallmatrix", "bsmallmatrix"]);
const ELLIPSES = ["ldots", "cdots", "dots", "dotsc", "dotsb", "dotsm", "vdots", "ddots", "dotso"];

export const KNOWN_COMMANDS = new Set<string>([
  "frac",
  "dfrac",
  "tfrac",
  "cfrac",
  "sqrt",
  "binom",
  "dbinom",
  "tbinom",
  "pi",
  "infty",
  "infin",
  "imath",
  "jmath",
  "lfloor",
  "lceil",
  "langle",
  "lvert",
  "vert",
  "lVert",
  "Vert",
  "begin",
  "emptyset",
  "varnothing",
  "sum",
  "prod",
  "boxed",
  "fbox",
  "framebox",
  ...GREEK,
  ...FUNCTIONS.keys(),
  ...DECORATIONS.keys(),
  ...ELLIPSES,
]);

const DIFFERENTIALS = new Set(["d", "partial"]);

/** The differential symbol a term starts with: d in d, d^2, dy, dx^2; partial likewise. */
function differentialHead(n: Node): boolean {
  if (n.k === "sym") return DIFFERENTIALS.has(n.name);
  if (n.k === "pow") return differentialHead(n.base);
  return n.k === "mul" && n.args.length > 0 && differentialHead(n.args[0] as Node);
}

/**
 * d/dx, dy/dx, \\partial^2 / \\partial x^2: a derivative in Leibniz notation.
 * Read as a fraction of variables it would cancel (d/dx (3x) would be 3, and
 * dx/dt = kx - a would equal x/t = kx - a), so it is kept as an opaque
 * symbol: equal only to the same derivative, never to a value.
 */
export function isLeibnizFraction(numer: Node, den: Node): boolean {
  return differentialHead(numer) && den.k === "mul" && den.args.length >= 2 && differentialHead(den.args[0] as Node);
}

export function derivativeSymbol(numer: Node, den: Node): Node {
  return sym(`deriv[${print(numer)}/${print(den)}]`);
}

export function parseCommand(p: Parser, name: string): Node {
  switch (name) {
    case "frac":
    case "dfrac":
    case "tfrac":
    case "cfrac": {
      const a = p.readArg();
      const b = p.readArg();
      return isLeibnizFraction(a, b) ? derivativeSymbol(a, b) : { k: "div", num: a, den: b };
    }
    case "sqrt": {
      let index: Node | undefined;
      if (p.isOp(p.peek(), "[")) {
        p.next();
        index = p.parseGroups();
        p.expectOp("]");
      }
      const x = p.mode === "plain" && p.peek().t === "num" ? p.parsePow() : p.readArg();
      return index ? { k: "fn", name: "root", args: [x, index] } : { k: "fn", name: "sqrt", args: [x] };
    }
    case "binom":
    case "dbinom":
    case "tbinom": {
      const a = p.readArg();
      const b = p.readArg();
      return { k: "fn", name: "binom", args: [a, b] };
    }
    case "pi":
      return { k: "const", name: "pi" };
    case "infty":
    case "infin":
    case "inf":
      return { k: "const", name: "inf" };
    case "imath":
    case "jmath":
      return { k: "const", name: "i" };
    case "lfloor":
      return delimited(p, "floor", "rfloor");
    case "lceil":
      return delimited(p, "ceil", "rceil");
    case "lvert":
    case "vert":
      return delimited(p, "abs", name === "lvert" ? "rvert" : "vert");
    case "lVert":
    case "Vert":
      return delimited(p, "abs", name === "lVert" ? "rVert" : "Vert");
    case "langle": {
      const items = p.parseItems();
      const close = p.next();
      if (close.t !== "cmd" || close.name !== "rangle") p.fail("unclosed \\langle");
      return items.length === 1 ? (items[0] as Node) : { k: "tuple", items, delim: "<" };
    }
    case "begin":
      return environment(p);
    case "emptyset":
    case "varnothing":
      return { k: "set", items: [] };
    case "sum":
    case "prod":
      return bigOperator(p, name);
    case "boxed":
    case "fbox":
    case "framebox":
      return p.readArg();
    default:
      break;
  }
  if (ELLIPSES.includes(name)) return sym("...");
  const fn = FUNCTIONS.get(name);
  if (fn !== undefined) return functionCall(p, fn, name);
  const deco = DECORATIONS.get(name);
  if (deco !== undefined) return p.symbolTail(`${deco}(${p.readRawArg()})`);
  return p.symbolTail(name);
}

function delimited(p: Parser, fn: FnName, close: string): Node {
  const inner = p.parseGroups();
  const tok = p.next();
  const ok = (tok.t === "cmd" && tok.name === close) || (tok.t === "op" && tok.v === "|" && (close === "vert" || close === "rvert" || close === "Vert" || close === "rVert"));
  if (!ok) p.fail(`missing \\${close}`);
  return { k: "fn", name: fn, args: [inner] };
}

function functionCall(p: Parser, fn: FnName, written: string): Node {
  let power: Node | undefined;
  let base: Node | undefined = written === "lg" ? num(ratInt(10)) : undefined;
  let inverse = false;
  for (;;) {
    const tok = p.peek();
    if (p.isOp(tok, "^")) {
      p.next();
      const e = p.parseExponent();
      if (typeof e === "string") continue;
      if (e.k === "neg" && e.arg.k === "num" && e.arg.q.n === 1n && e.arg.q.d === 1n) inverse = true;
      else power = e;
    } else if (p.isOp(tok, "_")) {
      p.next();
      base = p.readArg();
    } else break;
  }
  let args: Node[];
  const tok = p.peek();
  if (p.isOp(tok, "(")) {
    const a = p.parsePrimary();
    args = a.k === "tuple" ? [...a.items] : [a];
  } else if (p.isOp(tok, "{")) {
    args = [p.readArg()];
  } else if (p.mode === "plain" && fn === "sqrt" && tok.t === "num") {
    args = [p.parsePow()];
  } else {
    // \sin 2x, \ln 3: the argument runs over implicitly multiplied factors, up to the next function
    const factors: Node[] = [p.parseUnary()];
    for (;;) {
      checkDeadline();
      const t = p.peek();
      if (!p.canStartFactor(t) || p.isOp(t, "[") || p.isOp(t, "(") || isFunctionToken(t)) break;
      factors.push(p.parsePow());
    }
    args = [factors.length === 1 ? (factors[0] as Node) : { k: "mul", args: factors }];
  }
  let name: FnName = fn;
  if (inverse) {
    const inv = INVERSE[fn];
    if (inv === undefined) p.fail(`no inverse for \\${written}`);
    name = inv;
  }
  if (name === "log" && base !== undefined) args = [args[0] as Node, base];
  if (args.length === 0) p.fail(`\\${written} without an argument`);
  const call: Node = { k: "fn", name, args };
  return power ? { k: "pow", base: call, exp: power } : call;
}

function isFunctionToken(t: ReturnType<Parser["peek"]>): boolean {
  if (t.t === "cmd") return FUNCTIONS.has(t.name);
  if (t.t === "letters") return FUNCTIONS.has(t.text);
  return false;
}

function environment(p: Parser): Node {
  const env = p.readRawArg();
  if (MATRIX_ENVS.has(env)) {
    if (env === "array") {
      const g = readGroup(p.s, p.peek().start);
      if (g) p.pos = g.end;
    }
    const rows: Node[][] = [];
    let row: Node[] = [];
    for (;;) {
      checkDeadline();
      const tok = p.peek();
      if (tok.t === "cmd" && tok.name === "end") {
        p.next();
        p.readRawArg();
        if (row.length > 0) rows.push(row);
        break;
      }
      if (tok.t === "eof") p.fail(`unclosed \\begin{${env}}`);
      if (p.isOp(tok, "rowsep")) {
        p.next();
        if (row.length > 0) rows.push(row);
        row = [];
        continue;
      }
      if (p.isOp(tok, "&")) {
        p.fail("empty matrix cell");
      }
      row.push(p.parseGroups());
      if (p.isOp(p.peek(), "&")) p.next();
    }
    if (rows.length === 0) p.fail("empty matrix");
    const width = (rows[0] as Node[]).length;
    if (rows.some((r) => r.length !== width)) p.fail("ragged matrix");
    const m: Node = { k: "matrix", rows };
    return env === "vmatrix" ? { k: "fn", name: "det", args: [m] } : m;
  }
  // aligned, cases, gathered, ...: the rows, with alignment marks dropped, form a list
  const endTag = `\\end{${env}}`;
  const stop = p.s.indexOf(endTag, p.pos);
  if (stop < 0) p.fail(`unclosed \\begin{${env}}`);
  const body = p.s.slice(p.pos, stop).replace(/&/g, " ");
  p.pos = stop + endTag.length;
  const rows = body.split(/\\\\/).map((r) => r.trim()).filter((r) => r !== "");
  const items = rows.map((r) => {
    const sub = new (p.constructor as new (s: string, mode: typeof p.mode, d: number) => Parser)(r, p.mode, 1);
    return sub.parseAll();
  });
  if (items.length === 0) p.fail(`empty ${env}`);
  return items.length === 1 ? (items[0] as Node) : { k: "list", items, sep: "," };
}

function bigOperator(p: Parser, op: "sum" | "prod"): Node {
  if (!p.isOp(p.peek(), "_")) p.fail(`\\${op} without limits`);
  p.next();
  const lower = p.readArg();
  if (lower.k !== "rel" || lower.ops.length !== 1 || lower.ops[0] !== "=" || (lower.parts[0] as Node).k !== "sym") p.fail(`\\${op} needs a lower limit k=a`);
  const v = ((lower.parts[0] as Node) as { name: string }).name;
  if (!p.isOp(p.peek(), "^")) p.fail(`\\${op} without an upper limit`);
  p.next();
  const hi = p.parseExponent();
  if (typeof hi === "string") p.fail(`bad upper limit of \\${op}`);
  const factors: Node[] = [p.parseUnary()];
  for (;;) {
    checkDeadline();
    const t = p.peek();
    if (!p.canStartFactor(t) || p.isOp(t, "[")) break;
    factors.push(p.parsePow());
  }
  const body: Node = factors.length === 1 ? (factors[0] as Node) : { k: "mul", args: factors };
  return { k: "bigop", op, v, lo: lower.parts[1] as Node, hi, body };
}
