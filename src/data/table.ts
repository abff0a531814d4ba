/**
 * Reading tables of records from JSONL or Parquet files, row by row, with
 * every row tagged by where it came from (file and line, or file and row) so
 * an error points at the exact record. Invalid rows either stop the read
 * with a DataError or, in skip-invalid mode, are counted and returned with
 * their reasons: nothing is dropped silently.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { DataError, describe, errorMessage } from "../util/errors.js";
import { parseJsonl } from "../util/jsonl.js";

export type TableFormat = "jsonl" | "parquet";

/** Where a row came from: a 1-based line of a JSONL file or a 1-based row of a Parquet file. */
export interface RowRef {
  file: string;
  unit: "line" | "row";
  index: number;
}

/** "data.jsonl:12" or "data.parquet row 12". */
export function formatRef(ref: RowRef): string {
  return ref.unit === "line" ? `${ref.file}:${ref.index}` : `${ref.file} row ${ref.index}`;
}

export interface RawRow {
  ref: RowRef;
  values: Record<string, unknown>;
}

export interface SkippedRow {
  ref: RowRef;
  reason: string;
}

export interface TableReadOptions {
  /** Format; by default from the extension (.jsonl/.ndjson/.json -> jsonl, .parquet/.pq -> parquet). A .json file holding one array is read as that array's records. */
  format?: TableFormat;
  /** Skip (and count) malformed rows instead of failing on the first. */
  skipInvalid?: boolean;
}

export interface TableRead {
  rows: RawRow[];
  skipped: SkippedRow[];
}

/** The format of a data file from its extension. */
export function tableFormat(file: string): TableFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new DataError(`${file}: unknown data format '${ext || "(no extension)"}'; expected .jsonl or .parquet`);
}

/** Reads every row of a JSONL or Parquet file. */
export async function readTable(file: string, options: TableReadOptions = {}): Promise<TableRead> {
  const format = options.format ?? tableFormat(file);
  return format === "jsonl" ? readJsonlTable(file, options.skipInvalid ?? false) : readParquetTable(file);
}

async function readJsonlTable(file: string, skipInvalid: boolean): Promise<TableRead> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(`${file}: cannot read (${errorMessage(err)})`);
  }
  if (extname(file).toLowerCase() === ".json" && text.trimStart().startsWith("[")) return readJsonArray(file, text, skipInvalid);
  const rows: RawRow[] = [];
  const skipped: SkippedRow[] = [];
  const bad = (ref: RowRef, reason: string): DataError | null => {
    if (!skipInvalid) return new DataError(`${formatRef(ref)}: ${reason}`);
    skipped.push({ ref, reason });
    return null;
  };
  // A data file, not a log: a cut-off last line is as broken as any other.
  const { lines } = parseJsonl(text, file, { tornTail: "error", damaged: (d) => bad({ file, unit: "line", index: d.line }, `not valid JSON (${d.reason})`) });
  for (const { line, value } of lines) {
    const ref: RowRef = { file, unit: "line", index: line };
    if (value !== null && typeof value === "object" && !Array.isArray(value)) rows.push({ ref, values: value as Record<string, unknown> });
    else {
      const error = bad(ref, `expected a JSON object, got ${describe(value)}`);
      if (error) throw error;
    }
  }
  // Bad JSON is found before bad values: report the skipped rows in file order.
  skipped.sort((a, b) => a.ref.index - b.ref.index);
  return { rows, skipped };
}

/** A .json file holding one array of records: rows numbered from 1. */
function readJsonArray(file: string, text: string, skipInvalid: boolean): TableRead {
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${file}: not valid JSON (${errorMessage(err)})`);
  }
  const rows: RawRow[] = [];
  const skipped: SkippedRow[] = [];
  (items as unknown[]).forEach((value, i) => {
    const ref: RowRef = { file, unit: "row", index: i + 1 };
    if (value !== null && typeof value === "object" && !Array.isArray(value)) rows.push({ ref, values: value as Record<string, unknown> });
    else {
      const reason = `expected a JSON object, got ${describe(value)}`;
      if (!skipInvalid) throw new DataError(`${formatRef(ref)}: ${reason}`);
      skipped.push({ ref, reason });
    }
  });
  return { rows, skipped };
}

async function readParquetTable(file: string): Promise<TableRead> {
  let objects: Record<string, unknown>[];
  try {
    objects = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[];
  } catch (err) {
    throw new DataError(`${file}: cannot read as Parquet (${errorMessage(err)})`);
  }
  // A Parquet file is either readable as a whole or not at all: row-level
  // problems only arise in field mapping, which the dataset layer reports.
  return { rows: objects.map((values, i) => ({ ref: { file, unit: "row", index: i + 1 }, values: plain(values) as Record<string, unknown> })), skipped: [] };
}

/** BigInt (Parquet INT64) to number where exact, else to its decimal string; recursively. */
function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object" && !(v instanceof Date) && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
