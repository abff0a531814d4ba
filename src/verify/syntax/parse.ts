/**
 * Recursive-descent parser from normalized answer text (LaTeX or plain) to
 * the AST of ast.ts. Precedence, loosest first: ";" groups, "," lists
 * (also "and"/"or"), implications (the last part is kept), relation chains,
 * ratios "a:b", set operations, sums (with ±), products (explicit and
 * implicit), unary signs, powers and postfix (!, %, primes, degrees).
 * Bounded: input length and nesting depth are capped, and every loop checks
 * the verification deadline.
 */
import { AnswerParseError, AnswerTooLarge } from "../errors.js";
import { type FnName, type Node, type RelOp, num } from "./ast.js";
import { checkDeadline } from "../deadline.js";
import { lexAt, readGroup, type LexMode, type Tok } from "./lexer.js";
import { rat } from "../numbers/rational.js";
import { IMPLIES, MUL_CMDS, NON_VALUE_CMDS, REL_OPS, SET_OPS } from "./parse-tables.js";
import { derivativeSymbol, isLeibnizFraction, parseCommand, KNOWN_COMMANDS } from "./parse-commands.js";
import { isMixedNumber, isQuantity, isSeparatorText, isUnitWord, letterNode, numberNode, parseBracketed, parseLetters, parseTextTok, primed, printDigits, symbolTail } from "./parse-atoms.js";

export { isUnitWord, numberNode, WORDS } from "./parse-atoms.js";

export { AnswerParseError, AnswerTooLarge } from "../errors.js";

export const MAX_PARSE_CHARS = 6000;
const MAX_DEPTH = 150;

export class Parser {
  pos = 0;
  private depth = 0;
  absDepth = 0;
  private cache: { pos: number; tok: Tok } | undefined;

  constructor(
    readonly s: string,
    readonly mode: LexMode,
    readonly baseDepth = 0,
  ) {}

  /** Refuses the answer; past a size bound it is AnswerTooLarge ("too-large"), else "unparsable". */
  fail(message: string, kind: typeof AnswerParseError = AnswerParseError): never {
    throw new kind(`${message} at offset ${this.pos} of ${JSON.stringify(this.s.length > 60 ? `${this.s.slice(0, 57)}...` : this.s)}`);
  }

  peek(): Tok {
    if (this.cache && this.cache.pos === this.pos) return this.cache.tok;
    const tok = lexAt(this.s, this.pos, this.mode);
    this.cache = { pos: this.pos, tok };
    return tok;
  }

  next(): Tok {
    const tok = this.peek();
    this.pos = tok.end;
    return tok;
  }

  isOp(tok: Tok, v: string): boolean {
    return tok.t === "op" && tok.v === v;
  }

  expectOp(v: string): void {
    const tok = this.next();
    if (tok.t !== "op" || tok.v !== v) this.fail(`expected "${v}"`);
  }

  enter(): void {
    this.depth++;
    if (this.depth + this.baseDepth > MAX_DEPTH) this.fail("expression nested too deeply", AnswerTooLarge);
    checkDeadline();
  }

  leave(): void {
    this.depth--;
  }

  /** Parses a whole answer; trailing punctuation is ignored. */
  parseAll(): Node {
    if (this.s.length > MAX_PARSE_CHARS) this.fail(`answer longer than ${MAX_PARSE_CHARS} characters`, AnswerTooLarge);
    const node = this.parseGroups();
    for (;;) {
      const tok = this.next();
      if (tok.t === "eof") return node;
      if (tok.t === "op" && (tok.v === "." || tok.v === "," || tok.v === ";" || tok.v === "?" || tok.v === "!")) continue;
      if (tok.t === "qsep") continue;
      this.fail(`unexpected ${tok.t === "op" ? `"${tok.v}"` : tok.t}`);
    }
  }

  /** ";"-separated groups of comma lists. */
  parseGroups(): Node {
    this.enter();
    const items = [this.parseCommaList()];
    while (this.isOp(this.peek(), ";")) {
      this.next();
      if (this.atCloser()) break;
      items.push(this.parseCommaList());
    }
    this.leave();
    return items.length === 1 ? (items[0] as Node) : { k: "list", items, sep: ";" };
  }

