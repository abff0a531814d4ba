/**
 * The parsed form of an answer. parse.ts builds it from LaTeX or plain text;
 * evaluate.ts computes with it; compare.ts decides equivalence; print()
 * gives a canonical string (commutative operands sorted) used for the
 * structural fallback and for the verdict's normalized forms.
 */
import { ratToString, type Rational } from "../numbers/rational.js";

export type RelOp = "=" | "<" | "<=" | ">" | ">=" | "!=" | "approx" | "in" | "notin" | "subset" | "to" | "equiv";

export type FnName =
  | "sqrt"
  | "root"
  | "exp"
  | "ln"
  | "log"
  | "sin"
  | "cos"
  | "tan"
  | "cot"
  | "sec"
  | "csc"
  | "asin"
  | "acos"
  | "atan"
  | "acot"
  | "sinh"
  | "cosh"
  | "tanh"
  | "abs"
  | "floor"
  | "ceil"
  | "fact"
  | "binom"
  | "det"
  | "gcd"
  | "lcm"
  | "max"
  | "min"
  | "mod"
  | "conj"
  | "re"
  | "im";

export type Node =
  | { readonly k: "num"; readonly q: Rational; readonly float: boolean }
  | { readonly k: "sym"; readonly name: string }
  | { readonly k: "const"; readonly name: "pi" | "e" | "i" | "inf" }
  | { readonly k: "add"; readonly args: readonly Node[] }
  | { readonly k: "mul"; readonly args: readonly Node[] }
  | { readonly k: "div"; readonly num: Node; readonly den: Node }
  | { readonly k: "pow"; readonly base: Node; readonly exp: Node }
  | { readonly k: "neg"; readonly arg: Node }
  /** left ± right (left absent for a unary ±); minus first for \mp. */
  | { readonly k: "pm"; readonly left: Node | undefined; readonly right: Node; readonly mp: boolean }
  | { readonly k: "fn"; readonly name: FnName; readonly args: readonly Node[] }
  /** An uninterpreted function applied to arguments: f(x), I(0). */
  | { readonly k: "apply"; readonly name: string; readonly args: readonly Node[] }
  | { readonly k: "pct"; readonly arg: Node }
  | { readonly k: "text"; readonly text: string }
  | { readonly k: "rel"; readonly ops: readonly RelOp[]; readonly parts: readonly Node[] }
  /** A parenthesised or bracketed sequence; "(" pairs may also be open intervals. */
  | { readonly k: "tuple"; readonly items: readonly Node[]; readonly delim: "(" | "[" | "<" }
  | { readonly k: "interval"; readonly lo: Node; readonly hi: Node; readonly loOpen: boolean; readonly hiOpen: boolean }
  | { readonly k: "set"; readonly items: readonly Node[] }
  /** A bare sequence: "1, 2, 3", "3 or 5"; groups separated by ";" nest one level. */
  | { readonly k: "list"; readonly items: readonly Node[]; readonly sep: "," | ";" }
  | { readonly k: "setop"; readonly op: "cup" | "cap" | "minus"; readonly args: readonly Node[] }
  | { readonly k: "matrix"; readonly rows: readonly (readonly Node[])[] }
  | { readonly k: "ratio"; readonly parts: readonly Node[] }
  | { readonly k: "bigop"; readonly op: "sum" | "prod"; readonly v: string; readonly lo: Node; readonly hi: Node; readonly body: Node }
  /** A numeral written in another base, 204_5. */
  | { readonly k: "base"; readonly digits: string; readonly base: number };

export type NodeOf<K extends Node["k"]> = Extract<Node, { k: K }>;

export function num(q: Rational, float = false): Node {
  return { k: "num", q, float };
}

export function sym(name: string): Node {
  return { k: "sym", name };
}

/** Nodes are immutable, so their canonical text is computed once. */
const printed = new WeakMap<Node, string>();

/** Canonical text: commutative operands sorted, so a+b and b+a print alike. */
export function print(n: Node): string {
  let s = printed.get(n);
  if (s === undefined) {
    s = printNode(n);
    printed.set(n, s);
  }
  return s;
}

