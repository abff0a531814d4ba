import { appendFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunDir } from "./rundir.js";

function fresh(): string {
  return join(mkdtempSync(join(tmpdir(), "gvm-run-")), "run");
}

function fakeCheckpoint(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "trainer.json"), "{}");
}

describe("RunDir", () => {
  it("refuses a different config, naming the fields", () => {
    const p = fresh();
    RunDir.open(p, { lr: 1, model: { layers: 2 } });
    expect(() => RunDir.open(p, { lr: 2, model: { layers: 2 } })).toThrow(/lr: 1 -> 2/);
    expect(() => RunDir.open(p, { lr: 1, model: { layers: 3 } })).toThrow(/model\.layers: 2 -> 3/);
  });

  it("resumes from the latest checkpoint and cuts logs back to it, dropping a torn line", () => {
    const p = fresh();
    const { run, resume } = RunDir.open(p, { a: 1 });
    expect(resume).toBeNull();
    run.appendMetrics({ iter: 1, acc: 0.1 });
    run.commitCheckpoint(1, fakeCheckpoint);
    run.appendMetrics({ iter: 2, acc: 0.2 });
    run.commitCheckpoint(2, fakeCheckpoint);
    run.appendMetrics({ iter: 3, acc: 0.3 });
    run.appendSample({ iter: 3, text: "x" });
    appendFileSync(run.metricsPath, '{"iter": 3, "acc"');
    const again = RunDir.open(p, { a: 1 });
    expect(again.resume?.iter).toBe(2);
    expect(again.run.readMetrics()).toEqual([
      { iter: 1, acc: 0.1 },
      { iter: 2, acc: 0.2 },
    ]);
  });

  it("keeps only the newest checkpoints", () => {
    const p = fresh();
    const { run } = RunDir.open(p, {});
    for (let i = 1; i <= 4; i++) run.commitCheckpoint(i, fakeCheckpoint);
    expect(existsSync(join(run.checkpointsPath, "iter-000002"))).toBe(false);
    expect(existsSync(join(run.checkpointsPath, "iter-000003"))).toBe(true);
    expect(run.latestCheckpoint()?.iter).toBe(4);
  });
});
