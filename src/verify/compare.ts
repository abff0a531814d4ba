/**
 * Equivalence of two answers (gold first: the gold is trusted and decides
 * the reading; the response must match it). Dispatch by shape:
 *  - text answers ("Evelyn", "(C)", "odd") compare case-insensitively, also
 *    against a product of letters ("odd" typed as o*d*d);
 *  - relations: same kind after flipping (a < b is b > a); for =, != the
 *    differences lhs - rhs must be proportional by a nonzero constant, for
 *    inequalities by a positive one (checked at random points);
 *  - a relation in one variable against a set is checked by membership at
 *    the set's endpoints, points beside them and points in between;
 *  - tuples and intervals are ordered, sets and bare lists unordered (set
 *    semantics), unions compare as sets of reals, matrices elementwise;
 *  - percent: "10%" accepts 10 and 0.1; a response "10%" matches gold 10;
 *  - everything else is a scalar (scalar.ts).
 */
import { type Node, freeSymbols, print } from "./syntax/ast.js";
import { isAssignment, isEquation, lastPart, mapChildren, meaning, type Meaning } from "./evaluation/semantics.js";
import { isRealSet, membershipAgrees, sameMembership } from "./evaluation/realsets.js";
import { approxValue, scalarEqual, type ScalarOptions, type ScalarRule } from "./evaluation/scalar.js";
import { ratInt } from "./numbers/rational.js";
import { checkDeadline } from "./deadline.js";
import { ExactTooLarge } from "./errors.js";

export interface CompareOptions extends ScalarOptions {
  /** Allow a set-valued gold to match a relation in the response ("x \in [a,b]" vs "a <= x <= b"). */
  readonly allowSetRelationComp: boolean;
}

export type CompareRule = ScalarRule | "relation" | "set" | "tuple" | "interval" | "matrix" | "text";

export interface Comparison {
  readonly equal: boolean;
  /** The rule that decided equality, or why it failed. */
  readonly rule: CompareRule | "mismatch" | "undecided" | "too-large";
}

const MAX_ITEMS = 200;

export class Comparer {
  private rule: CompareRule | undefined;
  private undecided = false;
  /** Some part could not be compared for its size: "too-large" says so rather than "mismatch". */
  private tooLarge = false;

  constructor(private readonly opts: CompareOptions) {}

  compare(goldAnswer: Node, predAnswer: Node): Comparison {
    let equal: boolean;
    try {
      equal = this.top(meaning(goldAnswer), meaning(predAnswer));
    } catch (err) {
      if (!(err instanceof ExactTooLarge)) throw err;
      return { equal: false, rule: "too-large" };
    }
    if (equal) return { equal, rule: this.rule ?? "identical" };
    return { equal, rule: this.tooLarge ? "too-large" : this.undecided ? "undecided" : "mismatch" };
  }

  private top(gm: Meaning, pm: Meaning): boolean {
    if (gm.named && pm.named) return this.namedEqual(gm, pm);
    let g = gm.node;
    let p = pm.node;
    // "x = 3" against "3": the gold's reading decides
    if (isEquation(p) && !isEquation(g)) p = lastPart(p);
    else if (isAssignment(g) && !isEquation(p)) g = lastPart(g);
    if (g.k === "rel" && isRealSet(p)) return this.relationVsSet(g, p);
    if (this.opts.allowSetRelationComp && p.k === "rel" && isRealSet(g)) return this.relationVsSet(p, g);
    return this.eq(g, p);
  }

  private note(rule: CompareRule): true {
    this.rule = rule;
    return true;
  }

  private namedEqual(gm: Meaning, pm: Meaning): boolean {
    const gn = gm.named as NonNullable<Meaning["named"]>;
    const pn = pm.named as NonNullable<Meaning["named"]>;
    if (gn.names.length !== pn.names.length) return false;
    const sameNames = [...gn.names].sort().join("\u0000") === [...pn.names].sort().join("\u0000");
    if (!sameNames) {
      if (this.opts.strict) return false;
      return gn.values.every((v, i) => this.eq(v, pn.values[i] as Node));
    }
    return gn.names.every((name, i) => this.eq(gn.values[i] as Node, pn.values[pn.names.indexOf(name)] as Node));
  }

