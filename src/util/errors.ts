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
