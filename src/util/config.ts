/**
 * Config files (YAML or JSON) with command-line overrides, validated against
 * a zod schema the caller passes in. Every error names the source, the
 * dotted field, what was found and what is allowed, so a typo in a config
 * file is fixed without reading the source.
 *
 * Overrides are `path=value` strings (`--set train.lr=3e-4`); the value is
 * read as YAML, so numbers, booleans, null, lists (`[1, 2]`) and maps
 * (`{a: 1}`) come through typed, and anything else is a string.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, describe, errorMessage } from "./errors.js";

export type ConfigFormat = "yaml" | "json";

export interface LoadConfigOptions {
  /** Config file (.yaml, .yml or .json); none: start from `base` (or {}). */
  file?: string;
  /** Values the file is layered over (e.g. defaults computed at run time). */
  base?: Record<string, unknown>;
  /** Typed values by dotted path (e.g. from command-line flags), applied after the file. */
  values?: ReadonlyArray<readonly [string, unknown]>;
  /** `a.b.c=value` strings applied last, in order. */
  overrides?: readonly string[];
  /** Names the override flag in messages, e.g. "--set". */
  overrideFlag?: string;
}

/** The format of a config file from its extension. */
export function configFormat(file: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".json") return "json";
  throw new ConfigError(`${file}: unknown config format '${ext || "(no extension)"}'; use .yaml, .yml or .json`);
}

/** Reads a config file into a plain object. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config (${errorMessage(err)})`);
  }
  let value: unknown;
  if (configFormat(file) === "json") {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${file}: not valid JSON (${errorMessage(err)})`);
    }
  } else {
    try {
      value = parseYaml(text, { prettyErrors: true });
    } catch (err) {
      throw new ConfigError(`${file}: not valid YAML (${errorMessage(err).split("\n")[0]})`);
    }
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`${file}: the top level must be a mapping of fields, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** Splits `a.b.c=value` into a path and a typed value. */
export function parseOverride(text: string, flag = "--set"): { path: string[]; value: unknown } {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ConfigError(`${flag} ${JSON.stringify(text)}: expected FIELD=VALUE, e.g. ${flag} train.lr=3e-4`);
  const key = text.slice(0, eq).trim();
  const path = key.split(".");
  if (path.some((p) => p === "" || p === "__proto__" || p === "constructor" || p === "prototype")) {
    throw new ConfigError(`${flag} ${JSON.stringify(text)}: '${key}' is not a dotted field name`);
  }
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = raw.trim() === "" ? "" : parseYaml(raw);
  } catch {
    value = raw;
  }
  return { path, value };
}

/** Sets obj[path[0]][path[1]]... = value, creating maps on the way. */
export function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown, what = path.join(".")): void {
  let cur = obj;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      cur[key] = value;
      return;
    }
    const next = cur[key];
    if (next === undefined || next === null) {
      const fresh: Record<string, unknown> = {};
      cur[key] = fresh;
      cur = fresh;
    } else if (typeof next === "object" && !Array.isArray(next)) {
      cur = next as Record<string, unknown>;
    } else {
      throw new ConfigError(`cannot set '${what}': '${path.slice(0, i + 1).join(".")}' is ${describe(next)}, not a mapping`);
    }
  });
}

function getPath(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Deep copy of plain data (objects, arrays, scalars). */
function clone<T>(x: T): T {
  return x === undefined ? x : (JSON.parse(JSON.stringify(x)) as T);
}

/**
 * Loads file (if any) over base, applies overrides, validates with schema.
 * Returns the parsed value (defaults filled) or throws a ConfigError listing
 * every problem.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const flag = options.overrideFlag ?? "--set";
  const raw: Record<string, unknown> = clone(options.base ?? {});
  const sources: string[] = [];
  if (options.file !== undefined) {
    mergeInto(raw, readConfigFile(options.file));
    sources.push(options.file);
  }
  for (const [key, value] of options.values ?? []) {
    if (value !== undefined) setPath(raw, key.split("."), value);
  }
  if ((options.values ?? []).some(([, v]) => v !== undefined)) sources.push("command-line options");
  for (const o of options.overrides ?? []) {
    const { path, value } = parseOverride(o, flag);
    setPath(raw, path, value);
  }
  if ((options.overrides ?? []).length > 0) sources.push(`${flag} overrides`);
  return validateConfig(schema, raw, sources.length > 0 ? sources.join(" + ") : "config");
}

function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = target[k];
    if (v !== null && typeof v === "object" && !Array.isArray(v) && cur !== null && typeof cur === "object" && !Array.isArray(cur)) {
      mergeInto(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = clone(v);
    }
  }
}

/** Validates a raw object; the error names `source`, each field, the value found and what is allowed. */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((issue) => describeIssue(schema, raw, issue));
  throw new ConfigError(`${source}: invalid config:\n  ${lines.join("\n  ")}`);
}