  eq(g: Node, p: Node): boolean {
    checkDeadline();
    if (g.k === "text" || p.k === "text") return this.textEqual(g, p);
    if (g.k === "pct" && p.k !== "pct") return this.eq({ k: "div", num: g.arg, den: { k: "num", q: ratInt(100), float: false } }, p) || this.eq(g.arg, p);
    if (p.k === "pct" && g.k !== "pct") return this.eq(g, { k: "div", num: p.arg, den: { k: "num", q: ratInt(100), float: false } }) || this.eq(g, p.arg);
    if (g.k === "rel" || p.k === "rel") return g.k === "rel" && p.k === "rel" && this.relEqual(g, p);
    if (g.k === "matrix" || p.k === "matrix") return this.matrixEqual(g, p);
    if (isCollection(g) || isCollection(p)) return this.collectionEqual(g, p);
    if (g.k === "ratio" || p.k === "ratio") return this.ratioEqual(g, p);
    if (isInfinite(g) || isInfinite(p)) return infinitySign(g) !== 0 && infinitySign(g) === infinitySign(p) && this.note("exact");
    return this.scalar(g, p);
  }

  private scalar(g: Node, p: Node): boolean {
    const r = scalarEqual(g, p, this.opts);
    if (r.rule === "undecided") this.undecided = true;
    if (r.rule === "too-large") this.tooLarge = true;
    return r.equal && this.note(r.rule as ScalarRule);
  }

  private textEqual(g: Node, p: Node): boolean {
    const a = textOf(g);
    const b = textOf(p);
    return a !== undefined && b !== undefined && a === b && this.note("text");
  }

  private ratioEqual(g: Node, p: Node): boolean {
    const gp = g.k === "ratio" ? g.parts : [g];
    const pp = p.k === "ratio" ? p.parts : [p];
    if (gp.length === pp.length && gp.every((x, i) => this.eq(x, pp[i] as Node))) return true;
    // a:b as the number a/b when the denominators are not zero
    const value = (parts: readonly Node[]): Node | undefined => {
      if (parts.length === 1) return parts[0];
      if (parts.length !== 2) return undefined;
      const den = approxValue(parts[1] as Node);
      return den === undefined || den === 0 ? undefined : { k: "div", num: parts[0] as Node, den: parts[1] as Node };
    };
    const gv = value(gp);
    const pv = value(pp);
    return gv !== undefined && pv !== undefined && (gp.length === 2 || pp.length === 2) && this.scalar(gv, pv);
  }

  private matrixEqual(g: Node, p: Node): boolean {
    const gr = matrixRows(g);
    const pr = matrixRows(p);
    if (!gr || !pr) return g.k !== "matrix" && p.k !== "matrix" ? false : this.matrixValueEqual(g, p);
    if (gr.length !== pr.length || gr.some((r, i) => r.length !== (pr[i] as Node[]).length)) {
      // a column vector written as a tuple
      const gf = gr.flat();
      const pf = pr.flat();
      const vector = (rows: Node[][]) => rows.length === 1 || rows.every((r) => r.length === 1);
      if (!(vector(gr) && vector(pr)) || gf.length !== pf.length) return false;
      return gf.every((x, i) => this.eq(x, pf[i] as Node)) && this.note("matrix");
    }
    return gr.every((r, i) => r.every((x, j) => this.eq(x, (pr[i] as Node[])[j] as Node))) && this.note("matrix");
  }

  /** Matrix expressions (sums, products) are evaluated to a matrix first. */
  private matrixValueEqual(g: Node, p: Node): boolean {
    const gm = evalMatrix(g);
    const pm = evalMatrix(p);
    if (!gm || !pm) return false;
    return this.matrixEqual({ k: "matrix", rows: gm }, { k: "matrix", rows: pm });
  }

  private collectionEqual(g: Node, p: Node): boolean {
    // intervals and open pairs
    if (g.k === "interval" || p.k === "interval") {
      const gi = asInterval(g);
      const pi = asInterval(p);
      if (gi && pi) {
        return (
          gi.loOpen === pi.loOpen && gi.hiOpen === pi.hiOpen && this.eq(gi.lo, pi.lo) && this.eq(gi.hi, pi.hi) && this.note("interval")
        );
      }
      if (isRealSet(g) && isRealSet(p)) return this.realSetsEqual(g, p);
      return false;
    }
    if (g.k === "setop" || p.k === "setop") {
      if (g.k === "setop" && p.k === "setop" && g.op === p.op && this.unordered(g.args, p.args)) return this.note("set");
      return isRealSet(g) && isRealSet(p) && this.realSetsEqual(g, p);
    }
    const gItems = itemsOf(g);
    const pItems = itemsOf(p);
    if (gItems.length > MAX_ITEMS || pItems.length > MAX_ITEMS) {
      this.tooLarge = true;
      return false;
    }
    const gOrdered = g.k === "tuple";
    const pOrdered = p.k === "tuple";
    if (gOrdered && pOrdered) return gItems.length === pItems.length && gItems.every((x, i) => this.eq(x, pItems[i] as Node)) && this.note("tuple");
    if (gOrdered || pOrdered) {
      // a tuple against a bare list ("(1,3)" vs "1,3"): by position; against a braced set: no
      const other = gOrdered ? p : g;
      if (other.k === "set") return false;
      if (other.k !== "list") return false;
      return gItems.length === pItems.length && gItems.every((x, i) => this.eq(x, pItems[i] as Node)) && this.note("tuple");
    }
    return this.unordered(gItems, pItems) && this.note("set");
  }

