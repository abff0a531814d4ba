/**
 * A run directory: the resolved config, metrics and sample logs as JSON
 * lines, and checkpoints. Built so that `kill -9` at any moment loses
 * nothing: checkpoints are whole directories renamed into place, `latest`
 * is replaced atomically, and on resume the logs are cut back to the
 * checkpoint's iteration so the redone iteration is not logged twice.
 *
 * One process at a time: open() locks the directory (a second `gvm train`
 * on it interleaved its metrics with the first's). A run is opened, its
 * resume point chosen among checkpoints() (the caller loads them and falls
 * back past a damaged one), and only then begun: begin() writes config.json,
 * so a start that fails (a bad model path) leaves nothing that would make
 * the corrected command look like a different run.
 *
 * Layout:
 *   lock                    the holder's PID and host while a process has the run open
 *   config.json             resolved config of the run (path fields absolute)
 *   metrics.jsonl           one object per step / iteration / evaluation, each with "iter"
 *   samples.jsonl           a few responses per iteration, each with "iter"
 *   prompts.jsonl           the training prompt pool: {id, problem, answer, level}
 *   checkpoints/iter-NNNNNN model + optimizer + trainer.json + checksums.sha256
 *   checkpoints/latest      name of the newest complete checkpoint
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { appendLine, atomicWrite, ensureDir } from "../util/atomic.js";
import { ConfigError, describe, fileError, GvmError } from "../util/errors.js";
import { acquireLock, type DirLock } from "../util/lock.js";
import { parseJsonl } from "../util/jsonl.js";
import { defaultLogger, type Logger } from "../util/log.js";

export class RunDirError extends GvmError {}

export interface CheckpointRef {
  /** Iterations completed when it was written. */
  iter: number;
  dir: string;
}

export interface RunDirOptions {
  log?: Logger;
  /** Dotted fields of the config that hold file paths: stored and compared resolved, so `relrun` and `./relrun` are one run. */
  pathFields?: readonly string[];
  /** Dotted fields stored but not compared with the stored config (where the run directory itself is). */
  ignoreFields?: readonly string[];
}

/** Names of temporaries that only a killed writer leaves behind (atomicWrite's, saveCheckpoint's). */
const TEMPORARY = [/^\..+\.tmp-\d+-\d+$/, /^\.iter-\d+\.(tmp|old)-\d+$/];

export class RunDir {
  readonly path: string;
  readonly metricsPath: string;
  readonly samplesPath: string;
  readonly checkpointsPath: string;
  private readonly configPath: string;
  private begun = false;
  private closed = false;

  private constructor(
    path: string,
    private readonly config: object,
    private readonly lock: DirLock,
    /** Directories open() created, deepest first: removed again when the run never began. */
    private readonly created: readonly string[],
    private readonly log: Logger,
  ) {
    this.path = path;
    this.metricsPath = join(path, "metrics.jsonl");
    this.samplesPath = join(path, "samples.jsonl");
    this.checkpointsPath = join(path, "checkpoints");
    this.configPath = join(path, "config.json");
  }

  /**
   * Opens (or creates) and locks a run directory for a resolved config. An
   * existing run must have been started with the same config, else a
   * ConfigError names the fields that differ. Temporaries of a killed run
   * are removed. Nothing is written until begin().
   */
  static open(path: string, config: object, options: RunDirOptions = {}): RunDir {
    const log = options.log ?? defaultLogger();
    const abs = resolve(path);
    const created = missingAncestors(abs);
    ensureDir(abs);
    let lock: DirLock;
    try {
      lock = acquireLock(abs, log);
    } catch (err) {
      removeEmpty(created);
      throw err;
    }
    const resolved = resolvePaths(config, options.pathFields ?? []);
    const run = new RunDir(abs, resolved, lock, created, log);
    try {
      run.checkConfig(options.pathFields ?? [], options.ignoreFields ?? []);
      run.removeTemporaries();
    } catch (err) {
      run.close();
      throw err;
    }
    return run;
  }

  /**
   * Checkpoints a run can resume from, newest first: `latest` and the older
   * ones kept beside it (fallbacks when it is damaged), never one written
   * after it (its iteration's records were not all logged).
   */
  checkpoints(): CheckpointRef[] {
    const latest = this.latestCheckpoint();
    if (latest === null) return [];
    const refs = this.checkpointDirs()
      .filter((r) => r.iter <= latest.iter)
      .reverse();
    if (refs[0]?.iter !== latest.iter) this.log.warn(`${join(this.checkpointsPath, "latest")}: points at ${checkpointName(latest.iter)}, which is missing; older checkpoints are tried instead`);
    return refs;
  }

