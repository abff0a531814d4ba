/**
 * Operator tables of the parser: relation symbols, implications, set
 * operations, multiplication signs, and the commands that cannot start an
 * implicitly multiplied factor.
 */
import type { RelOp } from "./ast.js";

export const REL_OPS = new Map<string, RelOp>([
  ["=", "="],
  ["<", "<"],
  [">", ">"],
  ["<=", "<="],
  [">=", ">="],
  ["!=", "!="],
  ["to", "to"],
  ["le", "<="],
  ["leq", "<="],
  ["leqslant", "<="],
  ["leqq", "<="],
  ["lt", "<"],
  ["ge", ">="],
  ["geq", ">="],
  ["geqslant", ">="],
  ["geqq", ">="],
  ["gt", ">"],
  ["ne", "!="],
  ["neq", "!="],
  ["approx", "approx"],
  ["simeq", "approx"],
  ["thickapprox", "approx"],
  ["equiv", "equiv"],
  ["cong", "equiv"],
  ["in", "in"],
  ["notin", "notin"],
  ["subset", "subset"],
  ["subseteq", "subset"],
  ["rightarrow", "to"],
  ["longrightarrow", "to"],
  ["mapsto", "to"],
]);

export const IMPLIES = new Set(["Rightarrow", "implies", "Longrightarrow", "iff", "Leftrightarrow", "therefore"]);
export const SET_OPS = new Map<string, "cup" | "cap" | "minus">([
  ["cup", "cup"],
  ["bigcup", "cup"],
  ["cap", "cap"],
  ["bigcap", "cap"],
  ["setminus", "minus"],
  ["backslash", "minus"],
]);
export const MUL_CMDS = new Set(["cdot", "times", "ast", "star", "bullet", "cdotp"]);
/** Commands that cannot begin an implicit factor. */
export const NON_VALUE_CMDS = new Set([
  ...REL_OPS.keys(),
  ...IMPLIES,
  ...SET_OPS.keys(),
  ...MUL_CMDS,
  "div",
  "pm",
  "mp",
  "rangle",
  "rfloor",
  "rceil",
  "rvert",
  "rVert",
  "end",
  "circ",
  "degree",
  "%",
  "prime",
  "mid",
  "colon",
  "pmod",
  "bmod",
  "mod",
]);
