/**
 * What an answer means, before values are compared:
 *  - "x \approx 11" is x = 11, but in "A \approx B" the exact A is the answer;
 *  - a chain "x = 5+5+1 = 11" is the assignment x = 11; a chain of equalities
 *    that does not start with a name ("1 = y = 0") is its last member;
 *  - "x \in S" is S;
 *  - "a \pm b" stands for both values;
 *  - a list of assignments to one name ("p = -1, p = 15/8") is the set of
 *    its values; assignments to distinct names ("x = 1, y = 2") are a named
 *    tuple; "a = 4, -8, -10" is the set {4, -8, -10}.
 * An assignment is an equation whose left side names something without
 * numerals: x, f(x), |AB|, A:B, (p, q), x_1.
 */
import { type Node, children, hasNumber, print } from "../syntax/ast.js";
import { ExactTooLarge } from "../errors.js";

const MAX_PM_EXPANSION = 16;

/** True for a left-hand side that names a quantity (no numerals in it). */
export function isNameLike(n: Node): boolean {
  switch (n.k) {
    case "sym":
    case "apply":
      return true;
    case "const":
      return n.name === "e" || n.name === "i";
    case "text":
      return false;
    case "num":
    case "base":
      return false;
    default:
      return !hasNumber(n) && children(n).length > 0 && containsName(n);
  }
}

function containsName(n: Node): boolean {
  if (n.k === "sym" || n.k === "apply") return true;
  return children(n).some(containsName);
}

export function isEquation(n: Node): n is Extract<Node, { k: "rel" }> {
  return n.k === "rel" && n.ops.every((op) => op === "=");
}

export function isAssignment(n: Node): n is Extract<Node, { k: "rel" }> {
  return isEquation(n) && n.parts.length === 2 && isNameLike(n.parts[0] as Node);
}

export function lastPart(n: Extract<Node, { k: "rel" }>): Node {
  return n.parts[n.parts.length - 1] as Node;
}

/** Resolves \approx, chains, membership. Applied to every answer and list item. */
export function simplifyRelation(n: Node): Node {
  if (n.k !== "rel") return n;
  let parts = [...n.parts];
  let ops = [...n.ops];
  const approx = ops.indexOf("approx");
  if (approx >= 0) {
    const kept = parts.slice(0, approx + 1);
    const keptOps = ops.slice(0, approx);
    if (kept.length === 1 && isNameLike(kept[0] as Node)) {
      // "x \approx 11" says x = 11
      parts = [kept[0] as Node, parts[approx + 1] as Node];
      ops = ["="];
    } else {
      parts = kept;
      ops = keptOps;
    }
  }
  if (ops.length === 0) return parts[0] as Node;
  if (ops.length === 1 && (ops[0] === "in" || ops[0] === "subset") && isNameLike(parts[0] as Node)) return parts[1] as Node;
  if (ops.every((op) => op === "=") && parts.length > 2) {
    const first = parts[0] as Node;
    if (isNameLike(first)) return { k: "rel", ops: ["="], parts: [first, parts[parts.length - 1] as Node] };
    return parts[parts.length - 1] as Node;
  }
  return { k: "rel", ops, parts };
}

/** All sign choices of the ± and ∓ in an expression; past the cap the answer is refused, never read in part. */
export function expandPm(n: Node): Node[] {
  if (!containsPm(n)) return [n];
  const out: Node[] = [];
  const walk = (node: Node, signs: number[], idx: { i: number }): Node => {
    switch (node.k) {
      case "pm": {
        const s = signs[idx.i++] ?? 1;
        const effective = node.mp ? -s : s;
        const right = walk(node.right, signs, idx);
        const signed: Node = effective > 0 ? right : { k: "neg", arg: right };
        if (!node.left) return signed;
        return { k: "add", args: [walk(node.left, signs, idx), signed] };
      }
      default:
        return mapChildren(node, (c) => walk(c, signs, idx));
    }
  };
  const count = countPm(n);
  const total = 2 ** count;
  if (total > MAX_PM_EXPANSION) throw new ExactTooLarge(`${count} signs \\pm give ${total} alternatives, more than ${MAX_PM_EXPANSION}`);
  for (let mask = 0; mask < total; mask++) {
    const signs = Array.from({ length: count }, (_, b) => ((mask >> b) & 1 ? -1 : 1));
    out.push(walk(n, signs, { i: 0 }));
  }
  return out;
}

function containsPm(n: Node): boolean {
  return n.k === "pm" || children(n).some(containsPm);
}

function countPm(n: Node): number {
  return (n.k === "pm" ? 1 : 0) + children(n).reduce((a, c) => a + countPm(c), 0);
}