  /**
   * Starts the run from `resume` (one of checkpoints()) or from scratch:
   * writes config.json the first time, cuts the logs back to the
   * checkpoint's iteration and makes it `latest`.
   */
  begin(resume: CheckpointRef | null): void {
    this.assertOpen("begin");
    if (this.begun) throw new RunDirError(`${this.path}: the run has begun already`);
    if (resume !== null && !this.checkpoints().some((r) => r.iter === resume.iter)) {
      throw new RunDirError(`${resume.dir}: not a checkpoint this run can resume from (see ${join(this.checkpointsPath, "latest")})`);
    }
    ensureDir(this.checkpointsPath);
    if (!existsSync(this.configPath)) atomicWrite(this.configPath, `${JSON.stringify(this.config, null, 2)}\n`);
    this.begun = true;
    const latest = join(this.checkpointsPath, "latest");
    if (resume === null) rmSync(latest, { force: true });
    else if (this.latestCheckpoint()?.iter !== resume.iter) atomicWrite(latest, `${checkpointName(resume.iter)}\n`);
    // Without a checkpoint nothing logged counts (a run killed during its first evaluation starts over).
    this.truncateLogs(resume?.iter ?? -1);
  }

  /** Releases the lock; a run that never began leaves no directory it created. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lock.release();
    if (!this.begun) removeEmpty(this.created);
  }

  /** Writes the prompt pool once (allocation records refer to its ids). */
  writePrompts(prompts: readonly { id: string; problem: string; answer: string; level: number | null }[]): void {
    this.assertBegun("writePrompts");
    const path = join(this.path, "prompts.jsonl");
    if (!existsSync(path)) atomicWrite(path, prompts.map((p) => `${JSON.stringify(p)}\n`).join(""));
  }

  appendMetrics(record: Record<string, unknown>): void {
    this.assertBegun("appendMetrics");
    appendLine(this.metricsPath, JSON.stringify(record));
  }

  appendSample(record: Record<string, unknown>): void {
    this.assertBegun("appendSample");
    appendLine(this.samplesPath, JSON.stringify(record));
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
    this.assertBegun("writeCheckpoint");
    const dir = join(this.checkpointsPath, checkpointName(iter));
    write(dir);
    return { iter, dir };
  }

  /** Points `latest` at a written checkpoint and prunes all but the newest `keep`. */
  markLatest(ref: CheckpointRef, keep = 2): CheckpointRef {
    this.assertBegun("markLatest");
    const name = checkpointName(ref.iter);
    atomicWrite(join(this.checkpointsPath, "latest"), `${name}\n`);
    const all = this.checkpointDirs().map((r) => checkpointName(r.iter));
    for (const old of all.slice(0, Math.max(0, all.length - keep))) {
      if (old === name) continue;
      try {
        rmSync(join(this.checkpointsPath, old), { recursive: true, force: true });
      } catch (err) {
        throw fileError("remove old checkpoint", join(this.checkpointsPath, old), err);
      }
    }
    return ref;
  }

  /** The checkpoint `latest` names (its directory may be missing), or null when there is none yet. */
  latestCheckpoint(): CheckpointRef | null {
    const latest = join(this.checkpointsPath, "latest");
    if (!existsSync(latest)) return null;
    let name: string;
    try {
      name = readFileSync(latest, "utf8").trim();
    } catch (err) {
      throw fileError("read", latest, err);
    }
    const m = /^iter-(\d{6})$/.exec(name);
    if (!m) throw new RunDirError(`${latest}: expected a checkpoint name like "iter-000004", found ${JSON.stringify(name.slice(0, 80))}; write the name of an intact checkpoint in ${this.checkpointsPath} into it`);
    return { iter: Number(m[1]), dir: join(this.checkpointsPath, name) };
  }

  /** Complete checkpoint directories, oldest first. */
  private checkpointDirs(): CheckpointRef[] {
    return listDir(this.checkpointsPath)
      .filter((n) => /^iter-\d{6}$/.test(n))
      .sort()
      .map((n) => ({ iter: Number(n.slice(5)), dir: join(this.checkpointsPath, n) }));
  }

