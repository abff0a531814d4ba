/**
 * A run directory: the resolved config, metrics and sample logs as JSON
 * lines, and checkpoints. Built so that `kill -9` at any moment loses
 * nothing: checkpoints are whole directories renamed into place, `latest`
 * is replaced atomically, and on resume the logs are cut back to the last
 * checkpoint's iteration so the redone iteration is not logged twice.
 *
 * Layout:
 *   config.json             resolved config of the run
 *   metrics.jsonl           one object per step / iteration / evaluation, each with "iter"
 *   samples.jsonl           a few responses per iteration, each with "iter"
 *   prompts.jsonl           the training prompt pool: {id, problem, answer, level}
 *   checkpoints/iter-NNNNNN model + optimizer + trainer.json
 *   checkpoints/latest      name of the newest complete checkpoint
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../util/atomic.js";
import { ConfigError, GvmError } from "../util/errors.js";

export class RunDirError extends GvmError {}

export interface CheckpointRef {
  /** Iterations completed when it was written. */
  iter: number;
  dir: string;
}

export class RunDir {
  readonly metricsPath: string;
  readonly samplesPath: string;
  readonly checkpointsPath: string;

  private constructor(readonly path: string) {
    this.metricsPath = join(path, "metrics.jsonl");
    this.samplesPath = join(path, "samples.jsonl");
    this.checkpointsPath = join(path, "checkpoints");
  }

  /**
   * Opens (or creates) a run directory for a resolved config. An existing run
   * must have been started with the same config, else a ConfigError names the
   * fields that differ; its logs are cut back to the latest checkpoint.
   */
  static open(path: string, config: object): { run: RunDir; resume: CheckpointRef | null } {
    const run = new RunDir(path);
    mkdirSync(run.checkpointsPath, { recursive: true });
    const configPath = join(path, "config.json");
    const text = `${JSON.stringify(config, null, 2)}\n`;
    if (existsSync(configPath)) {
      const old = readFileSync(configPath, "utf8");
      if (old !== text) {
        const diffs = diffKeys(JSON.parse(old) as unknown, JSON.parse(text) as unknown, "");
        throw new ConfigError(`${configPath}: this run directory was started with a different config (${diffs.slice(0, 8).join("; ")}); choose another run directory or delete this one`);
      }
    } else {
      atomicWrite(configPath, text);
    }
    const resume = run.latestCheckpoint();
    // Without a checkpoint nothing logged counts (a run killed during its first evaluation starts over).
    run.truncateLogs(resume?.iter ?? -1);
    return { run, resume };
  }

  /** Writes the prompt pool once (allocation records refer to its ids). */
  writePrompts(prompts: readonly { id: string; problem: string; answer: string; level: number | null }[]): void {
    const path = join(this.path, "prompts.jsonl");
    if (!existsSync(path)) atomicWrite(path, prompts.map((p) => `${JSON.stringify(p)}\n`).join(""));
  }

  appendMetrics(record: Record<string, unknown>): void {
    appendFileSync(this.metricsPath, `${JSON.stringify(record)}\n`);
  }

  appendSample(record: Record<string, unknown>): void {
    appendFileSync(this.samplesPath, `${JSON.stringify(record)}\n`);
  }

  /** Reads metrics.jsonl back (every complete line). */
  readMetrics(): Record<string, unknown>[] {
    return readJsonl(this.metricsPath);
  }

  /**
   * Writes checkpoint `iter` through `write(dir)` (which must create the
   * directory atomically, as saveCheckpoint does), then points `latest` at
   * it and prunes all but the newest `keep`.
   */
  commitCheckpoint(iter: number, write: (dir: string) => void, keep = 2): CheckpointRef {
    return this.markLatest(this.writeCheckpoint(iter, write), keep);
  }

  /**
   * Writes checkpoint `iter` without making it the one a rerun resumes
   * from (until markLatest): a rerun after a kill in between redoes the
   * iteration and replaces the directory.
   */
  writeCheckpoint(iter: number, write: (dir: string) => void): CheckpointRef {
    const dir = join(this.checkpointsPath, checkpointName(iter));
    write(dir);
    return { iter, dir };
  }

  /** Points `latest` at a written checkpoint and prunes all but the newest `keep`. */
  markLatest(ref: CheckpointRef, keep = 2): CheckpointRef {
    const name = checkpointName(ref.iter);
    atomicWrite(join(this.checkpointsPath, "latest"), `${name}\n`);
    const all = readdirSync(this.checkpointsPath)
      .filter((n) => /^iter-\d{6}$/.test(n))
      .sort();
    for (const old of all.slice(0, Math.max(0, all.length - keep))) if (old !== name) rmSync(join(this.checkpointsPath, old), { recursive: true, force: true });
    return ref;
  }

  latestCheckpoint(): CheckpointRef | null {
    const latest = join(this.checkpointsPath, "latest");
    if (!existsSync(latest)) return null;
    const name = readFileSync(latest, "utf8").trim();
    const m = /^iter-(\d{6})$/.exec(name);
    const dir = join(this.checkpointsPath, name);
    if (!m || !existsSync(dir)) throw new RunDirError(`${latest}: points at ${JSON.stringify(name)}, which is not a checkpoint in ${this.checkpointsPath}`);
    return { iter: Number(m[1]), dir };
  }

  /** Drops log lines of iterations after `iter` (and a torn last line). */
  private truncateLogs(iter: number): void {
    for (const path of [this.metricsPath, this.samplesPath]) {
      if (!existsSync(path)) continue;
      const kept = readJsonl(path).filter((r) => typeof r.iter === "number" && r.iter <= iter);
      atomicWrite(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
  }
}

function checkpointName(iter: number): string {
  return `iter-${String(iter).padStart(6, "0")}`;
}

function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line torn by a kill mid-write; everything before it is intact.
    }
  }
  return out;
}

function diffKeys(a: unknown, b: unknown, prefix: string): string[] {
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffKeys((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix || "(root)"}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}