  atCloser(): boolean {
    const tok = this.peek();
    if (tok.t === "eof") return true;
    if (tok.t === "op") return [")", "]", "}", "\\}", "rowsep", "&"].includes(tok.v) || (tok.v === "|" && this.absDepth > 0);
    if (tok.t === "cmd") return ["rangle", "rfloor", "rceil", "rvert", "rVert", "end"].includes(tok.name);
    return false;
  }

  isSeparator(tok: Tok): boolean {
    if (tok.t === "op") return tok.v === ",";
    if (tok.t === "letters") return tok.text === "and" || tok.text === "or";
    if (tok.t === "text") return isSeparatorText(tok.content);
    return false;
  }

  skipQseps(): void {
    while (this.peek().t === "qsep") this.next();
  }

  parseCommaList(): Node {
    this.enter();
    const items = [this.parseImplication()];
    for (;;) {
      const save = this.pos;
      this.skipQseps();
      const tok = this.peek();
      if (this.isSeparator(tok)) {
        this.next();
        // ", and" / "and," collapse into one separator
        for (;;) {
          this.skipQseps();
          const t2 = this.peek();
          if (this.isSeparator(t2)) this.next();
          else break;
        }
        if (this.atCloser()) break;
        items.push(this.parseImplication());
        continue;
      }
      if (this.pos !== save && !this.atCloser() && this.canStartFactor(tok)) {
        items.push(this.parseImplication());
        continue;
      }
      this.pos = save;
      break;
    }
    this.leave();
    return items.length === 1 ? (items[0] as Node) : { k: "list", items, sep: "," };
  }

  /** "A \Rightarrow B": the conclusion B is the answer. */
  parseImplication(): Node {
    let node = this.parseRelation();
    for (;;) {
      const tok = this.peek();
      if (tok.t === "cmd" && IMPLIES.has(tok.name)) {
        this.next();
        node = this.parseRelation();
      } else return node;
    }
  }

  relOpOf(tok: Tok): RelOp | undefined {
    if (tok.t === "op") return REL_OPS.get(tok.v);
    if (tok.t === "cmd") {
      if (tok.name === "not") return undefined;
      return REL_OPS.get(tok.name);
    }
    return undefined;
  }

  parseRelation(): Node {
    this.enter();
    const parts = [this.parseRatio()];
    const ops: RelOp[] = [];
    for (;;) {
      const save = this.pos;
      this.skipQseps();
      let tok = this.peek();
      let negated = false;
      if (tok.t === "cmd" && tok.name === "not") {
        this.next();
        tok = this.peek();
        negated = true;
      }
      const op = this.relOpOf(tok);
      if (op === undefined) {
        this.pos = save;
        break;
      }
      this.next();
      ops.push(negated ? (op === "=" ? "!=" : op === "in" ? "notin" : op) : op);
      parts.push(this.parseRatio());
    }
    this.leave();
    return ops.length === 0 ? (parts[0] as Node) : { k: "rel", ops, parts };
  }

  parseRatio(): Node {
    const parts = [this.parseSetExpr()];
    while (this.isOp(this.peek(), ":")) {
      this.next();
      parts.push(this.parseSetExpr());
    }
    return parts.length === 1 ? (parts[0] as Node) : { k: "ratio", parts };
  }

  parseSetExpr(): Node {
    let node = this.parseAdd();
    for (;;) {
      const tok = this.peek();
      const op = tok.t === "cmd" ? SET_OPS.get(tok.name) : undefined;
      if (op === undefined) return node;
      this.next();
      const rhs = this.parseAdd();
      node = node.k === "setop" && node.op === op ? { k: "setop", op, args: [...node.args, rhs] } : { k: "setop", op, args: [node, rhs] };
    }
  }

