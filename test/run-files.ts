/**
 * What end-to-end tests need of a run: the paths to spawn `gvm` as a user
 * would, and a run's JSONL logs in a form two runs with identical results
 * share (without the fields that measure time).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { withoutTiming } from "../src/train/records.js";
import { parseJsonl } from "../src/util/jsonl.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The CLI's entry point, run through tsx like `npm start`. */
export const GVM_BIN = join(REPO_ROOT, "src", "cli", "bin.ts");
export const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** A run's JSONL log (metrics.jsonl, samples.jsonl) without timing fields; [] when the file is absent. */
export function comparableLog(path: string): unknown[] {
  if (!existsSync(path)) return [];
  return parseJsonl(readFileSync(path, "utf8"), path).lines.map((l) => withoutTiming(l.value as Record<string, unknown>));
}
