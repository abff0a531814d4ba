/**
 * Hand-off to verl: the prompts of an iteration as the parquet file verl's
 * PPO trainer reads (RLDataset: a chat `prompt`, `data_source` choosing the
 * reward function, `reward_model.ground_truth`, `extra_info.index`), and the
 * per-prompt sample sizes as the JSON list the GVM fork of verl consumes:
 * with `+actor_rollout_ref.rollout.use_em=True` and
 * `+actor_rollout_ref.rollout.sample_sizes_data=FILE`, its ray_trainer
 * repeats each row `sample_sizes[extra_info.index]` times (RLHFlow/GVM,
 * verl/trainer/ppo/ray_trainer.py; rows written as in
 * runs/data_preprocess/numina_process.py).
 *
 * The parquet schema is the one `datasets.Dataset.to_parquet` writes for
 * those rows (a three-level LIST of {role, content} structs, structs for
 * reward_model and extra_info, index as int64).
 */
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { atomicWrite } from "../util/atomic.js";
import { DataError, describe, errorMessage } from "../util/errors.js";

export interface VerlMessage {
  role: string;
  content: string;
}

/** One row of verl's RL dataset. */
export interface VerlRecord {
  /** Selects verl's reward function (e.g. "numina_math" -> math_verify in the GVM fork). */
  data_source: string;
  /** The chat verl renders with the model's chat template. */
  prompt: VerlMessage[];
  ability: string;
  reward_model: { style: string; ground_truth: string };
  /** index: the row's position in the sample-size list. */
  extra_info: { split: string; index: number };
}

const STRING = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" } as const;

const SCHEMA = [
  { name: "root", num_children: 5 },
  { name: "data_source", ...STRING },
  { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "role", ...STRING },
  { name: "content", ...STRING },
  { name: "ability", ...STRING },
  { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "style", ...STRING },
  { name: "ground_truth", ...STRING },
  { name: "extra_info", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "split", ...STRING },
  { name: "index", type: "INT64", repetition_type: "OPTIONAL" },
] as const;

/**
 * Checks that records and sample sizes fit together: indexes 0..m-1, each
 * once, one size per index, sizes integers >= 0.
 */
export function checkVerlExport(records: readonly VerlRecord[], sizes: readonly number[]): void {
  if (records.length === 0) throw new DataError("verl export: no prompts to write");
  if (sizes.length !== records.length) throw new DataError(`verl export: ${sizes.length} sample sizes for ${records.length} prompts`);
  const seen = new Set<number>();
  records.forEach((r, i) => {
    const idx = r.extra_info.index;
    if (!Number.isInteger(idx) || idx < 0 || idx >= records.length) throw new DataError(`verl export: row ${i} has extra_info.index ${idx}; expected 0..${records.length - 1} (its position in the sample-size list)`);
    if (seen.has(idx)) throw new DataError(`verl export: extra_info.index ${idx} appears twice (rows must index the sample-size list one to one)`);
    seen.add(idx);
    if (r.prompt.length === 0) throw new DataError(`verl export: row ${i} has an empty prompt`);
  });
  sizes.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0) throw new DataError(`verl export: sample size ${i} is ${describe(n)}; expected an integer >= 0`);
  });
}

/** Writes the rows as verl's parquet (atomically). */
export function writeVerlParquet(path: string, records: readonly VerlRecord[]): void {
  const col = <T>(f: (r: VerlRecord) => T) => records.map(f);
  const buffer = parquetWriteBuffer({
    schema: SCHEMA.map((s) => ({ ...s })),
    columnData: [
      { name: "data_source", data: col((r) => r.data_source) },
      { name: "prompt", data: col((r) => r.prompt.map((m) => ({ role: m.role, content: m.content }))) },
      { name: "ability", data: col((r) => r.ability) },
      { name: "reward_model", data: col((r) => ({ style: r.reward_model.style, ground_truth: r.reward_model.ground_truth })) },
      { name: "extra_info", data: col((r) => ({ split: r.extra_info.split, index: BigInt(r.extra_info.index) })) },
    ],
  });
  atomicWrite(path, new Uint8Array(buffer));
}

/** Writes the per-prompt sample sizes: a JSON list, entry i for extra_info.index i. */
export function writeSampleSizes(path: string, sizes: readonly number[]): void {
  atomicWrite(path, `${JSON.stringify(sizes)}\n`);
}

/** Reads a verl parquet file back, checking every field's type; errors name the file, row and field. */
export async function readVerlParquet(path: string): Promise<VerlRecord[]> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<string, unknown>[];
  } catch (err) {
    throw new DataError(`${path}: cannot read as parquet (${errorMessage(err)})`);
  }
  return rows.map((row, i) => {
    const bad = (field: string, want: string) => new DataError(`${path}: row ${i}: ${field} is ${describe(getPath(row, field))}; expected ${want}`);
    const str = (field: string): string => {
      const v = getPath(row, field);
      if (typeof v !== "string") throw bad(field, "a string");
      return v;
    };
    const prompt = row.prompt;
    if (!Array.isArray(prompt)) throw bad("prompt", "a list of {role, content}");
    const messages = prompt.map((m: unknown, j: number) => {
      const mm = m as { role?: unknown; content?: unknown } | null;
      if (typeof mm?.role !== "string" || typeof mm.content !== "string") throw new DataError(`${path}: row ${i}: prompt[${j}] is ${describe(m)}; expected {role: string, content: string}`);
      return { role: mm.role, content: mm.content };
    });
    const index = getPath(row, "extra_info.index");
    if (typeof index !== "bigint" && typeof index !== "number") throw bad("extra_info.index", "an integer");
    return {
      data_source: str("data_source"),
      prompt: messages,
      ability: str("ability"),
      reward_model: { style: str("reward_model.style"), ground_truth: str("reward_model.ground_truth") },
      extra_info: { split: str("extra_info.split"), index: Number(index) },
    };
  });
}

function getPath(row: Record<string, unknown>, path: string): unknown {
  let v: unknown = row;
  for (const k of path.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}
