/**
 * Arithmetic chain problems: a start value and 1-5 operations applied left
 * to right, written with explicit parentheses so the text means the same
 * under ordinary precedence: ((7+5)*3)-4. The worked response shows one
 * step per line and ends in \boxed{answer}.
 *
 * Difficulty: a problem has `ops` operations (1-5) on `digits`-digit
 * operands (1 or 2; multipliers are always 2-9 so values stay small), and
 * level = ops + digits - 1, from 1 (one 1-digit operation) to 6 (five
 * operations on 2-digit operands). Every running value stays in 1..999.
 */
import type { Rng } from "../util/rng.js";
import { GvmError } from "../util/errors.js";

export type Op = "+" | "-" | "*";
export type Digits = 1 | 2;

export const MIN_LEVEL = 1;
export const MAX_LEVEL = 6;
/** Largest running value a chain may reach. */
export const MAX_VALUE = 999;

/** One step of the chain: left op right = result. */
export interface Step {
  readonly left: number;
  readonly op: Op;
  readonly right: number;
  readonly result: number;
}

/** A problem before it is placed in a split. */
export interface ArithProblem {
  /** Difficulty level, MIN_LEVEL..MAX_LEVEL. */
  readonly level: number;
  /** Number of chained operations. */
  readonly ops: number;
  /** Digits of the start value and of +/- operands. */
  readonly digits: Digits;
  /** The expression with explicit parentheses, e.g. "((7+5)*3)-4". */
  readonly expression: string;
  /** The prompt text shown to the model. */
  readonly prompt: string;
  /** Gold answer, a decimal integer. */
  readonly answer: string;
  /** Canonical worked response ending in \boxed{answer} (supervised warm start). */
  readonly response: string;
  readonly steps: readonly Step[];
}

/** The (ops, digits) shapes that make up a level. */
export function levelShapes(level: number): { ops: number; digits: Digits }[] {
  if (!Number.isInteger(level) || level < MIN_LEVEL || level > MAX_LEVEL) {
    throw new GvmError(`arithmetic tasks: level ${level} is not an integer in [${MIN_LEVEL}, ${MAX_LEVEL}]`);
  }
  const shapes: { ops: number; digits: Digits }[] = [];
  for (const digits of [1, 2] as const) {
    const ops = level - digits + 1;
    if (ops >= 1 && ops <= 5) shapes.push({ ops, digits });
  }
  return shapes;
}

function operand(rng: Rng, digits: Digits): number {
  return digits === 1 ? 1 + rng.int(9) : 10 + rng.int(90);
}

function apply(left: number, op: Op, right: number): number {
  return op === "+" ? left + right : op === "-" ? left - right : left * right;
}

const OPS: readonly Op[] = ["+", "-", "*"];

/** Draws one step from `value`, rejecting ones that leave 1..maxValue. */
function drawStep(rng: Rng, value: number, digits: Digits, maxValue: number): Step {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const op = OPS[rng.int(3)] as Op;
    const right = op === "*" ? 2 + rng.int(8) : operand(rng, digits);
    const result = apply(value, op, right);
    if (result >= 1 && result <= maxValue) return { left: value, op, right, result };
  }
  throw new GvmError(`arithmetic tasks: no valid step from ${value} (${digits}-digit operands)`);
}

/** Builds the texts of a chain. */
export function renderProblem(level: number, ops: number, digits: Digits, start: number, steps: readonly Step[]): ArithProblem {
  let expression = String(start);
  steps.forEach((s, i) => {
    expression = i === 0 ? `${expression}${s.op}${s.right}` : `(${expression})${s.op}${s.right}`;
  });
  const last = steps[steps.length - 1];
  if (last === undefined) throw new GvmError("arithmetic tasks: a chain needs at least one step");
  const answer = String(last.result);
  const lines = steps.map((s) => `${s.left}${s.op}${s.right}=${s.result}`);
  return {
    level,
    ops,
    digits,
    expression,
    prompt: `Q: ${expression}\n`,
    answer,
    response: `${lines.join("\n")}\n\\boxed{${answer}}`,
    steps,
  };
}

/** One random problem of the given level; every running value stays in 1..maxValue. */
export function generateProblem(rng: Rng, level: number, maxValue: number = MAX_VALUE): ArithProblem {
  const shapes = levelShapes(level);
  const shape = shapes[rng.int(shapes.length)] as { ops: number; digits: Digits };
  const start = operand(rng, shape.digits);
  const steps: Step[] = [];
  let value = start;
  for (let k = 0; k < shape.ops; k++) {
    const step = drawStep(rng, value, shape.digits, maxValue);
    steps.push(step);
    value = step.result;
  }
  return renderProblem(level, shape.ops, shape.digits, start, steps);
}
