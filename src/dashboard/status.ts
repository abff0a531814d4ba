/**
 * Whether a run is running, finished or crashed, from what its directory
 * says: the records (did it reach its planned iterations?), the lock file
 * (src/util/lock.ts: PID and host of the process that has it open) and
 * heartbeat.json (src/train/trainer.ts: rewritten once per iteration).
 *
 * The lock decides liveness where it can be checked (same host: is the PID
 * alive?); the heartbeat's age only adds "stalled?" to a live run's detail,
 * because one iteration of a large model can take many minutes and a quiet
 * run is not a dead one. "crashed" means "ended without finishing": a lock
 * left behind by a dead PID (killed), or no lock at all (an error, Ctrl-C
 * handled, or a run stopped early); rerunning the command resumes it.
 */
import { readFileSync } from "node:fs";

export type RunStatus = "running" | "finished" | "crashed";

/** The lock file's holder (src/util/lock.ts writes {pid, host, started, token}). */
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

/** heartbeat.json as the trainer writes it. */
export interface Heartbeat {
  pid: number;
  host: string;
  /** ISO time of the write. */
  time: string;
  /** Iterations completed. */
  iter: number;
}

export interface StatusInput {
  /** The records reached the planned iterations (or sample cap). */
  finished: boolean;
  lock: LockHolder | null;
  heartbeat: Heartbeat | null;
  /** Iterations completed per the records, and planned per config.json (null: unknown). */
  iter: number;
  planned: number | null;
  /** Mean seconds per iteration so far (null: none yet). */
  iterSeconds: number | null;
  /** This machine's host name (a lock from another host cannot be checked). */
  host: string;
  /** Now, in ms since the epoch. */
  now: number;
  alive: (pid: number) => boolean;
}

export interface StatusResult {
  status: RunStatus;
  /** One line a person can act on. */
  detail: string;
}

/** Seconds of silence before a live run reads "stalled?": five iterations' worth, at least ten minutes. */
export function stallAfter(iterSeconds: number | null): number {
  return Math.max(600, 5 * (iterSeconds ?? 0));
}

const ago = (s: number) => (s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

export function runStatus(i: StatusInput): StatusResult {
  const progress = `iteration ${i.iter}${i.planned === null ? "" : ` of ${i.planned}`}`;
  if (i.finished) return { status: "finished", detail: `finished: ${progress}` };
  const beat = i.heartbeat === null ? null : (i.now - Date.parse(i.heartbeat.time)) / 1000;
  const quiet = beat !== null && Number.isFinite(beat) && beat > stallAfter(i.iterSeconds) ? `; no heartbeat for ${ago(beat)} (stalled?)` : "";
  const lastBeat = beat === null || !Number.isFinite(beat) ? "no heartbeat yet" : `last heartbeat ${ago(Math.max(0, beat))} ago`;
  if (i.lock !== null) {
    const who = `PID ${i.lock.pid} on ${i.lock.host}`;
    if (i.lock.host !== i.host) return { status: "running", detail: `running: ${progress}; ${who} (its PID cannot be checked from ${i.host}); ${lastBeat}${quiet}` };
    if (i.alive(i.lock.pid)) return { status: "running", detail: `running: ${progress}; ${who}${quiet}` };
    return { status: "crashed", detail: `crashed: ${who} is gone and left its lock (killed?) at ${progress}; rerun the same command to resume` };
  }
  return { status: "crashed", detail: `crashed: not running, stopped at ${progress} (an error, or stopped early); rerun the same command to resume` };
}

/** Whether a PID runs on this host (EPERM: it does, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A small JSON file as an object, or null when missing or unreadable (being replaced, half-written). */
export function readJsonFile(path: string): Record<string, unknown> | null {
  try {
    const j: unknown = JSON.parse(readFileSync(path, "utf8"));
    return j !== null && typeof j === "object" && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function parseLock(j: Record<string, unknown> | null): LockHolder | null {
  if (j === null || !Number.isInteger(j.pid) || typeof j.host !== "string") return null;
  return { pid: j.pid as number, host: j.host, started: String(j.started ?? "?") };
}

export function parseHeartbeat(j: Record<string, unknown> | null): Heartbeat | null {
  if (j === null || !Number.isInteger(j.pid) || typeof j.time !== "string") return null;
  return { pid: j.pid as number, host: typeof j.host === "string" ? j.host : "?", time: j.time, iter: typeof j.iter === "number" ? j.iter : 0 };
}
