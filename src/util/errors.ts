/**
 * Typed errors. Every error gvm throws on purpose is a GvmError whose message
 * says what was wrong and where (file, line, field, op, shapes), so a user
 * can act on it without reading the source.
 */
export class GvmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad configuration or command-line usage; the CLI exits with code 2. */
export class ConfigError extends GvmError {}

/** Input data that cannot be read as promised (file, line, field named). */
export class DataError extends GvmError {}

/** Formats a value for an error message: short, unambiguous. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  if (value === null || value === undefined || typeof value !== "object") return String(value);
  try {
    const s = JSON.stringify(value);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A file or directory that cannot be read or written: the path, the operation and the cause. */
export class FileError extends GvmError {}

/** Plain words for the errno codes a run meets on a full, read-only or locked-down disk. */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a component of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  EMFILE: "too many open files",
  EIO: "input/output error",
  ENAMETOOLONG: "file name too long",
};

/**
 * Wraps an fs error so its message names the path and the operation: Node's
 * own say `ENOSPC: no space left on device, write` with no path at all.
 * Typed errors and programming errors (ERR_*: bad arguments) pass through.
 */
export function fileError(op: string, path: string, err: unknown): Error {
  if (err instanceof GvmError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code === undefined || code.startsWith("ERR_")) return err instanceof Error ? err : new Error(String(err));
  const words = ERRNO_WORDS[code] ?? (e as Error).message;
  return new FileError(`${path}: cannot ${op}: ${words} (${code})`, { cause: err });
}

/** The message of a thrown value, which need not be an Error (a rejected promise, a thrown string). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
