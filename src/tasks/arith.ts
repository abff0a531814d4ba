/**
 * Arithmetic chain problems: a single-digit start value and `ops`
 * single-digit operations applied left to right, written with explicit
 * parentheses so the text means the same under ordinary precedence:
 * ((7+5)*3)-4. The worked response shows one step per line and ends in
 * \boxed{answer}. Difficulty is the number of operations: level = ops, 1..6.
 *
 * Why the fact space is this small: with 2-digit operands and values up to
 * 999 (this suite's first design) a 0.8M-parameter model warm-started on a
 * few thousand demonstrations reached 1-2% sampled test accuracy, and 227 of
 * 256 training prompts had acceptance rate 0 at 8 samples: no spread of
 * acceptance rates, so no allocation could matter. With single-digit
 * operands and running values in 0..20 (a few hundred distinct facts) the
 * same model and warm start learn the steps, and accuracy falls with the
 * number of operations: that is the spread the allocation works on.
 * Demonstrations cover levels up to 5 by default; level 6 is one step longer
 * than anything demonstrated, mostly out of reach for the warm-started policy.
 */
import type { Rng } from "../util/rng.js";
import { GvmError } from "../util/errors.js";

export type Op = "+" | "-" | "*";

export const MIN_LEVEL = 1;
export const MAX_LEVEL = 6;
/** Default largest running value of a chain. */
export const MAX_VALUE = 20;

/** One step of the chain: left op right = result. */
export interface Step {
  readonly left: number;
  readonly op: Op;
  readonly right: number;
  readonly result: number;
}

/** A problem before it is placed in a split. */
export interface ArithProblem {
  /** Difficulty level, MIN_LEVEL..MAX_LEVEL: the number of operations. */
  readonly level: number;
  /** Number of chained operations (equals level). */
  readonly ops: number;
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

/** A worked response for the supervised warm start, possibly with slips. */
export interface Demonstration {
  readonly level: number;
  readonly expression: string;
  readonly prompt: string;
  /** The teacher's worked response, ending in \boxed{its final value}. */
  readonly response: string;
  /** Steps whose result the teacher got wrong (two slips can cancel, so the boxed answer may still be right). */
  readonly slips: number;
}

/** Throws unless `level` is a valid difficulty level. */
export function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < MIN_LEVEL || level > MAX_LEVEL) {
    throw new GvmError(`arithmetic tasks: level ${level} is not an integer in [${MIN_LEVEL}, ${MAX_LEVEL}]`);
  }
}

function apply(left: number, op: Op, right: number): number {
  return op === "+" ? left + right : op === "-" ? left - right : left * right;
}

const OPS: readonly Op[] = ["+", "-", "*"];

/** Draws one step from `value`, rejecting ones that leave 0..maxValue. Multipliers are 2-9. */
function drawStep(rng: Rng, value: number, maxValue: number): Step {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const op = OPS[rng.int(3)] as Op;
    const right = op === "*" ? 2 + rng.int(8) : 1 + rng.int(9);
    const result = apply(value, op, right);
    if (result >= 0 && result <= maxValue) return { left: value, op, right, result };
  }
  throw new GvmError(`arithmetic tasks: no valid step from ${value} with values up to ${maxValue}`);
}

/** Builds the texts of a chain. */
export function renderProblem(start: number, steps: readonly Step[]): ArithProblem {
  let expression = String(start);
  steps.forEach((s, i) => {
    expression = i === 0 ? `${expression}${s.op}${s.right}` : `(${expression})${s.op}${s.right}`;
  });
  const last = steps[steps.length - 1];
  if (last === undefined) throw new GvmError("arithmetic tasks: a chain needs at least one step");
  const answer = String(last.result);
  const lines = steps.map((s) => `${s.left}${s.op}${s.right}=${s.result}`);
  return {
    level: steps.length,
    ops: steps.length,
    expression,
    prompt: `Q: ${expression}\n`,
    answer,
    response: `${lines.join("\n")}\n\\boxed{${answer}}`,
    steps,
  };
}

/**
 * The worked response an imperfect teacher writes for `problem`: each step's
 * result is, with probability `slipRate`, a near miss (the true result +-1 or
 * +-2) and the chain goes on from the wrong value, so the boxed answer is
 * wrong too. A slip is only drawn among values that keep every later running
 * value in 0..maxValue, so a demonstration uses the same facts as the
 * problems; where none does, that step is right.
 *
 * Why a teacher that slips: a policy warm-started on it learns every fact's
 * right result as the most likely one but samples a slip now and then, so
 * it samples (temperature 1) far worse than it decodes greedily. That gap
 * is what RL with verifiable rewards removes in real post-training; with a
 * perfect teacher the warm-started policy had little to gain from RL.
 */
export function renderDemonstration(problem: ArithProblem, rng: Rng, slipRate: number, maxValue: number = MAX_VALUE): Demonstration {
  if (!(slipRate >= 0 && slipRate < 1)) throw new GvmError(`arithmetic tasks: slipRate ${slipRate} is not in [0, 1)`);
  const first = problem.steps[0];
  if (first === undefined) throw new GvmError("arithmetic tasks: a chain needs at least one step");
  const lines: string[] = [];
  let value = first.left;
  let slips = 0;
  problem.steps.forEach((s, i) => {
    const truth = apply(value, s.op, s.right);
    let result = truth;
    if (rng.float() < slipRate) {
      const rest = problem.steps.slice(i + 1);
      const fits = (v: number) => {
        let x = v;
        for (const t of rest) {
          x = apply(x, t.op, t.right);
          if (x < 0 || x > maxValue) return false;
        }
        return true;
      };
      const near = [truth - 2, truth - 1, truth + 1, truth + 2].filter((v) => v >= 0 && v <= maxValue && fits(v));
      if (near.length > 0) {
        result = near[rng.int(near.length)] as number;
        slips++;
      }
    }
    lines.push(`${value}${s.op}${s.right}=${result}`);
    value = result;
  });
  return { level: problem.level, expression: problem.expression, prompt: problem.prompt, response: `${lines.join("\n")}\n\\boxed{${value}}`, slips };
}

/** One random problem of the given level; every running value stays in 0..maxValue. */
export function generateProblem(rng: Rng, level: number, maxValue: number = MAX_VALUE): ArithProblem {
  checkLevel(level);
  const start = 1 + rng.int(9);
  const steps: Step[] = [];
  let value = start;
  for (let k = 0; k < level; k++) {
    const step = drawStep(rng, value, maxValue);
    steps.push(step);
    value = step.result;
  }
  return renderProblem(start, steps);
}