  parseAdd(): Node {
    this.enter();
    let terms: Node[] = [this.parseMul()];
    for (;;) {
      const save = this.pos;
      this.skipQseps();
      const tok = this.peek();
      if (this.isOp(tok, "+")) {
        this.next();
        terms.push(this.parseMul());
      } else if (this.isOp(tok, "-")) {
        this.next();
        terms.push({ k: "neg", arg: this.parseMul() });
      } else if (tok.t === "cmd" && (tok.name === "pm" || tok.name === "mp")) {
        this.next();
        const left: Node = terms.length === 1 ? (terms[0] as Node) : { k: "add", args: terms };
        terms = [{ k: "pm", left, right: this.parseMul(), mp: tok.name === "mp" }];
      } else {
        this.pos = save;
        break;
      }
    }
    this.leave();
    return terms.length === 1 ? (terms[0] as Node) : { k: "add", args: terms };
  }

  /** Whether a token can begin an implicitly multiplied factor. */
  canStartFactor(tok: Tok): boolean {
    switch (tok.t) {
      case "num":
        return true;
      case "letters":
        return tok.text !== "and" && tok.text !== "or";
      case "text":
        return !isSeparatorText(tok.content);
      case "cmd":
        return !NON_VALUE_CMDS.has(tok.name);
      case "op":
        return tok.v === "(" || tok.v === "{" || tok.v === "\\{" || (tok.v === "|" && this.absDepth === 0) || tok.v === "[";
      default:
        return false;
    }
  }

  parseMul(): Node {
    this.enter();
    let factors: Node[] = [this.parseUnary()];
    for (;;) {
      const tok = this.peek();
      if (this.isOp(tok, "*") || (tok.t === "cmd" && MUL_CMDS.has(tok.name))) {
        this.next();
        factors.push(this.parseUnary());
      } else if (tok.t === "cmd" && tok.name === "pmod") {
        // "9 \pmod{11}": the modulus is a remark on the answer
        this.next();
        this.readArg();
      } else if (tok.t === "cmd" && (tok.name === "bmod" || tok.name === "mod")) {
        this.next();
        const m = this.parseUnary();
        const lhs: Node = factors.length === 1 ? (factors[0] as Node) : { k: "mul", args: factors };
        factors = [{ k: "fn", name: "mod", args: [lhs, m] }];
      } else if (this.isOp(tok, "/") || (tok.t === "cmd" && tok.name === "div")) {
        this.next();
        const den = this.parseUnary();
        const numer: Node = factors.length === 1 ? (factors[0] as Node) : { k: "mul", args: factors };
        factors = [isLeibnizFraction(numer, den) ? derivativeSymbol(numer, den) : { k: "div", num: numer, den }];
      } else if (this.canStartFactor(tok)) {
        if (tok.t === "text" && factors.length > 0 && !this.textIsMath(tok.content)) {
          // a word after a quantity is a unit or a remark: "15 \mbox{ cm}^2", "125 \text{ miles}"
          this.next();
          this.skipUnitPower();
          continue;
        }
        if (tok.t === "letters" && factors.length > 0 && isUnitWord(tok.text) && factors.every(isQuantity)) {
          this.next();
          this.skipUnitPower();
          continue;
        }
        // "2 3", "1 000", "2 \text{ apples and } 3": numbers side by side are no
        // product anyone writes; reading one would reward any factorisation of the gold.
        const last = factors[factors.length - 1];
        if (tok.t === "num" && last !== undefined && isQuantity(last)) this.fail("two numbers side by side with no operator");
        const next = this.parsePow();
        const whole = factors.length === 1 ? (factors[0] as Node) : undefined;
        if (whole && tok.t === "cmd") {
          // "1\frac{4}{5}" is the mixed number 9/5, not 4/5; "-1\frac{4}{5}" is -9/5
          if (isMixedNumber(whole, next)) {
            factors[0] = { k: "add", args: [whole, next] };
            continue;
          }
          if (whole.k === "neg" && isMixedNumber(whole.arg, next)) {
            factors[0] = { k: "neg", arg: { k: "add", args: [whole.arg, next] } };
            continue;
          }
        }
        factors.push(next);
      } else break;
    }
    this.leave();
    return factors.length === 1 ? (factors[0] as Node) : { k: "mul", args: factors };
  }

  private skipUnitPower(): void {
    if (!this.isOp(this.peek(), "^")) return;
    const save = this.pos;
    this.next();
    const tok = this.peek();
    if (tok.t === "num" || this.isOp(tok, "{")) {
      this.parseExponent();
      return;
    }
    this.pos = save;
  }

