/**
 * A lock file on a directory, so two processes never write one run
 * directory at once (two `gvm train` on it interleaved their metrics). The
 * file names its holder (PID, host, start time) and carries a random token,
 * so release removes only our own lock. A lock whose holder was killed is
 * taken over when the PID is on this host and no longer running; one from
 * another host cannot be checked and is refused with how to clear it.
 */
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileError, GvmError } from "./errors.js";
import type { Logger } from "./log.js";

/** The directory is locked by a live process (or one that cannot be checked). */
export class LockHeldError extends GvmError {}

export const LOCK_FILE = "lock";

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  token: string;
}

export interface DirLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file, unless another process has taken it over since. */
  release(): void;
}

/** Whether a process with this PID runs on this host (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The lock's holder, or null when no lock file exists; an unreadable file is an error (never guess). */
function readLock(path: string): LockInfo | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fileError("read", path, err);
  }
  try {
    const j = JSON.parse(text) as Partial<LockInfo> | null;
    if (j !== null && Number.isInteger(j.pid) && typeof j.host === "string" && typeof j.token === "string") {
      return { pid: j.pid as number, host: j.host, started: String(j.started ?? "?"), token: j.token };
    }
  } catch {
    // Reported below.
  }
  throw new LockHeldError(`${path}: the lock file cannot be read (expected {"pid", "host", "token"}); if no process is using this directory, delete it`);
}

/**
 * Creates the lock file with its whole content at once: written beside it,
 * then hard-linked into place (link fails if the lock exists), so no reader
 * ever sees a half-written lock.
 */
function tryCreate(path: string, text: string): boolean {
  const tmp = `${path}-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(tmp, text);
  } catch (err) {
    throw fileError("create lock file", path, err);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw fileError("create lock file", path, err);
    // No hard links on this file system: exclusive create (a reader may glimpse it empty).
    try {
      writeFileSync(path, text, { flag: "wx" });
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw fileError("create lock file", path, err2);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

function holder(info: LockInfo): string {
  return `PID ${info.pid} on ${info.host}, since ${info.started}`;
}

/** Locks `dir` (which must exist) for this process, or throws LockHeldError naming the holder and the lock file. */
export function acquireLock(dir: string, log: Logger): DirLock {
  const path = join(dir, LOCK_FILE);
  const host = hostname();
  const mine: LockInfo = { pid: process.pid, host, started: new Date().toISOString(), token: randomBytes(12).toString("hex") };
  const text = `${JSON.stringify(mine)}\n`;
  // A stale lock is moved aside on one pass and ours created on the next; a third covers one lost race.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, text)) {
      return {
        path,
        release: () => {
          try {
            if (readLock(path)?.token === mine.token) rmSync(path, { force: true });
          } catch {
            // Someone else's (or a damaged) lock: not ours to remove.
          }
        },
      };
    }
    const held = readLock(path);
    if (held === null) continue;
    if (held.host !== host) {
      throw new LockHeldError(`${path}: the run directory is locked by ${holder(held)}; its PID cannot be checked from ${host}. If that run has ended, delete ${path}`);
    }
    if (alive(held.pid)) throw new LockHeldError(`${path}: the run directory is in use by ${holder(held)}; wait for it to finish or stop it first`);
    // Moved aside rather than deleted, so a lock another process created in the meantime is not lost.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw fileError("remove stale lock", path, err);
    }
    let moved: LockInfo | null = null;
    try {
      moved = readLock(aside);
    } catch {
      // Unreadable: not the lock we judged stale.
    }
    if (moved?.token !== held.token) {
      try {
        linkSync(aside, path);
      } catch {
        // A newer lock is in place already.
      }
      rmSync(aside, { force: true });
      continue;
    }
    rmSync(aside, { force: true });
    log.warn(`${path}: took over the stale lock of ${holder(held)}, which is no longer running (killed?)`);
  }
  const last = readLock(path);
  throw new LockHeldError(`${path}: could not lock the run directory${last ? ` (held by ${holder(last)})` : ""}; another process keeps taking it`);
}
