/**
 * The one JSONL reader: one JSON value per line, blank lines ignored, and
 * one policy for a line that does not parse, fitted to the append-only logs
 * gvm writes (each append is whole lines ending in "\n"):
 *
 * - The last line, when it lacks its "\n" and does not parse, is a torn
 *   write: the writer was killed mid-append or is still at work. With
 *   `tornTail: "skip"` (the default) it is left out and returned as `torn`,
 *   so the caller can warn and cut it off before appending again. With
 *   `tornTail: "error"` it is damage like any other line: for input files a
 *   user hands over, which nobody appends to, a cut-off line means a broken
 *   file.
 * - Any other line that does not parse is damage: an error naming the file
 *   and line (or, when the caller's `damaged` returns null, a line it skips
 *   and accounts for itself). A line that ends in "\n" was written whole, so
 *   it is damage even when it is the last one.
 *
 * Reading the file stays with the caller (sync or async, and its own words
 * for a file that is missing); what a value must look like too.
 */
import { DataError, errorMessage } from "./errors.js";

/** What a cut-off last line that does not parse is: a torn write to skip, or damage. */
export type TornTail = "skip" | "error";

/** A line that does not parse and is not a skipped torn tail. */
export interface DamagedLine {
  file: string;
  /** 1-based line number. */
  line: number;
  /** JSON.parse's words for what is wrong. */
  reason: string;
  /** The standard message: `file:line: not valid JSON (reason)`, saying "not a torn last line" where torn lines are skipped. */
  message: string;
  cause: unknown;
}

export interface JsonlOptions {
  /** A last line cut off before its "\n" that does not parse: "skip" (default) or "error". */
  tornTail?: TornTail;
  /**
   * The error for a damaged line (default: a DataError with the standard
   * message); returning null skips the line instead (a caller that collects
   * bad rows).
   */
  damaged?: (d: DamagedLine) => Error | null;
}

export interface JsonlLine {
  /** 1-based line number. */
  line: number;
  /** The line as written (without its "\n"). */
  text: string;
  value: unknown;
}

export interface JsonlRead {
  lines: JsonlLine[];
  /** The skipped torn last line; `offset` is where it starts in the text, so text.slice(0, offset) is what was written whole. */
  torn: { line: number; text: string; offset: number } | null;
}

export function parseJsonl(text: string, file: string, options: JsonlOptions = {}): JsonlRead {
  const tornTail = options.tornTail ?? "skip";
  const raw = text.split("\n");
  const lines: JsonlLine[] = [];
  let torn: JsonlRead["torn"] = null;
  let offset = 0;
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i] as string;
    const start = offset;
    offset += line.length + 1;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      // Only the final piece of split("\n") lacks its newline.
      if (tornTail === "skip" && i === raw.length - 1) {
        torn = { line: i + 1, text: line, offset: start };
        continue;
      }
      const reason = errorMessage(err);
      const where = `${file}:${i + 1}`;
      const message = tornTail === "skip" ? `${where}: not valid JSON (${reason}), and not a torn last line: the file is damaged` : `${where}: not valid JSON (${reason})`;
      const d: DamagedLine = { file, line: i + 1, reason, message, cause: err };
      const error = options.damaged ? options.damaged(d) : new DataError(message, { cause: err });
      if (error === null) continue;
      throw error;
    }
    lines.push({ line: i + 1, text: line, value });
  }
  return { lines, torn };
}