/** Rebuilds a node with mapped children (same shape). */
export function mapChildren(n: Node, f: (c: Node) => Node): Node {
  switch (n.k) {
    case "add":
    case "mul":
      return { k: n.k, args: n.args.map(f) };
    case "fn":
      return { k: "fn", name: n.name, args: n.args.map(f) };
    case "apply":
      return { k: "apply", name: n.name, args: n.args.map(f) };
    case "setop":
      return { k: "setop", op: n.op, args: n.args.map(f) };
    case "div":
      return { k: "div", num: f(n.num), den: f(n.den) };
    case "pow":
      return { k: "pow", base: f(n.base), exp: f(n.exp) };
    case "neg":
      return { k: "neg", arg: f(n.arg) };
    case "pct":
      return { k: "pct", arg: f(n.arg) };
    case "pm":
      return { k: "pm", left: n.left ? f(n.left) : undefined, right: f(n.right), mp: n.mp };
    case "rel":
      return { k: "rel", ops: n.ops, parts: n.parts.map(f) };
    case "ratio":
      return { k: "ratio", parts: n.parts.map(f) };
    case "tuple":
      return { k: "tuple", items: n.items.map(f), delim: n.delim };
    case "set":
      return { k: "set", items: n.items.map(f) };
    case "list":
      return { k: "list", items: n.items.map(f), sep: n.sep };
    case "interval":
      return { k: "interval", lo: f(n.lo), hi: f(n.hi), loOpen: n.loOpen, hiOpen: n.hiOpen };
    case "matrix":
      return { k: "matrix", rows: n.rows.map((r) => r.map(f)) };
    case "bigop":
      return { k: "bigop", op: n.op, v: n.v, lo: f(n.lo), hi: f(n.hi), body: f(n.body) };
    default:
      return n;
  }
}

/** A list of assignments to distinct names: the names and their values, in order. */
export interface Named {
  readonly names: readonly string[];
  readonly values: readonly Node[];
}

/** The meaning of an answer: the node to compare, or a named tuple. */
export type Meaning = { readonly node: Node; readonly named?: Named };

/** Applies the rules above to a whole answer. */
export function meaning(answer: Node): Meaning {
  const top = simplifyRelation(answer);
  if (top.k === "list") return listMeaning(top);
  // inside a set, a \pm item stands for its values: {1 \pm \sqrt 5, -2} has three elements
  if (top.k === "set") return { node: { k: "set", items: top.items.flatMap((i) => expandPm(i).map(simplifyRelation)) } };
  const alts = expandPm(top).map(simplifyRelation);
  if (alts.length > 1) return listMeaning({ k: "list", items: alts, sep: "," });
  return { node: top };
}

function listMeaning(list: Extract<Node, { k: "list" }>): Meaning {
  if (list.sep === ";") {
    // groups: "p=5,q=2; p=7,q=2" is a list of pairs
    const groups = list.items.map((g) => {
      const m = meaning(g);
      return m.named ? ({ k: "tuple", items: m.named.values, delim: "(" } as Node) : m.node;
    });
    return { node: { k: "list", items: groups, sep: "," } };
  }
  const items = list.items.flatMap((i) => expandPm(simplifyRelation(i)).map(simplifyRelation));
  const first = items[0] as Node;
  if (items.every(isAssignment)) {
    const rels = items as Extract<Node, { k: "rel" }>[];
    const names = rels.map((r) => print(r.parts[0] as Node));
    const values = rels.map((r) => r.parts[1] as Node);
    if (new Set(names).size === 1) return { node: { k: "list", items: values, sep: "," } };
    if (new Set(names).size === names.length) return { node: { k: "list", items: values, sep: "," }, named: { names, values } };
    // "p = 5, q = 2 and p = 7, q = 2": the same names repeating, one solution per round
    const width = new Set(names).size;
    const rounds = names.length / width;
    if (Number.isInteger(rounds) && rounds > 1) {
      const key = names.slice(0, width).join("\u0000");
      const chunks: Node[] = [];
      for (let r = 0; r < rounds; r++) {
        if (names.slice(r * width, (r + 1) * width).join("\u0000") !== key) return { node: { k: "list", items, sep: "," } };
        chunks.push({ k: "tuple", items: values.slice(r * width, (r + 1) * width), delim: "(" });
      }
      return { node: { k: "list", items: chunks, sep: "," } };
    }
  }
  if (isAssignment(first) && items.slice(1).every((i) => i.k !== "rel")) {
    // "a = 4, -8, -10": one name, several values
    return { node: { k: "list", items: [first.parts[1] as Node, ...items.slice(1)], sep: "," } };
  }
  return { node: { k: "list", items, sep: "," } };
}