  /** Parses a fragment (the content of \\text{...}) one level deeper, or undefined if it is not mathematics. */
  sub(content: string): Node | undefined {
    return subParse(content, this.mode, this.baseDepth + 1);
  }

  textIsMath(content: string): boolean {
    return /^[\s\d.,+\-*/^()]*$/.test(content) && /\d/.test(content);
  }

  parseUnary(): Node {
    this.enter();
    this.skipQseps();
    const tok = this.peek();
    let node: Node;
    if (this.isOp(tok, "-")) {
      this.next();
      node = { k: "neg", arg: this.parseUnary() };
    } else if (this.isOp(tok, "+")) {
      this.next();
      node = this.parseUnary();
    } else if (tok.t === "cmd" && (tok.name === "pm" || tok.name === "mp")) {
      this.next();
      node = { k: "pm", left: undefined, right: this.parseUnary(), mp: tok.name === "mp" };
    } else node = this.parsePow();
    this.leave();
    return node;
  }

  parsePow(): Node {
    this.enter();
    let base = this.parsePrimary();
    for (;;) {
      const tok = this.peek();
      if (this.isOp(tok, "^")) {
        this.next();
        const e = this.parseExponent();
        if (e === "degree") continue;
        if (e === "prime") {
          base = primed(base);
          continue;
        }
        // right associative: a^b^c = a^(b^c)
        const exps: Node[] = [e];
        while (this.isOp(this.peek(), "^")) {
          const save = this.pos;
          this.next();
          const e2 = this.parseExponent();
          if (typeof e2 === "string") {
            this.pos = save;
            break;
          }
          exps.push(e2);
        }
        let exp = exps[exps.length - 1] as Node;
        for (let i = exps.length - 2; i >= 0; i--) exp = { k: "pow", base: exps[i] as Node, exp };
        base = { k: "pow", base, exp };
      } else if (this.isOp(tok, "!")) {
        this.next();
        base = { k: "fn", name: "fact", args: [base] };
      } else if (tok.t === "cmd" && tok.name === "%") {
        this.next();
        base = { k: "pct", arg: base };
      } else if (this.isOp(tok, "'")) {
        this.next();
        base = primed(base);
      } else if (tok.t === "cmd" && (tok.name === "circ" || tok.name === "degree")) {
        this.next();
      } else if (this.isOp(tok, "_") && base.k === "num") {
        this.next();
        const sub = this.readRawArg();
        const b = Number(sub);
        if (!Number.isInteger(b) || b < 2 || b > 36) this.fail("unsupported subscript on a number");
        base = { k: "base", digits: printDigits(base), base: b };
      } else break;
    }
    this.leave();
    return base;
  }

  /** The exponent after "^": a group, a parenthesis, a number, a letter, or a command. */
  parseExponent(): Node | "degree" | "prime" {
    const tok = this.peek();
    if (tok.t === "cmd" && (tok.name === "circ" || tok.name === "degree")) {
      this.next();
      return "degree";
    }
    if (tok.t === "cmd" && tok.name === "prime") {
      this.next();
      return "prime";
    }
    if (this.isOp(tok, "{")) {
      const g = readGroup(this.s, tok.start);
      if (g && /^\s*\\circ\s*$/.test(g.content)) {
        this.pos = g.end;
        return "degree";
      }
      if (g && /^\s*(\\prime\s*)+$/.test(g.content)) {
        this.pos = g.end;
        return "prime";
      }
      this.next();
      const inner = this.parseGroups();
      this.expectOp("}");
      return inner;
    }
    if (this.isOp(tok, "(")) return this.parsePrimary();
    if (this.isOp(tok, "-") || this.isOp(tok, "+")) {
      this.next();
      const e = this.parseExponent();
      if (typeof e === "string") this.fail("bad exponent");
      return this.isOp(tok, "-") ? { k: "neg", arg: e } : e;
    }
    if (tok.t === "num") {
      this.next();
      return numberNode(tok.text, this);
    }
    if (tok.t === "letters") {
      // a single letter, as TeX reads it: e^xy is e^x * y
      this.pos = tok.start + 1;
      return letterNode(tok.text[0] as string);
    }
    return this.parsePrimary();
  }