  /** Set equality: every gold item matches a response item and vice versa. */
  private unordered(gItems: readonly Node[], pItems: readonly Node[]): boolean {
    if (gItems.length === 0 || pItems.length === 0) return gItems.length === pItems.length;
    const pMatched = new Array<boolean>(pItems.length).fill(false);
    for (const gi of gItems) {
      let found = false;
      for (let j = 0; j < pItems.length; j++) {
        if (this.eq(gi, pItems[j] as Node)) {
          pMatched[j] = true;
          found = true;
        }
      }
      if (!found) return false;
    }
    for (let j = 0; j < pItems.length; j++) {
      if (!pMatched[j] && !gItems.some((gi) => this.eq(gi, pItems[j] as Node))) return false;
    }
    return true;
  }

  private relEqual(g: Extract<Node, { k: "rel" }>, p: Extract<Node, { k: "rel" }>): boolean {
    if (print(g) === print(p)) return this.note("identical");
    const gs = orient(g);
    const ps = orient(p);
    for (const cand of [ps, reverseChain(ps)]) {
      if (!cand || cand.ops.length !== gs.ops.length) continue;
      if (gs.ops.some((op, i) => op !== cand.ops[i])) continue;
      let ok = true;
      for (let i = 0; i < gs.ops.length && ok; i++) {
        const op = gs.ops[i] as string;
        const gl = gs.parts[i] as Node;
        const gr = gs.parts[i + 1] as Node;
        const pl = cand.parts[i] as Node;
        const pr = cand.parts[i + 1] as Node;
        if (op === "=" || op === "!=" || op === "<" || op === "<=") ok = this.proportional(diff(gr, gl), diff(pr, pl), op === "=" || op === "!=");
        else ok = this.eq(gl, pl) && this.eq(gr, pr);
      }
      if (ok) return this.note("relation");
    }
    return false;
  }

  /** f = c * h for a constant c (any nonzero c when `anySign`, else c > 0). */
  private proportional(f: Node, h: Node, anySign: boolean): boolean {
    const vars = [...new Set([...freeSymbols(f), ...freeSymbols(h)])];
    const neg: Node = { k: "neg", arg: h };
    if (vars.length === 0) return this.scalar(f, h) || (anySign && this.scalar(f, neg));
    for (let k = 0; k < 3; k++) {
      const probe = new Map(vars.map((v, i) => [v, { n: 7n + BigInt(i * 3 + k * 11), d: 5n + BigInt(i + k) }] as const));
      const fv = approxValue(f, probe);
      const hv = approxValue(h, probe);
      if (fv === undefined || hv === undefined || fv === 0 || hv === 0) continue;
      if (!anySign && fv / hv < 0) return false;
      // c = f/h at the probe; then f = c*h must hold identically
      const c: Node = { k: "div", num: substitute(f, probe), den: substitute(h, probe) };
      return this.scalar(f, { k: "mul", args: [c, h] });
    }
    return this.scalar(f, h);
  }

  private relationVsSet(rel: Extract<Node, { k: "rel" }>, set: Node): boolean {
    return membershipAgrees(rel, set) && this.note("set");
  }

  private realSetsEqual(g: Node, p: Node): boolean {
    return sameMembership(g, p) && this.note("set");
  }
}

function substitute(n: Node, env: ReadonlyMap<string, { n: bigint; d: bigint }>): Node {
  if (n.k === "sym") {
    const v = env.get(n.name);
    return v ? { k: "num", q: v, float: false } : n;
  }
  return mapChildren(n, (c) => substitute(c, env));
}

function diff(a: Node, b: Node): Node {
  return { k: "add", args: [a, { k: "neg", arg: b }] };
}

/** Rewrites > and >= as < and <= by swapping sides. */
function orient(r: Extract<Node, { k: "rel" }>): Extract<Node, { k: "rel" }> {
  if (!r.ops.every((op) => op === ">" || op === ">=")) return r;
  return { k: "rel", ops: [...r.ops].reverse().map((op) => (op === ">" ? "<" : "<=")), parts: [...r.parts].reverse() };
}

