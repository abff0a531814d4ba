/**
 * Demonstrations for the supervised warm start, drawn fresh for every batch
 * from the suite's generator: problems at the demonstration levels that are
 * in neither the test split nor the RL pool, each with a worked response
 * from a teacher that slips now and then (arith.ts, renderDemonstration).
 *
 * Why a stream and not a fixed set: a 0.8M-parameter policy warm-started for
 * ~10 epochs on 2,000 fixed demonstrations memorised them (loss 0.07, token
 * entropy 0.08-0.10 nats), sampled almost greedily and explored nothing, and
 * its test accuracy swung from 0.10 to 0.39 with the seed. A generator that
 * never repeats a batch leaves nothing to memorise but the facts and the
 * format.
 */
import { GvmError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { type Demonstration, generateProblem, renderDemonstration } from "./arith.js";
import { LEVELS, type Mix, mixWeights, type TaskSuite } from "./suite.js";

export interface DemoOptions {
  /** Level mix of the demonstrations. */
  mix: Mix;
  /** Probability that the teacher gets a step's result wrong. */
  slipRate: number;
}

/** Draws demonstrations outside a suite's splits. */
export class DemoSource {
  private readonly reserved: ReadonlySet<string>;
  private readonly weights: number[];

  constructor(
    private readonly suite: TaskSuite,
    private readonly options: DemoOptions,
  ) {
    this.reserved = new Set([...suite.train, ...suite.test].map((p) => p.expression));
    this.weights = mixWeights(options.mix);
  }

  /** `count` demonstrations; levels drawn from the mix, problems uniformly among the unreserved ones. */
  draw(rng: Rng, count: number): Demonstration[] {
    return Array.from({ length: count }, () => this.one(rng));
  }

  private one(rng: Rng): Demonstration {
    let u = rng.float();
    // The last level with weight takes what rounding leaves of u.
    let li = this.weights.findLastIndex((w) => w > 0);
    for (let i = 0; i < this.weights.length; i++) {
      const w = this.weights[i] as number;
      if (w > 0 && u < w) {
        li = i;
        break;
      }
      u -= w;
    }
    const level = LEVELS[li] as number;
    const maxValue = this.suite.options.maxValue;
    // Level 1 has about 150 problems, most of them in the splits: rejection still ends quickly.
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const p = generateProblem(rng, level, maxValue);
      if (!this.reserved.has(p.expression)) return renderDemonstration(p, rng, this.options.slipRate, maxValue);
    }
    throw new GvmError(
      `demonstrations: no level-${level} problem is left outside the test split and the RL pool; ` +
        `give level ${level} no weight in the demonstration mix, or lower suite.trainSize / suite.testSize`,
    );
  }
}
