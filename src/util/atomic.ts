/**
 * Atomic file writes: data goes to a temporary file in the same directory,
 * is fsynced, then renamed over the target, so a crash (or kill -9) leaves
 * either the old file or the new one, never a torn one. Every failure is a
 * FileError naming the target path and the cause (ENOSPC, EROFS, EACCES...).
 */
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FileError, fileError } from "./errors.js";

export type Chunks = Uint8Array | string | (() => Iterable<Uint8Array | string>);

/** The temporary atomicWrite writes `path` through: `.name.tmp-PID-MS` beside it (cleaners match this). */
export function atomicTempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

export function atomicWrite(path: string, content: Chunks): void {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = atomicTempName(path);
  let fd: number;
  try {
    fd = openSync(tmp, "w");
  } catch (err) {
    throw fileError("write", path, err);
  }
  try {
    const chunks = typeof content === "function" ? content() : [content];
    for (const chunk of chunks) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw fileError("write", path, err);
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError("write", path, err);
  }
  try {
    const dfd = openSync(dir, "r");
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Directory fsync is unsupported on some filesystems; the rename is still atomic.
  }
}

/**
 * Appends one line (a newline is added). A kill or a full disk can leave the
 * line torn; readers of JSON lines skip a torn last line.
 */
export function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, `${line}\n`);
  } catch (err) {
    throw fileError("append", path, err);
  }
}

/** mkdir -p whose errors name the directory and, when a file is in the way, that file. */
export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") {
      const blocker = firstNonDirectory(dir);
      if (blocker !== null) throw new FileError(`${dir}: cannot create directory: ${blocker} is not a directory`, { cause: err });
    }
    throw fileError("create directory", dir, err);
  }
}

/** The nearest existing ancestor of `dir` (or `dir` itself) that is not a directory, if any. */
function firstNonDirectory(dir: string): string | null {
  for (let p = dir; ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? null : p;
    } catch {
      // Does not exist: look further up.
    }
    if (dirname(p) === p) return null;
  }
}
