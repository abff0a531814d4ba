/**
 * Reading the JSON and text files of a Hugging Face model directory, with
 * errors that name the file and say what was expected.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelError } from "../../errors.js";

/** A model directory file that is missing, unreadable or malformed. */
export class ModelDirError extends ModelError {}

/** Parsed JSON of DIR/NAME; `required` false gives undefined for a missing file. */
export function readJsonFile(dir: string, name: string, required: true, what: string): Record<string, unknown>;
export function readJsonFile(dir: string, name: string, required: false, what: string): Record<string, unknown> | undefined;
export function readJsonFile(dir: string, name: string, required: boolean, what: string): Record<string, unknown> | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new ModelDirError(`${path}: missing (expected ${what})`);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ModelDirError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return parseJsonObject(path, text, what);
}

/** A JSON object parsed from the text of `path` (named in errors). */
export function parseJsonObject(path: string, text: string, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelDirError(`${path}: not valid JSON (${(err as Error).message}); expected ${what}`, { cause: err });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ModelDirError(`${path}: expected a JSON object (${what}), got ${Array.isArray(json) ? "an array" : String(json)}`);
  return json as Record<string, unknown>;
}

/** Bytes of DIR/NAME, which must exist. */
export function readFileBytes(dir: string, name: string, what: string): Buffer {
  const path = join(dir, name);
  if (!existsSync(path)) throw new ModelDirError(`${path}: missing (expected ${what})`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ModelDirError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
}

/** Text of DIR/NAME, or undefined when it does not exist. */
export function readTextFile(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ModelDirError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Files that travel with the weights: a checkpoint saved from a loaded
 * directory copies them, so it stays loadable (tokenizer, chat template,
 * generation defaults) in gvm and in `transformers`.
 */
export const COMPANION_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "generation_config.json",
  "chat_template.jinja",
  "chat_template.json",
  "added_tokens.json",
  "vocab.json",
  "merges.txt",
] as const;
