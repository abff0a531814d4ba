import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LockHeldError } from "../util/lock.js";
import { Logger } from "../util/log.js";
import { RunDir } from "./rundir.js";

function fresh(): string {
  return join(mkdtempSync(join(tmpdir(), "gvm-run-")), "run");
}

function fakeCheckpoint(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "trainer.json"), "{}");
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

/** Opens, begins (from the newest candidate) and returns the run. */
function started(p: string, config: object): RunDir {
  const run = RunDir.open(p, config);
  run.begin(run.checkpoints()[0] ?? null);
  return run;
}

describe("RunDir", () => {
  it("refuses a different config, naming the fields", () => {
    const p = fresh();
    started(p, { lr: 1, model: { layers: 2 } }).close();
    expect(() => RunDir.open(p, { lr: 2, model: { layers: 2 } })).toThrow(/lr: 1 -> 2/);
    expect(() => RunDir.open(p, { lr: 1, model: { layers: 3 } })).toThrow(/model\.layers: 2 -> 3/);
  });

  it("writes config.json only once the run begins; a start that fails leaves no directory", () => {
    const p = fresh();
    const run = RunDir.open(p, { lr: 1 });
    expect(existsSync(join(p, "config.json"))).toBe(false);
    run.close();
    expect(existsSync(p)).toBe(false);
    RunDir.open(p, { lr: 2 }).close();
    started(p, { lr: 3 }).close();
    expect(JSON.parse(readFileSync(join(p, "config.json"), "utf8"))).toEqual({ lr: 3 });
  });

  it("compares paths resolved and ignores where the run directory itself is", () => {
    const p = fresh();
    const rel = relative(process.cwd(), p);
    const opts = { pathFields: ["runDir", "model"], ignoreFields: ["runDir"] };
    const first = RunDir.open(rel, { runDir: rel, model: "m" }, opts);
    first.begin(null);
    first.close();
    // Stored resolved, so a rerun from another working directory compares the same files.
    expect(JSON.parse(readFileSync(join(p, "config.json"), "utf8"))).toEqual({ runDir: p, model: resolve("m") });
    RunDir.open(`./${rel}`, { runDir: `./${rel}`, model: "./m" }, opts).close();
    RunDir.open(p, { runDir: p, model: resolve("m") }, opts).close();
    expect(() => RunDir.open(p, { runDir: p, model: "other" }, opts)).toThrow(/model: ".*\/m" -> ".*\/other"/);
  });

  it("locks the directory: a second open is refused until the first closes", () => {
    const p = fresh();
    const run = started(p, { a: 1 });
    expect(() => RunDir.open(p, { a: 1 })).toThrow(LockHeldError);
    expect(() => RunDir.open(p, { a: 1 })).toThrow(new RegExp(`PID ${process.pid}`));
    run.close();
    RunDir.open(p, { a: 1 }).close();
  });

  it("resumes from the latest checkpoint and cuts logs back to it, dropping a torn line", () => {
    const p = fresh();
    const run = RunDir.open(p, { a: 1 });
    expect(run.checkpoints()).toEqual([]);
    run.begin(null);
    run.appendMetrics({ iter: 1, acc: 0.1 });
    run.commitCheckpoint(1, fakeCheckpoint);
    run.appendMetrics({ iter: 2, acc: 0.2 });
    run.commitCheckpoint(2, fakeCheckpoint);
    run.appendMetrics({ iter: 3, acc: 0.3 });
    run.appendSample({ iter: 3, text: "x" });
    appendFileSync(run.metricsPath, '{"iter": 3, "acc"');
    run.close();
    const again = RunDir.open(p, { a: 1 });
    expect(again.checkpoints().map((r) => r.iter)).toEqual([2, 1]);
    again.begin(again.checkpoints()[0] ?? null);
    expect(again.readMetrics()).toEqual([
      { iter: 1, acc: 0.1 },
      { iter: 2, acc: 0.2 },
    ]);
    again.close();
  });

  it("offers older checkpoints as fallbacks, never one newer than latest, and points latest at the one resumed", () => {
    const p = fresh();
    const run = started(p, {});
    run.commitCheckpoint(1, fakeCheckpoint);
    run.commitCheckpoint(2, fakeCheckpoint);
    // Written but not yet the resume point (killed before its iteration was logged).
    run.writeCheckpoint(3, fakeCheckpoint);
    run.close();
    const again = RunDir.open(p, {});
    const refs = again.checkpoints();
    expect(refs.map((r) => r.iter)).toEqual([2, 1]);
    again.begin(refs[1] ?? null);
    expect(readFileSync(join(again.checkpointsPath, "latest"), "utf8").trim()).toBe("iter-000001");
    again.close();
  });

  it("removes the temporaries of killed runs when it opens", () => {
    const p = fresh();
    started(p, {}).close();
    const ck = join(p, "checkpoints");
    mkdirSync(join(ck, ".iter-000003.tmp-99999"));
    writeFileSync(join(ck, ".iter-000003.tmp-99999", "model.safetensors"), "x");
    mkdirSync(join(ck, ".iter-000002.old-99999"));
    writeFileSync(join(ck, ".latest.tmp-99999-1700000000000"), "x");
    writeFileSync(join(p, ".metrics.jsonl.tmp-99999-1700000000000"), "x");
    const { log, lines } = capture();
    const run = RunDir.open(p, {}, { log });
    expect(readdirSync(ck).filter((n) => n.startsWith("."))).toEqual([]);
    expect(readdirSync(p).filter((n) => n.startsWith("."))).toEqual([]);
    expect(lines.join("\n")).toMatch(/removed 4 temporaries of an interrupted run .*\.iter-000003\.tmp-99999/);
    run.close();
  });

  it("keeps only the newest checkpoints", () => {
    const p = fresh();
    const run = started(p, {});
    for (let i = 1; i <= 4; i++) run.commitCheckpoint(i, fakeCheckpoint);
    expect(existsSync(join(run.checkpointsPath, "iter-000002"))).toBe(false);
    expect(existsSync(join(run.checkpointsPath, "iter-000003"))).toBe(true);
    expect(run.latestCheckpoint()?.iter).toBe(4);
    run.close();
  });
});