function printNode(n: Node): string {
  switch (n.k) {
    case "num":
      return ratToString(n.q);
    case "sym":
      return n.name;
    case "const":
      return n.name === "inf" ? "oo" : n.name;
    case "add":
      return `(${n.args.map(print).sort().join("+")})`;
    case "mul":
      return `(${n.args.map(print).sort().join("*")})`;
    case "div":
      return `(${print(n.num)}/${print(n.den)})`;
    case "pow":
      return `(${print(n.base)}^${print(n.exp)})`;
    case "neg":
      return `(-${print(n.arg)})`;
    case "pm":
      return `(${n.left ? print(n.left) : ""}${n.mp ? "-+" : "+-"}${print(n.right)})`;
    case "fn":
      return `${n.name}(${n.args.map(print).join(",")})`;
    case "apply":
      return `${n.name}(${n.args.map(print).join(",")})`;
    case "pct":
      return `${print(n.arg)}%`;
    case "text":
      return `"${n.text}"`;
    case "rel": {
      let s = print(n.parts[0] as Node);
      n.ops.forEach((op, i) => {
        s += ` ${op} ${print(n.parts[i + 1] as Node)}`;
      });
      return s;
    }
    case "tuple":
      return `${n.delim}${n.items.map(print).join(", ")}${n.delim === "(" ? ")" : n.delim === "[" ? "]" : ">"}`;
    case "interval":
      return `${n.loOpen ? "(" : "["}${print(n.lo)}, ${print(n.hi)}${n.hiOpen ? ")" : "]"}`;
    case "set":
      return `{${n.items.map(print).sort().join(", ")}}`;
    case "list":
      return n.items.map(print).join(n.sep === ";" ? "; " : ", ");
    case "setop":
      return `(${n.args.map(print).join(` ${n.op} `)})`;
    case "matrix":
      return `[${n.rows.map((r) => r.map(print).join(" & ")).join(" \\\\ ")}]`;
    case "ratio":
      return n.parts.map(print).join(":");
    case "bigop":
      return `${n.op}_{${n.v}=${print(n.lo)}}^{${print(n.hi)}}(${print(n.body)})`;
    case "base":
      return `${n.digits}_${n.base}`;
  }
}

/** Free symbol names (not bound by sums), in first-seen order. */
export function freeSymbols(n: Node, out: Set<string> = new Set(), bound: ReadonlySet<string> = new Set()): Set<string> {
  switch (n.k) {
    case "sym":
      if (!bound.has(n.name)) out.add(n.name);
      break;
    case "bigop": {
      freeSymbols(n.lo, out, bound);
      freeSymbols(n.hi, out, bound);
      const inner = new Set(bound);
      inner.add(n.v);
      freeSymbols(n.body, out, inner);
      break;
    }
    default:
      for (const c of children(n)) freeSymbols(c, out, bound);
  }
  return out;
}

export function children(n: Node): readonly Node[] {
  switch (n.k) {
    case "add":
    case "mul":
    case "fn":
    case "apply":
      return n.args;
    case "setop":
      return n.args;
    case "div":
      return [n.num, n.den];
    case "pow":
      return [n.base, n.exp];
    case "neg":
    case "pct":
      return [n.arg];
    case "pm":
      return n.left ? [n.left, n.right] : [n.right];
    case "rel":
    case "ratio":
      return n.parts;
    case "tuple":
    case "set":
    case "list":
      return n.items;
    case "interval":
      return [n.lo, n.hi];
    case "matrix":
      return n.rows.flat();
    case "bigop":
      return [n.lo, n.hi, n.body];
    default:
      return [];
  }
}

/** True when any number literal in the tree was written as a decimal or in scientific notation. */
export function hasFloat(n: Node): boolean {
  if (n.k === "num") return n.float;
  return children(n).some(hasFloat);
}

/** True when the tree contains a number literal anywhere (used for "x = 3"-style assignment detection). */
export function hasNumber(n: Node): boolean {
  if (n.k === "num" || n.k === "base") return true;
  return children(n).some(hasNumber);
}