function reverseChain(r: Extract<Node, { k: "rel" }>): Extract<Node, { k: "rel" }> | undefined {
  if (!r.ops.every((op) => op === "=" || op === "!=")) return undefined;
  return { k: "rel", ops: [...r.ops].reverse(), parts: [...r.parts].reverse() };
}

function isCollection(n: Node): boolean {
  return n.k === "tuple" || n.k === "set" || n.k === "list" || n.k === "interval" || n.k === "setop";
}

function itemsOf(n: Node): readonly Node[] {
  if (n.k === "tuple" || n.k === "set" || n.k === "list") return n.items;
  return [n];
}

function asInterval(n: Node): { lo: Node; hi: Node; loOpen: boolean; hiOpen: boolean } | undefined {
  if (n.k === "interval") return n;
  if (n.k === "tuple" && n.delim === "(" && n.items.length === 2) return { lo: n.items[0] as Node, hi: n.items[1] as Node, loOpen: true, hiOpen: true };
  return undefined;
}

function isInfinite(n: Node): boolean {
  return infinitySign(n) !== 0;
}

function infinitySign(n: Node): number {
  if (n.k === "const" && n.name === "inf") return 1;
  if (n.k === "neg") return -infinitySign(n.arg);
  return 0;
}

function matrixRows(n: Node): Node[][] | undefined {
  if (n.k === "matrix") return n.rows.map((r) => [...r]);
  if (n.k === "tuple") return [[...n.items]];
  return undefined;
}

/** Sums, differences, scalar multiples and products of literal matrices. */
function evalMatrix(n: Node): Node[][] | undefined {
  switch (n.k) {
    case "matrix":
      return n.rows.map((r) => [...r]);
    case "add": {
      const ms = n.args.map((a) => evalMatrix(a.k === "neg" ? { k: "mul", args: [{ k: "num", q: ratInt(-1), float: false }, a.arg] } : a));
      if (ms.some((m) => !m)) return undefined;
      const first = ms[0] as Node[][];
      if (ms.some((m) => (m as Node[][]).length !== first.length || (m as Node[][])[0]?.length !== first[0]?.length)) return undefined;
      return first.map((row, i) => row.map((_, j) => ({ k: "add", args: ms.map((m) => ((m as Node[][])[i] as Node[])[j] as Node) }) as Node));
    }
    case "mul": {
      let acc: Node[][] | undefined;
      let scale: Node[] = [];
      for (const a of n.args) {
        if (a.k === "matrix" || a.k === "add" || a.k === "mul") {
          const m = evalMatrix(a);
          if (!m) {
            scale.push(a);
            continue;
          }
          if (!acc) acc = m;
          else {
            const left = acc;
            if ((left[0] as Node[]).length !== m.length) return undefined;
            acc = left.map((row) => (m[0] as Node[]).map((_, j) => ({ k: "add", args: row.map((x, k) => ({ k: "mul", args: [x, (m[k] as Node[])[j] as Node] }) as Node) }) as Node));
          }
        } else scale.push(a);
      }
      if (!acc) return undefined;
      if (scale.length === 0) return acc;
      const s = scale;
      scale = [];
      return acc.map((row) => row.map((x) => ({ k: "mul", args: [...s, x] }) as Node));
    }
    default:
      return undefined;
  }
}

/** Text of a word-like answer: text nodes, single symbols, products of letters. */
function textOf(n: Node): string | undefined {
  const norm = (s: string): string => {
    let t = s.replace(/\s+/g, "").replace(/[.]+$/, "");
    const choice = /^\(([A-Za-z])\)$/.exec(t);
    if (choice) t = choice[1] as string;
    return t.length > 1 ? t.toLowerCase() : t;
  };
  switch (n.k) {
    case "text":
      return norm(n.text);
    case "sym":
      return norm(n.name);
    case "const":
      return n.name === "e" || n.name === "i" ? n.name : undefined;
    case "mul": {
      const parts = n.args.map((a) => (a.k === "sym" && a.name.length === 1 ? a.name : a.k === "const" && (a.name === "e" || a.name === "i") ? a.name : undefined));
      return parts.every((x) => x !== undefined) ? norm(parts.join("")) : undefined;
    }
    default:
      return undefined;
  }
}

export function compareAnswers(gold: Node, pred: Node, opts: CompareOptions): Comparison {
  return new Comparer(opts).compare(gold, pred);
}