  private checkConfig(pathFields: readonly string[], ignoreFields: readonly string[]): void {
    if (!existsSync(this.configPath)) return;
    let stored: unknown;
    try {
      stored = JSON.parse(readFileSync(this.configPath, "utf8")) as unknown;
    } catch (err) {
      if (err instanceof SyntaxError) throw new RunDirError(`${this.configPath}: not valid JSON (${err.message}); restore it or choose another run directory`, { cause: err });
      throw fileError("read", this.configPath, err);
    }
    if (stored === null || typeof stored !== "object" || Array.isArray(stored)) throw new RunDirError(`${this.configPath}: expected a JSON object`);
    // Paths stored relative (by runs before they were resolved) are read from the working directory.
    const a = omitFields(resolvePaths(stored, pathFields), ignoreFields);
    const b = omitFields(this.config, ignoreFields);
    const diffs = diffKeys(a, b, "");
    if (diffs.length > 0) {
      throw new ConfigError(`${this.configPath}: this run directory was started with a different config (${diffs.slice(0, 8).join("; ")}); choose another run directory or delete this one`);
    }
  }

  /** Removes what killed writers left: checkpoint directories half-written or half-replaced, atomic-write temporaries. */
  private removeTemporaries(): void {
    const removed: string[] = [];
    for (const sub of ["", "checkpoints", "eval-responses"]) {
      const dir = join(this.path, sub);
      for (const name of listDir(dir)) {
        if (!TEMPORARY.some((re) => re.test(name))) continue;
        try {
          rmSync(join(dir, name), { recursive: true, force: true });
        } catch (err) {
          throw fileError("remove temporary", join(dir, name), err);
        }
        removed.push(sub ? `${sub}/${name}` : name);
      }
    }
    if (removed.length > 0) this.log.info(`${this.path}: removed ${removed.length} temporaries of an interrupted run (${removed.join(", ")})`);
  }

  /** Drops log lines of iterations after `iter` (and a torn last line). */
  private truncateLogs(iter: number): void {
    for (const path of [this.metricsPath, this.samplesPath]) {
      if (!existsSync(path)) continue;
      const kept = readJsonl(path).filter((r) => typeof r.iter === "number" && r.iter <= iter);
      atomicWrite(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new RunDirError(`${this.path}: ${op} after close()`);
  }

  private assertBegun(op: string): void {
    this.assertOpen(op);
    if (!this.begun) throw new RunDirError(`${this.path}: ${op} before begin() (nothing is written until the run begins)`);
  }
}

function checkpointName(iter: number): string {
  return `iter-${String(iter).padStart(6, "0")}`;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw fileError("list", dir, err);
  }
}

/** `dir` and its ancestors that do not exist yet, deepest first. */
function missingAncestors(dir: string): string[] {
  const out: string[] = [];
  for (let p = dir; !existsSync(p) && dirname(p) !== p; p = dirname(p)) out.push(p);
  return out;
}

/** Removes directories (deepest first) as long as they are empty. */
function removeEmpty(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // Not empty (something else wrote there) or already gone: leave it.
      return;
    }
  }
}

/** A deep copy with the string values of the dotted `fields` made absolute. */
function resolvePaths<T>(config: T, fields: readonly string[]): T {
  const out = JSON.parse(JSON.stringify(config)) as T;
  for (const field of fields) {
    const keys = field.split(".");
    let obj: unknown = out;
    for (const k of keys.slice(0, -1)) obj = obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>)[k] : undefined;
    const last = keys[keys.length - 1] as string;
    if (obj === null || typeof obj !== "object") continue;
    const rec = obj as Record<string, unknown>;
    const v = rec[last];
    if (typeof v === "string" && v !== "") rec[last] = resolve(v);
  }
  return out;
}

/** A deep copy without the dotted `fields`. */
function omitFields(config: unknown, fields: readonly string[]): unknown {
  const out = JSON.parse(JSON.stringify(config)) as unknown;
  for (const field of fields) {
    const keys = field.split(".");
    let obj: unknown = out;
    for (const k of keys.slice(0, -1)) obj = obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>)[k] : undefined;
    if (obj !== null && typeof obj === "object") delete (obj as Record<string, unknown>)[keys[keys.length - 1] as string];
  }
  return out;
}

function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fileError("read", path, err);
  }
  // A torn last line is left out without a word: truncateLogs cuts it off at begin().
  // Damage is an error: dropping it would rewrite the log without it (truncateLogs), losing records silently.
  const { lines } = parseJsonl(text, path, { damaged: (d) => new RunDirError(`${d.message}; repair or remove that line`, { cause: d.cause }) });
  return lines.map(({ line, value }) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new RunDirError(`${path}:${line}: expected a JSON object (a record with "iter"), found ${describe(value)}`);
    return value as Record<string, unknown>;
  });
}

function diffKeys(a: unknown, b: unknown, prefix: string): string[] {
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffKeys((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${prefix || "(root)"}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}