type Issue = z.core.$ZodIssue;

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

/** Explains one zod issue in terms of the config's fields. */
export function describeIssue(schema: z.ZodType, raw: unknown, issue: Issue): string {
  const field = fieldName(issue.path);
  const got = getPath(raw, issue.path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = objectKeysAt(schema, issue.path);
      const where = issue.path.length === 0 ? "" : ` in '${field}'`;
      const keys = issue.keys.map((k) => (issue.path.length === 0 ? k : `${field}.${k}`));
      return `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `'${k}'`).join(", ")}${where}${allowed ? `; allowed: ${allowed.join(", ")}` : ""}`;
    }
    case "invalid_value":
      return `field '${field}' is ${describe(got)}; allowed: ${issue.values.map((v) => describe(v)).join(" | ")}`;
    case "invalid_type":
      if (got === undefined) return `field '${field}' is required (${expectedText(issue.expected)})`;
      return `field '${field}' is ${describe(got)}; expected ${expectedText(issue.expected)}`;
    case "invalid_union": {
      const options = issue.errors.map((branch) => branch.map((i) => allowedText(i)).filter((t) => t !== "").join(" and ")).filter((t) => t !== "");
      if (got === undefined) return `field '${field}' is required (${options.join(" | ")})`;
      return `field '${field}' is ${describe(got)}; allowed: ${options.length > 0 ? [...new Set(options)].join(" | ") : issue.message}`;
    }
    case "too_small":
    case "too_big": {
      return `field '${field}' is ${describe(got)}: ${issue.message.replace(/^Too (small|big): /, "")}`;
    }
    default:
      return `field '${field}' is ${describe(got)}: ${issue.message}`;
  }
}

function expectedText(expected: string): string {
  return expected === "int" ? "an integer" : expected === "number" ? "a number" : expected === "string" ? "a string" : expected === "boolean" ? "true or false" : expected === "object" ? "a mapping" : expected === "array" ? "a list" : expected;
}

function allowedText(i: Issue): string {
  if (i.code === "invalid_value") return i.values.map((v) => describe(v)).join(" | ");
  if (i.code === "invalid_type") return expectedText(i.expected);
  if (i.code === "too_small" || i.code === "too_big") return i.message;
  return "";
}

/** Keys of the object schema found at a path, unwrapping optional/default/pipe wrappers. */
export function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | null {
  let cur: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (cur instanceof z.ZodObject) cur = unwrap(cur.shape[String(key)] as z.ZodType | undefined);
    else if (cur instanceof z.ZodArray) cur = unwrap(cur.element as z.ZodType);
    else if (cur instanceof z.ZodRecord) cur = unwrap(cur.valueType as z.ZodType);
    else return null;
  }
  return cur instanceof z.ZodObject ? Object.keys(cur.shape) : null;
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (let i = 0; i < 16 && cur !== undefined; i++) {
    if (
      cur instanceof z.ZodOptional ||
      cur instanceof z.ZodNullable ||
      cur instanceof z.ZodDefault ||
      cur instanceof z.ZodPrefault ||
      cur instanceof z.ZodReadonly ||
      cur instanceof z.ZodCatch
    ) {
      cur = cur.def.innerType as z.ZodType;
    } else if (cur instanceof z.ZodPipe) {
      cur = cur.in as z.ZodType;
    } else {
      return cur;
    }
  }
  return cur;
}
