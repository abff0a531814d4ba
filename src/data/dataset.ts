/**
 * Question/answer datasets from JSONL or Parquet with field mapping: which
 * field holds the question, the answer, the id and (optionally) a level.
 * Field names may be dotted paths into nested records
 * ("reward_model.ground_truth"); a key that itself contains dots is matched
 * first. A question may also be a chat (a list of {role, content}
 * messages, as in verl's parquet files): its last user message is taken.
 *
 * A row that does not fit the mapping (missing field, wrong type, duplicate
 * id, or rejected by the caller's `map`) is an error naming the file and
 * line/row, or, with skipInvalid, a counted skip that is logged and
 * returned.
 */
import { DataError, describe, GvmError } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { formatRef, readTable, type RowRef, type SkippedRow, type TableFormat } from "./table.js";

export interface FieldMap {
  /** Field with the question text (or a chat message list). */
  question: string;
  /** Field with the gold answer (any JSON value; callers apply their gold rule). */
  answer: string;
  /** Field with a unique id; default: the row's line/row number. */
  id?: string;
  /** Field with a difficulty level or category, kept as a string. */
  level?: string;
}

/** The field names MATH-style rows use, the default wherever a dataset is named without its fields. */
export const DEFAULT_FIELDS = { question: "problem", answer: "answer" } as const;

/** A FieldMap from names that may be absent (null or undefined: the rows have no such field). */
export function fieldMap(f: { question: string; answer: string; id?: string | null | undefined; level?: string | null | undefined }): FieldMap {
  return { question: f.question, answer: f.answer, ...(f.id != null ? { id: f.id } : {}), ...(f.level != null ? { level: f.level } : {}) };
}

export interface DatasetRow {
  id: string;
  question: string;
  /** The answer field as stored (string, number, list, ...). */
  answer: unknown;
  level: string | null;
  ref: RowRef;
  /** The whole record, for callers that need more fields. */
  values: Record<string, unknown>;
}

export interface DatasetOptions<T> {
  fields: FieldMap;
  format?: TableFormat;
  skipInvalid?: boolean;
  /** Turns a mapped row into the caller's item; throw a DataError (no location needed) to reject the row. */
  map?: (row: DatasetRow) => T;
  logger?: Logger;
}

export interface Dataset<T> {
  file: string;
  items: T[];
  /** Rows skipped under skipInvalid, with reasons. */
  skipped: SkippedRow[];
}

/** Thrown by field access; carries no location (the loader adds it). */
export class FieldError extends GvmError {}

/** The value at a dotted path, or undefined when any part is missing. */
export function getField(values: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(values, path)) return values[path];
  const dot = path.indexOf(".");
  if (dot < 0) return undefined;
  // Longest literal prefix first, so keys containing dots still resolve.
  for (let cut = path.lastIndexOf("."); cut > 0; cut = path.lastIndexOf(".", cut - 1)) {
    const head = path.slice(0, cut);
    if (!Object.hasOwn(values, head)) continue;
    const next = values[head];
    if (next === null || typeof next !== "object" || Array.isArray(next)) return undefined;
    return getField(next as Record<string, unknown>, path.slice(cut + 1));
  }
  return undefined;
}

function requireField(values: Record<string, unknown>, path: string, role: string): unknown {
  const v = getField(values, path);
  if (v === undefined) {
    const keys = Object.keys(values);
    throw new FieldError(`missing ${role} field '${path}' (fields here: ${keys.slice(0, 12).join(", ")}${keys.length > 12 ? ", ..." : ""})`);
  }
  return v;
}

/** Question text from a string or the last user message of a chat. */
export function questionText(v: unknown, path: string): string {
  if (typeof v === "string") {
    if (v.trim() === "") throw new FieldError(`question field '${path}' is empty`);
    return v;
  }
  if (Array.isArray(v) && v.length > 0 && v.every((m) => m !== null && typeof m === "object" && typeof (m as { content?: unknown }).content === "string")) {
    const messages = v as { role?: unknown; content: string }[];
    const user = [...messages].reverse().find((m) => m.role === "user");
    if (!user) throw new FieldError(`question field '${path}' is a chat with no user message`);
    return user.content;
  }
  throw new FieldError(`question field '${path}' must be a string or a list of {role, content} messages, got ${describe(v)}`);
}

function idText(v: unknown, path: string): string {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw new FieldError(`id field '${path}' must be a non-empty string or a number, got ${describe(v)}`);
}

function levelText(v: unknown, path: string): string | null {
  if (v === null) return null;
  if (typeof v === "string" || typeof v === "number") return String(v);
  throw new FieldError(`level field '${path}' must be a string or a number, got ${describe(v)}`);
}

/** Loads a dataset, mapping fields; see the module comment for the error and skip rules. */
export async function loadDataset<T = DatasetRow>(file: string, options: DatasetOptions<T>): Promise<Dataset<T>> {
  const skipInvalid = options.skipInvalid ?? false;
  const table = await readTable(file, { ...(options.format ? { format: options.format } : {}), skipInvalid });
  const skipped = [...table.skipped];
  const items: T[] = [];
  const seen = new Map<string, RowRef>();
  const { fields } = options;
  for (const { ref, values } of table.rows) {
    try {
      const id = fields.id === undefined ? String(ref.index) : idText(requireField(values, fields.id, "id"), fields.id);
      const earlier = seen.get(id);
      if (earlier) throw new FieldError(`duplicate id ${JSON.stringify(id)} (first at ${formatRef(earlier)})`);
      const row: DatasetRow = {
        id,
        question: questionText(requireField(values, fields.question, "question"), fields.question),
        answer: requireField(values, fields.answer, "answer"),
        level: fields.level === undefined ? null : levelText(requireField(values, fields.level, "level"), fields.level),
        ref,
        values,
      };
      const item = options.map ? options.map(row) : (row as unknown as T);
      seen.set(id, ref);
      items.push(item);
    } catch (err) {
      if (!(err instanceof FieldError || err instanceof DataError)) throw err;
      if (!skipInvalid) throw new DataError(`${formatRef(ref)}: ${err.message}`);
      skipped.push({ ref, reason: err.message });
    }
  }
  if (skipped.length > 0) {
    const first = skipped[0] as SkippedRow;
    (options.logger ?? defaultLogger()).warn(
      `${file}: skipped ${skipped.length} invalid row${skipped.length > 1 ? "s" : ""} of ${table.rows.length + table.skipped.length} (first: ${formatRef(first.ref)}: ${first.reason})`,
    );
  }
  return { file, items, skipped };
}
