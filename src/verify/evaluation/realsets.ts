/**
 * Sets of real numbers (intervals, unions, finite sets) compared by
 * membership. Two sets, or a relation in one variable and a set, are equal
 * when membership agrees at every test point: each endpoint and constant
 * that occurs, points just beside each (relative offset 1e-7), midpoints
 * between consecutive ones, and points beyond the extremes. Endpoints are
 * tested exactly when rational; a test point within 1e-12 of an irrational
 * endpoint is skipped as undecidable in double precision.
 */
import { type Node, children, freeSymbols } from "../syntax/ast.js";
import { ExactTooLarge } from "../errors.js";
import { evalExact, Unevaluable } from "./evaluate.js";
import { NumericDomainError } from "../numbers/numeric.js";
import { cmp, isReal, rat, toNumber, type Rational } from "../numbers/rational.js";
import { approxValue } from "./scalar.js";
import { mapChildren } from "./semantics.js";

type Point = { exact: Rational; approx: number };
type Truth = boolean | undefined;

const VAR = "\u0000v";
const MAX_POINTS = 200;

export function isRealSet(n: Node): boolean {
  switch (n.k) {
    case "interval":
      return true;
    case "setop":
      return n.args.every(isRealSet);
    case "set":
      return n.items.every((i) => i.k !== "tuple" && i.k !== "set" && i.k !== "interval");
    case "tuple":
      return n.delim === "(" && n.items.length === 2;
    default:
      return false;
  }
}

function pointOfNumber(x: number): Point | undefined {
  if (!Number.isFinite(x)) return undefined;
  // the exact binary value of the double
  let m = x;
  let e = 0;
  while (!Number.isInteger(m) && e < 1100) {
    m *= 2;
    e++;
  }
  return { exact: rat(BigInt(m), 1n << BigInt(e)), approx: x };
}

/** Value of a constant expression: exact when rational, else a double. */
function valueOf(n: Node): { exact?: Rational; approx: number } | undefined {
  try {
    const x = evalExact(n);
    if (x && isReal(x)) return { exact: x.re, approx: toNumber(x.re) };
  } catch (err) {
    // a value too large to hold exactly has no position to check membership at
    if (!(err instanceof Unevaluable) && !(err instanceof NumericDomainError) && !(err instanceof ExactTooLarge)) throw err;
    if (err instanceof Unevaluable && isInf(n) !== 0) return { approx: isInf(n) * Infinity };
  }
  if (isInf(n) !== 0) return { approx: isInf(n) * Infinity };
  const a = approxValue(n);
  return a === undefined ? undefined : { approx: a };
}

function isInf(n: Node): number {
  if (n.k === "const" && n.name === "inf") return 1;
  if (n.k === "neg") return -isInf(n.arg);
  return 0;
}

/** Sign of t - v, or undefined if too close to an inexact value to tell. */
function compareTo(t: Point, v: { exact?: Rational; approx: number }): number | undefined {
  if (v.approx === Infinity) return -1;
  if (v.approx === -Infinity) return 1;
  if (v.exact) return cmp(t.exact, v.exact);
  const d = t.approx - v.approx;
  if (Math.abs(d) <= 1e-12 * Math.max(1, Math.abs(v.approx))) return undefined;
  return Math.sign(d);
}

function inSet(s: Node, t: Point): Truth {
  switch (s.k) {
    case "interval":
    case "tuple": {
      const lo = valueOf(s.k === "interval" ? s.lo : (s.items[0] as Node));
      const hi = valueOf(s.k === "interval" ? s.hi : (s.items[1] as Node));
      if (!lo || !hi) return undefined;
      const loOpen = s.k === "interval" ? s.loOpen : true;
      const hiOpen = s.k === "interval" ? s.hiOpen : true;
      const a = compareTo(t, lo);
      const b = compareTo(t, hi);
      if (a === undefined || b === undefined) return undefined;
      return (loOpen ? a > 0 : a >= 0) && (hiOpen ? b < 0 : b <= 0);
    }
    case "set": {
      let unknown = false;
      for (const item of s.items) {
        const v = valueOf(item);
        if (!v) return undefined;
        const c = compareTo(t, v);
        if (c === 0) return true;
        if (c === undefined) unknown = true;
      }
      return unknown ? undefined : false;
    }
    case "setop": {
      const vals = s.args.map((a) => inSet(a, t));
      if (vals.some((v) => v === undefined)) return undefined;
      if (s.op === "cup") return vals.some(Boolean);
      if (s.op === "cap") return vals.every(Boolean);
      return (vals[0] as boolean) && !vals.slice(1).some(Boolean);
    }
    default:
      return undefined;
  }
}

function endpoints(s: Node, out: Node[]): void {
  if (s.k === "interval") out.push(s.lo, s.hi);
  else if (s.k === "tuple" || s.k === "set") out.push(...s.items);
  else if (s.k === "setop") for (const a of s.args) endpoints(a, out);
}

function constantsOf(n: Node, out: Node[]): void {
  if (n.k === "num") {
    out.push(n);
    return;
  }
  if (freeSymbols(n).size === 0 && n.k !== "apply") {
    out.push(n);
    return;
  }
  for (const c of children(n)) constantsOf(c, out);
}