  /** A TeX macro argument: a braced group, or one character, or one command. */
  readArg(): Node {
    const tok = this.peek();
    if (this.isOp(tok, "{")) {
      this.next();
      const inner = this.parseGroups();
      this.expectOp("}");
      return inner;
    }
    if (tok.t === "num") {
      const c = this.s[tok.start] as string;
      if (c === ".") {
        this.next();
        return numberNode(tok.text, this);
      }
      this.pos = tok.start + 1;
      return num(rat(BigInt(c)));
    }
    if (tok.t === "letters") {
      this.pos = tok.start + 1;
      return letterNode(tok.text[0] as string);
    }
    if (tok.t === "cmd" || tok.t === "text") return this.parsePow();
    if (this.isOp(tok, "(")) return this.parsePrimary();
    return this.fail("missing argument");
  }

  /** Raw text of a TeX argument (for subscripts and names). */
  readRawArg(): string {
    const tok = this.peek();
    if (this.isOp(tok, "{")) {
      const g = readGroup(this.s, tok.start);
      if (!g) this.fail("unbalanced braces");
      this.pos = g.end;
      return g.content.replace(/\s+/g, "");
    }
    if (tok.t === "num" || tok.t === "letters") {
      this.pos = tok.start + 1;
      return this.s[tok.start] as string;
    }
    if (tok.t === "cmd") {
      this.next();
      return tok.name;
    }
    return this.fail("missing subscript");
  }

  parsePrimary(): Node {
    this.enter();
    const tok = this.peek();
    let node: Node;
    switch (tok.t) {
      case "num":
        this.next();
        node = numberNode(tok.text, this);
        break;
      case "letters":
        node = parseLetters(this, tok);
        break;
      case "cmd":
        node = this.parseCmd(tok);
        break;
      case "text":
        node = parseTextTok(this, tok);
        break;
      case "op":
        node = parseBracketed(this, tok);
        break;
      default:
        this.fail("unexpected end of answer");
    }
    this.leave();
    return node;
  }

  parseCmd(tok: Extract<Tok, { t: "cmd" }>): Node {
    if (UNSUPPORTED.has(tok.name)) this.fail(`\\${tok.name} is not supported`);
    if (KNOWN_COMMANDS.has(tok.name)) {
      this.next();
      return parseCommand(this, tok.name);
    }
    // "\quadx" typed without a space: split off the longest known command
    for (let len = tok.name.length - 1; len >= 2; len--) {
      const prefix = tok.name.slice(0, len);
      if (KNOWN_COMMANDS.has(prefix) || NON_VALUE_CMDS.has(prefix) || prefix === "quad" || prefix === "qquad") {
        if (prefix === "quad" || prefix === "qquad") {
          this.pos = tok.start + 1 + len;
          return this.parsePrimary();
        }
        if (NON_VALUE_CMDS.has(prefix)) break;
        this.pos = tok.start + 1 + len;
        return parseCommand(this, prefix);
      }
    }
    this.next();
    return this.symbolTail(tok.name);
  }

  symbolTail(name: string): Node {
    return symbolTail(this, name);
  }

  /** Items inside brackets: "," and ";" both separate. */
  parseItems(): Node[] {
    const items: Node[] = [];
    for (;;) {
      checkDeadline();
      items.push(this.parseImplication());
      const tok = this.peek();
      if (this.isOp(tok, ",") || this.isOp(tok, ";") || this.isSeparator(tok)) {
        this.next();
        continue;
      }
      return items;
    }
  }
}

/** Calculus and limits: no value can be computed, and guessing a parse would be worse than refusing. */
const UNSUPPORTED = new Set(["int", "iint", "iiint", "oint", "lim", "limsup", "liminf", "varlimsup", "varliminf"]);

/** Parses a fragment (text content, a subscript) or returns undefined if it is not mathematics. */
export function subParse(content: string, mode: LexMode, depth: number): Node | undefined {
  try {
    return new Parser(content, mode, depth).parseAll();
  } catch (err) {
    if (err instanceof AnswerParseError) return undefined;
    throw err;
  }
}

export function parseMath(text: string, mode: LexMode = "latex"): Node {
  return new Parser(text, mode).parseAll();
}

export type { FnName };
