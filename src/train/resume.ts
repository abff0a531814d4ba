/**
 * Choosing where a rerun continues: the newest checkpoint whose files are
 * intact (manifest, finite weights and moments, a trainer.json whose every
 * field is what the trainer wrote). A damaged `latest` (4 KB of 0xFF written
 * into its weights once resumed silently on NaN) falls back to the one kept
 * before it, with a warning naming both; when none is intact the run stops
 * rather than start over on top of the logs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { OnlinePromptState } from "../gvm/index.js";
import { type LlamaModel, loadModel, loadOptimizerState, verifyCheckpointFiles } from "../model/index.js";
import type { AdamWState } from "../tensor/index.js";
import { describe, fileError, GvmError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { CheckpointRef, RunDir } from "./rundir.js";

export class ResumeError extends GvmError {}

/** What survives in trainer.json beside each checkpoint. */
export interface TrainerState {
  iter: number;
  step: number;
  samples: number;
  /** Generated response tokens (0 when resuming a checkpoint written before they were counted). */
  tokens: number;
  wallclock: number;
  /**
   * Prompts taken from the run's prompt stream so far: m per iteration, plus
   * any a strategy drew for extra rounds (dapo). Absent in checkpoints
   * written before it was kept: iter x rl.promptsPerIter.
   */
  promptsDrawn?: number;
  online: Array<[string, OnlinePromptState]>;
}

/** A checkpoint read whole: what the trainer needs to continue from it. */
export interface ResumePoint {
  ref: CheckpointRef;
  state: TrainerState;
  model: LlamaModel;
  optimizer: AdamWState;
}

const ONLINE_FIELDS = ["accepted", "rejected", "gradNormSum", "gradNormCount", "time"] as const;

/** Parses trainer.json of checkpoint `iter`; every field is checked, and a bad one is named with the file. */
export function readTrainerState(path: string, iter: number): TrainerState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fileError("read", path, err);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    throw new ResumeError(`${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new ResumeError(`${path}: expected a JSON object, found ${describe(j)}`);
  const o = j as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new ResumeError(`${path}: field "${field}" must be ${want}, found ${describe(pick(o, field))}`);
  };
  const count = (field: string): number => {
    const v = o[field];
    return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : bad(field, "an integer >= 0");
  };
  const state: TrainerState = {
    iter: count("iter"),
    step: count("step"),
    samples: count("samples"),
    tokens: o.tokens === undefined ? 0 : count("tokens"),
    wallclock: typeof o.wallclock === "number" && Number.isFinite(o.wallclock) && o.wallclock >= 0 ? o.wallclock : bad("wallclock", "a number of seconds >= 0"),
    ...(o.promptsDrawn === undefined ? {} : { promptsDrawn: count("promptsDrawn") }),
    online: [],
  };
  if (state.iter !== iter) throw new ResumeError(`${path}: field "iter" is ${state.iter}, but the checkpoint is that of iteration ${iter}`);
  if (!Array.isArray(o.online)) bad("online", "a list of [prompt id, state] pairs");
  (o.online as unknown[]).forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") bad(`online[${i}]`, "a [prompt id, state] pair");
    const [id, s] = entry as [string, unknown];
    if (s === null || typeof s !== "object") bad(`online[${i}][1]`, `an object with ${ONLINE_FIELDS.join(", ")}`);
    const rec = s as Record<string, unknown>;
    for (const f of ONLINE_FIELDS) {
      const v = rec[f];
      if (typeof v !== "number" || !Number.isFinite(v)) bad(`online[${i}][1].${f}`, "a finite number");
    }
    state.online.push([id, s as OnlinePromptState]);
  });
  return state;
}

/** The value at a field path like `online[3][1].time`, for error messages. */
function pick(o: Record<string, unknown>, field: string): unknown {
  let v: unknown = o;
  for (const key of field.split(/[.[\]]+/).filter((k) => k !== "")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Reads a checkpoint whole (checksums first), or throws naming the file and what is wrong with it. */
export function loadResumePoint(ref: CheckpointRef): ResumePoint {
  verifyCheckpointFiles(ref.dir, ["trainer.json"]);
  const state = readTrainerState(join(ref.dir, "trainer.json"), ref.iter);
  const model = loadModel(ref.dir);
  const optimizer = loadOptimizerState(ref.dir);
  if (!optimizer) throw new ResumeError(`${ref.dir}: checkpoint has no optimizer.safetensors`);
  return { ref, state, model, optimizer };
}

/**
 * The newest intact checkpoint of the run (null: none yet, start from
 * scratch). Each damaged one is skipped with a warning naming it, why, and
 * the one tried next.
 */
export function chooseResumePoint(run: RunDir, log: Logger, load: (ref: CheckpointRef) => ResumePoint = loadResumePoint): ResumePoint | null {
  const refs = run.checkpoints();
  const failures: string[] = [];
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i] as CheckpointRef;
    try {
      return load(ref);
    } catch (err) {
      // Bugs are not damage: only typed errors (checksums, safetensors, trainer.json, file access) fall back.
      if (!(err instanceof GvmError)) throw err;
      failures.push(`${ref.dir}: ${err.message}`);
      const next = refs[i + 1];
      if (next) log.warn(`checkpoint ${ref.dir} is damaged and cannot be resumed (${err.message}); falling back to ${next.dir}`);
    }
  }
  if (refs.length > 0) {
    throw new ResumeError(`${run.checkpointsPath}: no intact checkpoint to resume from:\n  ${failures.join("\n  ")}\nRestore one, or delete ${run.path} to start the run over`);
  }
  return null;
}