function testPoints(critical: Node[]): Point[] {
  const pts: Point[] = [];
  const seen = new Set<string>();
  const add = (p: Point | undefined): void => {
    if (!p) return;
    const key = `${p.exact.n}/${p.exact.d}`;
    if (!seen.has(key) && pts.length < MAX_POINTS) {
      seen.add(key);
      pts.push(p);
    }
  };
  const values: number[] = [];
  for (const c of critical) {
    const v = valueOf(c);
    if (!v || !Number.isFinite(v.approx)) continue;
    for (const x of [v, { exact: v.exact ? { n: -v.exact.n, d: v.exact.d } : undefined, approx: -v.approx }]) {
      if (x.exact) add({ exact: x.exact, approx: x.approx });
      const delta = 1e-7 * Math.max(1, Math.abs(x.approx));
      add(pointOfNumber(x.approx - delta));
      add(pointOfNumber(x.approx + delta));
      values.push(x.approx);
    }
  }
  values.sort((a, b) => a - b);
  for (let i = 0; i + 1 < values.length; i++) add(pointOfNumber(((values[i] as number) + (values[i + 1] as number)) / 2));
  const lo = values.length ? (values[0] as number) : 0;
  const hi = values.length ? (values[values.length - 1] as number) : 0;
  for (const x of [lo - 1, hi + 1, lo - 1000, hi + 1000, 0, 0.5, -0.5, 1.5, -1.5]) add(pointOfNumber(x));
  return pts;
}

/** The relation with its variable replaced: the single free symbol, or f(x) when it appears whole. */
function relationVariable(rel: Node): Node | undefined {
  const applies: Node[] = [];
  const collect = (n: Node): void => {
    if (n.k === "apply") applies.push(n);
    else for (const c of children(n)) collect(c);
  };
  collect(rel);
  if (applies.length > 0) {
    const key = JSON.stringify(applies[0]);
    if (applies.every((a) => JSON.stringify(a) === key)) {
      const replace = (n: Node): Node => (n.k === "apply" ? { k: "sym", name: VAR } : mapChildren(n, replace));
      const r = replace(rel);
      return freeSymbols(r).size === 1 ? r : undefined;
    }
  }
  const vars = [...freeSymbols(rel)];
  if (vars.length !== 1) return undefined;
  const v = vars[0] as string;
  const replace = (n: Node): Node => (n.k === "sym" && n.name === v ? { k: "sym", name: VAR } : mapChildren(n, replace));
  return replace(rel);
}

function partValue(n: Node, t: Point): { exact?: Rational; approx: number } | undefined {
  const env = new Map([[VAR, t.exact]]);
  try {
    const x = evalExact(n, env);
    if (x) return isReal(x) ? { exact: x.re, approx: toNumber(x.re) } : undefined;
  } catch (err) {
    if (err instanceof NumericDomainError) return undefined;
    if (err instanceof ExactTooLarge) return undefined;
    if (!(err instanceof Unevaluable)) throw err;
    if (isInf(n) !== 0) return { approx: isInf(n) * Infinity };
    return undefined;
  }
  const a = approxValue(n, env);
  return a === undefined ? undefined : { approx: a };
}

function relationHolds(rel: Extract<Node, { k: "rel" }>, t: Point): Truth {
  const vals = rel.parts.map((p) => partValue(p, t));
  if (vals.some((v) => v === undefined)) return undefined;
  for (let i = 0; i < rel.ops.length; i++) {
    const a = vals[i] as { exact?: Rational; approx: number };
    const b = vals[i + 1] as { exact?: Rational; approx: number };
    let c: number | undefined;
    if (a.exact && b.exact) c = cmp(a.exact, b.exact);
    else if (!Number.isFinite(a.approx) || !Number.isFinite(b.approx)) c = Math.sign(a.approx - b.approx) || 0;
    else {
      const d = a.approx - b.approx;
      c = Math.abs(d) <= 1e-12 * Math.max(1, Math.abs(a.approx), Math.abs(b.approx)) ? undefined : Math.sign(d);
    }
    if (c === undefined) return undefined;
    const op = rel.ops[i];
    const ok = op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : op === ">=" ? c >= 0 : op === "=" ? c === 0 : op === "!=" ? c !== 0 : undefined;
    if (ok === undefined) return undefined;
    if (!ok) return false;
  }
  return true;
}

/** Does the relation (one variable) hold exactly on the set? */
export function membershipAgrees(rel: Extract<Node, { k: "rel" }>, set: Node): boolean {
  const r = relationVariable(rel);
  if (!r || r.k !== "rel") return false;
  const critical: Node[] = [];
  endpoints(set, critical);
  constantsOf(r, critical);
  let decided = 0;
  for (const t of testPoints(critical)) {
    const a = relationHolds(r, t);
    const b = inSet(set, t);
    if (a === undefined || b === undefined) continue;
    if (a !== b) return false;
    decided++;
  }
  return decided >= 3;
}

/** Do two real sets have the same members? */
export function sameMembership(a: Node, b: Node): boolean {
  const critical: Node[] = [];
  endpoints(a, critical);
  endpoints(b, critical);
  let decided = 0;
  for (const t of testPoints(critical)) {
    const x = inSet(a, t);
    const y = inSet(b, t);
    if (x === undefined || y === undefined) continue;
    if (x !== y) return false;
    decided++;
  }
  return decided >= 3;
}
