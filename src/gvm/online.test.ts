import { describe, expect, it } from "vitest";
import { AllocationInputError } from "./errors.js";
import { decayOnlineState, estimateAcceptRate, estimateOnline, updateOnlineState, type OnlinePromptState } from "./online.js";
import { parseGvmOnlineOptions } from "./options.js";
import { allocate } from "./strategies.js";

const opts = parseGvmOnlineOptions({ halfLife: 1 });

describe("online state", () => {
  it("starts from the Beta prior and adds counts", () => {
    expect(estimateAcceptRate(null, 0, opts)).toBe(0.5);
    const s = updateOnlineState(null, { total: 4, accepted: 3 }, 0, opts);
    expect(s).toEqual({ accepted: 3, rejected: 1, gradNormSum: 0, gradNormCount: 0, time: 0, samples: 4, streak: 0 });
    expect(estimateAcceptRate(s, 0, opts)).toBeCloseTo(4 / 6, 12);
  });

  it("halves old evidence every halfLife and relaxes to the prior", () => {
    const s = updateOnlineState(null, { total: 4, accepted: 3 }, 0, opts);
    expect(estimateAcceptRate(s, 1, opts)).toBeCloseTo((1 + 1.5) / (2 + 2), 12);
    expect(estimateAcceptRate(s, 60, opts)).toBeCloseTo(0.5, 9);
    const t = updateOnlineState(s, { total: 2, accepted: 0, gradNormSum: 0, gradNormCount: 0 }, 2, opts);
    expect(t.accepted).toBeCloseTo(0.75, 12);
    expect(t.rejected).toBeCloseTo(0.25 + 2, 12);
    const frozen = parseGvmOnlineOptions({ halfLife: null });
    expect(decayOnlineState(s, 100, frozen)).toEqual({ ...s, time: 100 });
  });

  it("counts every sample undecayed and the run of all-accepted (+) or all-rejected (-) groups; empty groups change neither", () => {
    let s = updateOnlineState(null, { total: 4, accepted: 4 }, 0, opts);
    expect([s.samples, s.streak]).toEqual([4, 1]);
    s = updateOnlineState(s, { total: 3, accepted: 3 }, 1, opts);
    expect([s.samples, s.streak]).toEqual([7, 2]);
    expect(s.accepted).toBeCloseTo(2 + 3, 12); // decayed, unlike samples
    s = updateOnlineState(s, { total: 0, accepted: 0 }, 2, opts);
    expect([s.samples, s.streak]).toEqual([7, 2]);
    s = updateOnlineState(s, { total: 2, accepted: 0 }, 3, opts);
    expect([s.samples, s.streak]).toEqual([9, -1]);
    s = updateOnlineState(s, { total: 2, accepted: 0 }, 4, opts);
    expect(s.streak).toBe(-2);
    s = updateOnlineState(s, { total: 2, accepted: 1 }, 5, opts);
    expect([s.samples, s.streak]).toEqual([13, 0]);
    expect(decayOnlineState(s, 9, opts)).toMatchObject({ samples: 13, streak: 0 });
  });

  it("reads states saved before samples and streak existed", () => {
    const old: OnlinePromptState = { accepted: 3, rejected: 1, gradNormSum: 0, gradNormCount: 0, time: 0 };
    const s = updateOnlineState(old, { total: 2, accepted: 2 }, 0, opts);
    expect([s.samples, s.streak]).toEqual([6, 1]);
    expect(() => estimateOnline([{ ...old, streak: 0.5 }], 0, opts)).toThrow(/states\[0\]\.streak/);
    expect(() => estimateOnline([{ ...old, samples: -1 }], 0, opts)).toThrow(/states\[0\]\.samples/);
  });

  it("is pure: states are never mutated", () => {
    const s = Object.freeze(updateOnlineState(null, { total: 4, accepted: 2, gradNormSum: 3, gradNormCount: 2 }, 0, opts));
    const t = updateOnlineState(s, { total: 1, accepted: 1, gradNormSum: 1, gradNormCount: 1 }, 1, opts);
    expect(s.accepted).toBe(2);
    expect(t.accepted).toBeCloseTo(2, 12);
  });

  it("rejects bad observations and time going backwards", () => {
    const s = updateOnlineState(null, { total: 4, accepted: 2 }, 5, opts);
    expect(() => updateOnlineState(s, { total: 1, accepted: 0 }, 4, opts)).toThrow(/time went backwards/);
    expect(() => updateOnlineState(null, { total: 2, accepted: 3 }, 0, opts)).toThrow(AllocationInputError);
    expect(() => updateOnlineState(null, { total: 2, accepted: 1, gradNormCount: 2, gradNormSum: 1 }, 0, opts)).toThrow(/gradNormCount/);
    expect(() => updateOnlineState(null, { total: 2, accepted: 1, gradNormSum: Number.NaN, gradNormCount: 1 }, 0, opts)).toThrow(/gradNormSum/);
  });
});

