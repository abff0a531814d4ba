import { describe, expect, it } from "vitest";
import { Rng } from "../util/rng.js";
import { logSoftmaxAt, type SamplingParams, sampleToken, sampleWithLogprob } from "./sampling.js";

function logits(rng: Rng, V: number, spread: number): Float32Array {
  return Float32Array.from({ length: V }, () => (rng.float() - 0.5) * spread);
}

describe("sampleWithLogprob", () => {
  const settings: Array<[string, SamplingParams]> = [
    ["plain", { temperature: 1, topK: 0, topP: 1 }],
    ["temperature 0.6", { temperature: 0.6, topK: 0, topP: 1 }],
    ["top-k", { temperature: 1, topK: 5, topP: 1 }],
    ["top-p", { temperature: 0.8, topK: 0, topP: 0.9 }],
    ["greedy", { temperature: 0, topK: 0, topP: 1 }],
  ];
  for (const [label, p] of settings) {
    it(`${label}: draws sampleToken's id from the same stream and its log-probability over the whole vocabulary`, () => {
      const data = new Rng(3);
      for (let trial = 0; trial < 200; trial++) {
        // wide spreads put most of the vocabulary outside sampleToken's window of e^-40
        const row = logits(data, 1 + (trial % 300), trial % 2 === 0 ? 4 : 200);
        const a = new Rng(trial);
        const b = new Rng(trial);
        const draw = sampleWithLogprob(row, p, a);
        expect(draw.id).toBe(sampleToken(row, p, b));
        expect(a.state()).toEqual(b.state());
        const t = p.temperature === 0 ? 1 : p.temperature;
        expect(draw.logprob).toBeCloseTo(logSoftmaxAt(row, draw.id, t), 12);
        expect(draw.logprob).toBeLessThanOrEqual(0);
      }
    });
  }

  it("the log-probabilities of a row sum to 1 in probability", () => {
    const row = logits(new Rng(9), 50, 6);
    let total = 0;
    for (let j = 0; j < row.length; j++) total += Math.exp(logSoftmaxAt(row, j, 0.7));
    expect(total).toBeCloseTo(1, 12);
  });
});
