import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { atomicWrite } from "../util/atomic.js";
import { RunState } from "./run.js";
import { JsonlTail } from "./tail.js";

const dir = mkdtempSync(join(tmpdir(), "gvm-tail-"));

describe("following a JSON-lines file", () => {
  it("returns only completed lines, buffering a line (and a UTF-8 character) until its newline", () => {
    const p = join(dir, "a.jsonl");
    writeFileSync(p, '{"a":1}\n{"b":');
    const t = new JsonlTail(p);
    expect(t.read()).toEqual({ reset: false, lines: [{ no: 1, text: '{"a":1}' }] });
    const e = Buffer.from('"é"}\n');
    appendFileSync(p, e.subarray(0, 2));
    expect(t.read().lines).toEqual([]);
    appendFileSync(p, Buffer.concat([e.subarray(2), Buffer.from("\n{}\n")]));
    expect(t.read()).toEqual({ reset: false, lines: [{ no: 2, text: '{"b":"é"}' }, { no: 4, text: "{}" }] });
    expect(t.read().lines).toEqual([]);
  });

  it("starts over when the file is replaced or cut back, and says so", () => {
    const p = join(dir, "b.jsonl");
    writeFileSync(p, "1\n2\n3\n");
    const t = new JsonlTail(p);
    expect(t.read().lines).toHaveLength(3);
    atomicWrite(p, "1\n2\n");
    expect(t.read()).toEqual({ reset: true, lines: [{ no: 1, text: "1" }, { no: 2, text: "2" }] });
    rmSync(p);
    expect(t.read()).toEqual({ reset: true, lines: [] });
    expect(t.read()).toEqual({ reset: false, lines: [] });
  });
});

describe("a run directory in memory", () => {
  it("keeps per-prompt allocation only for the latest iteration, and reads a resumed run's cut-back log afresh", () => {
    const run = join(dir, "run");
    const alloc = (k: number) => ({ ids: ["a", "b"], level: [1, 2], p: [0.5, k / 10], G: [1, 2], n: [3, 4], status: "ok" });
    const it = (iter: number) => ({ kind: "iteration", iter, step: iter, samples: 8 * iter, wallclock: iter, stage1Samples: 4, stage2Samples: 4, trainReward: 0.5, acceptedFrac: 0.5, time: { sampling: 1, scoring: 0, gradNorms: 0, update: 1, eval: 0 }, allocation: alloc(iter) });
    const lines = [{ kind: "run", iter: 0, method: "raftpp", strategy: "gvm", label: "raftpp/gvm", seed: 0, regime: "natural", budget: 8, budgetMode: "inclusive" }, it(1), it(2)];
    atomicWrite(join(run, "metrics.jsonl"), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
    const r = new RunState("r0", run);
    expect(r.refresh()).toBe(true);
    const d = r.runData();
    expect(d?.iterations.map((x) => [x.iter, x.allocation.ids.length, x.allocation.n])).toEqual([[1, 0, [3, 4]], [2, 2, [3, 4]]]);
    appendFileSync(join(run, "metrics.jsonl"), `${JSON.stringify(it(3))}\n`);
    r.refresh();
    expect(r.runData()?.iterations.map((x) => x.allocation.p.length)).toEqual([0, 0, 2]);
    expect(r.summary().iter).toBe(3);
    // A resume cuts the log back to its checkpoint (a new file): the run is read again from the start.
    atomicWrite(join(run, "metrics.jsonl"), lines.slice(0, 2).map((l) => `${JSON.stringify(l)}\n`).join(""));
    r.refresh();
    expect(r.runData()?.iterations.map((x) => x.iter)).toEqual([1]);
    expect(r.summary()).toMatchObject({ iter: 1, status: "crashed", planned: null });
  });
});