describe("estimateOnline", () => {
  it("shrinks each prompt's mean gradient norm towards the pooled mean; unseen prompts get the pool", () => {
    const frozen = parseGvmOnlineOptions({ halfLife: null, gradPriorWeight: 2 });
    const a = updateOnlineState(null, { total: 4, accepted: 2, gradNormSum: 6, gradNormCount: 2 }, 0, frozen); // mean 3
    const b = updateOnlineState(null, { total: 4, accepted: 3, gradNormSum: 3, gradNormCount: 3 }, 0, frozen); // mean 1
    const e = estimateOnline([a, b, null], 0, frozen);
    const pooled = 9 / 5;
    expect(e.gradPrior).toBeCloseTo(pooled, 12);
    expect(e.gradNorm[0]).toBeCloseTo((6 + 2 * pooled) / (2 + 2), 12);
    expect(e.gradNorm[1]).toBeCloseTo((3 + 2 * pooled) / (3 + 2), 12);
    expect(e.gradNorm[2]).toBeCloseTo(pooled, 12);
    expect(e.acceptRate).toEqual([3 / 6, 4 / 6, 1 / 2]);
    expect(e.evidence).toEqual([4, 4, 0]);
  });

  it("uses a prior of 1 when no prompt has a measured norm", () => {
    expect(estimateOnline([null, null], 0, opts).gradNorm).toEqual([1, 1]);
  });

  it("names the prompt of a corrupt state", () => {
    const bad = { accepted: -1, rejected: 0, gradNormSum: 0, gradNormCount: 0, time: 0 } as OnlinePromptState;
    expect(() => estimateOnline([null, bad], 0, opts)).toThrow(/states\[1\]\.accepted/);
  });
});

describe("gvm-online allocation", () => {
  it("allocates from history without stage 1; never-seen prompts get the prior's share", () => {
    const o = { halfLife: null, gradNorm: "ignore" as const };
    const options = parseGvmOnlineOptions(o);
    const hard = updateOnlineState(null, { total: 20, accepted: 1 }, 0, options); // p ~ 0.09
    const easy = updateOnlineState(null, { total: 20, accepted: 19 }, 0, options); // p ~ 0.91
    const r = allocate("gvm-online", { prompts: 3, online: { now: 3, states: [hard, easy, null] } }, 30, o);
    expect(r.n.reduce((a, b) => a + b, 0)).toBe(30);
    expect(r.n[0]).toBeGreaterThan(r.n[2] as number);
    expect(r.n[2]).toBeGreaterThan(r.n[1] as number);
    expect(r.acceptRate?.[2]).toBe(0.5);
    expect(r.gradNorm).toEqual([1, 1, 1]);
  });

  it("filters on the estimated p and reports the evidence behind it", () => {
    const o = { halfLife: 2, filterThreshold: 0.8 };
    const options = parseGvmOnlineOptions(o);
    const solved = updateOnlineState(null, { total: 8, accepted: 8, gradNormSum: 8, gradNormCount: 8 }, 0, options);
    const r = allocate("gvm-online", { prompts: 2, online: { now: 0, states: [solved, null] } }, 10, o);
    expect(r.status).toEqual(["filtered-threshold", "allocated"]);
    expect(r.n).toEqual([0, 10]);
    expect(r.evidence).toEqual([8, 0]);
  });

  it("requires the history", () => {
    expect(() => allocate("gvm-online", { prompts: 2 }, 4)).toThrow(/online.*required by strategy 'gvm-online'/);
    expect(() => allocate("gvm-online", { prompts: 2, online: { now: 0, states: [null] } }, 4)).toThrow(/1 states for 2 prompts/);
  });
});
