import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CheckpointError } from "../model/index.js";
import { Logger } from "../util/log.js";
import { chooseResumePoint, readTrainerState, type ResumePoint } from "./resume.js";
import { type CheckpointRef, RunDir } from "./rundir.js";

const GOOD = { iter: 2, step: 4, samples: 64, tokens: 900, wallclock: 1.5, online: [["p1", { accepted: 1, rejected: 0.5, gradNormSum: 0, gradNormCount: 0, time: 2 }]] };

function stateFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "gvm-state-")), "trainer.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

describe("trainer.json", () => {
  it("reads a valid state (tokens default to 0 for old checkpoints)", () => {
    expect(readTrainerState(stateFile(GOOD), 2)).toEqual(GOOD);
    const { tokens: _, ...old } = GOOD;
    expect(readTrainerState(stateFile(old), 2).tokens).toBe(0);
  });

  it("reads where the prompt stream stood (absent in older checkpoints)", () => {
    expect(readTrainerState(stateFile({ ...GOOD, promptsDrawn: 40 }), 2).promptsDrawn).toBe(40);
    expect(readTrainerState(stateFile(GOOD), 2).promptsDrawn).toBeUndefined();
    expect(() => readTrainerState(stateFile({ ...GOOD, promptsDrawn: -3 }), 2)).toThrow(/field "promptsDrawn" must be an integer >= 0, found -3/);
  });

  it("names the file and the field that is wrong", () => {
    const path = stateFile({ ...GOOD, online: undefined });
    expect(() => readTrainerState(path, 2)).toThrow(new RegExp(`${path}: field "online" must be a list`));
    expect(() => readTrainerState(stateFile({ ...GOOD, online: [["p1", { accepted: 1 }]] }), 2)).toThrow(/trainer\.json: field "online\[0\]\[1\]\.rejected" must be a finite number, found undefined/);
    expect(() => readTrainerState(stateFile({ ...GOOD, step: -1 }), 2)).toThrow(/field "step" must be an integer >= 0, found -1/);
    expect(() => readTrainerState(stateFile({ ...GOOD, iter: 3 }), 2)).toThrow(/field "iter" is 3, but the checkpoint is that of iteration 2/);
    expect(() => readTrainerState(stateFile('{"iter": 2, "st'), 2)).toThrow(/trainer\.json: not valid JSON/);
    expect(() => readTrainerState(stateFile([]), 2)).toThrow(/trainer\.json: expected a JSON object/);
  });
});

describe("choosing the resume point", () => {
  function runWith(iters: number[]): RunDir {
    const run = RunDir.open(join(mkdtempSync(join(tmpdir(), "gvm-choose-")), "run"), {}, { log: capture().log });
    run.begin(null);
    for (const i of iters) run.commitCheckpoint(i, (dir) => mkdirSync(dir), 3);
    return run;
  }

  it("falls back past a damaged latest, naming both", () => {
    const run = runWith([1, 2, 3]);
    const { log, lines } = capture();
    const load = (ref: CheckpointRef): ResumePoint => {
      if (ref.iter === 3) throw new CheckpointError(`${ref.dir}/model.safetensors: SHA-256 ffff does not match`);
      return { ref } as ResumePoint;
    };
    expect(chooseResumePoint(run, log, load)?.ref.iter).toBe(2);
    expect(lines.join("\n")).toMatch(/\[warn\] checkpoint .*iter-000003 is damaged .*model\.safetensors: SHA-256.*; falling back to .*iter-000002/);
    run.close();
  });

  it("stops when no checkpoint is intact instead of starting over on the logs", () => {
    const run = runWith([1, 2]);
    const load = (ref: CheckpointRef): ResumePoint => {
      throw new CheckpointError(`${ref.dir}: broken`);
    };
    expect(() => chooseResumePoint(run, capture().log, load)).toThrow(/no intact checkpoint to resume from:\n.*iter-000002: .*broken\n.*iter-000001: .*broken\nRestore one, or delete/);
    run.close();
  });

  it("does not mistake a bug for damage", () => {
    const run = runWith([1, 2]);
    const load = (): ResumePoint => {
      throw new TypeError("x is undefined");
    };
    expect(() => chooseResumePoint(run, capture().log, load)).toThrow(TypeError);
    run.close();
  });

  it("starts from scratch when there is no checkpoint yet", () => {
    const run = RunDir.open(join(mkdtempSync(join(tmpdir(), "gvm-choose-")), "run"), {});
    expect(chooseResumePoint(run, capture().log)).toBeNull();
    run.close();
  });
});
