import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { DataError } from "../util/errors.js";
import { Logger } from "../util/log.js";
import { getField, loadDataset } from "./dataset.js";
import { readTable } from "./table.js";

const dir = mkdtempSync(join(tmpdir(), "gvm-data-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const quiet = new Logger({ level: "silent" });

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return (err as Error).message;
  }
  throw new Error("expected a DataError");
}

describe("JSONL tables", () => {
  const good = file("good.jsonl", ['{"q": "1+1?", "a": "2", "meta": {"lvl": 1}}', "", '{"q": "2+2?", "a": 4, "meta": {"lvl": 2}}'].join("\n"));

  it("maps fields (dotted paths too) and numbers ids by line", async () => {
    const ds = await loadDataset(good, { fields: { question: "q", answer: "a", level: "meta.lvl" } });
    expect(ds.items.map((r) => [r.id, r.question, r.answer, r.level])).toEqual([
      ["1", "1+1?", "2", "1"],
      ["3", "2+2?", 4, "2"],
    ]);
    expect(ds.skipped).toEqual([]);
  });

  it("names the file and line of a malformed row", async () => {
    const bad = file("bad.jsonl", '{"q": "x", "a": "1"}\n{"q": "y", "a": \n[1, 2]\n{"a": "3"}\n');
    expect(await rejection(readTable(bad))).toMatch(/bad\.jsonl:2: not valid JSON/);
    const third = file("third.jsonl", '{"q": "x", "a": "1"}\n[1, 2]\n');
    expect(await rejection(readTable(third))).toMatch(/third\.jsonl:2: expected a JSON object, got \[1, 2\]/);
    const missing = file("missing.jsonl", '{"q": "x", "a": "1"}\n{"a": "3"}\n');
    expect(await rejection(loadDataset(missing, { fields: { question: "q", answer: "a" } }))).toMatch(/missing\.jsonl:2: missing question field 'q' \(fields here: a\)/);
  });

  it("skip-invalid counts and reports every skipped row; nothing vanishes", async () => {
    const mixed = file("mixed.jsonl", ['{"q": "x", "a": "1", "id": "p1"}', "{oops", '{"q": "", "a": "2", "id": "p2"}', '{"q": "z", "a": "3", "id": "p1"}', '{"q": "w", "a": "4", "id": "p4"}'].join("\n"));
    const lines: string[] = [];
    const logger = new Logger({ sink: (l) => lines.push(l) });
    const ds = await loadDataset(mixed, { fields: { question: "q", answer: "a", id: "id" }, skipInvalid: true, logger });
    expect(ds.items.map((r) => r.id)).toEqual(["p1", "p4"]);
    expect(ds.skipped.map((s) => [s.ref.index, s.reason.split(" (")[0]])).toEqual([
      [2, "not valid JSON"],
      [3, "question field 'q' is empty"],
      [4, 'duplicate id "p1"'],
    ]);
    expect(ds.items.length + ds.skipped.length).toBe(5);
    expect(lines.join("\n")).toMatch(/mixed\.jsonl: skipped 3 invalid rows of 5 \(first: .*mixed\.jsonl:2: not valid JSON/);
    expect(await rejection(loadDataset(mixed, { fields: { question: "q", answer: "a", id: "id" } }))).toMatch(/mixed\.jsonl:2/);
  });

  it("lets the caller reject rows through map, with the location added", async () => {
    const fields = { question: "q", answer: "a" };
    const map = (r: { answer: unknown }) => {
      if (typeof r.answer !== "string") throw new DataError(`answer must be a string, got ${typeof r.answer}`);
      return r.answer;
    };
    expect(await rejection(loadDataset(good, { fields, map }))).toMatch(/good\.jsonl:3: answer must be a string, got number/);
    const ds = await loadDataset(good, { fields, map, skipInvalid: true, logger: quiet });
    expect(ds.items).toEqual(["2"]);
    expect(ds.skipped).toHaveLength(1);
  });

  it("takes the last user message of a chat-format question", async () => {
    const chat = file("chat.jsonl", JSON.stringify({ prompt: [{ role: "system", content: "be brief" }, { role: "user", content: "3*3?" }], rm: { ground_truth: "9" } }));
    const ds = await loadDataset(chat, { fields: { question: "prompt", answer: "rm.ground_truth" } });
    expect(ds.items[0]?.question).toBe("3*3?");
    expect(ds.items[0]?.answer).toBe("9");
  });

  it("reads a .json file holding one array of records, rows numbered from 1", async () => {
    const arr = file("arr.json", JSON.stringify([{ q: "a?", a: "1" }, { q: "b?", a: "2" }, 7]));
    expect(await rejection(loadDataset(arr, { fields: { question: "q", answer: "a" } }))).toMatch(/arr\.json row 3: expected a JSON object, got 7/);
    const ds = await loadDataset(arr, { fields: { question: "q", answer: "a" }, skipInvalid: true, logger: quiet });
    expect(ds.items.map((r) => [r.id, r.question])).toEqual([
      ["1", "a?"],
      ["2", "b?"],
    ]);
    expect(ds.skipped).toHaveLength(1);
  });

  it("resolves keys that contain dots before descending", () => {
    expect(getField({ "a.b": 1, a: { b: 2 } }, "a.b")).toBe(1);
    expect(getField({ a: { b: { c: 3 } } }, "a.b.c")).toBe(3);
    expect(getField({ a: 1 }, "a.b")).toBeUndefined();
  });
});

describe("Parquet tables", () => {
  it("reads back a file written with hyparquet-writer, rows numbered from 1", async () => {
    const p = join(dir, "set.parquet");
    parquetWriteFile({
      filename: p,
      columnData: [
        { name: "problem", data: ["What is 2+3?", "What is 7*6?", "Name a prime."], type: "STRING" },
        { name: "answer", data: ["5", "42", "2"], type: "STRING" },
        { name: "uid", data: [BigInt(10), BigInt(11), BigInt(12)], type: "INT64" },
        { name: "level", data: [1, 2, 3], type: "INT32" },
      ],
    });
    const ds = await loadDataset(p, { fields: { question: "problem", answer: "answer", id: "uid", level: "level" } });
    expect(ds.items.map((r) => [r.id, r.question, r.answer, r.level, r.ref.unit, r.ref.index])).toEqual([
      ["10", "What is 2+3?", "5", "1", "row", 1],
      ["11", "What is 7*6?", "42", "2", "row", 2],
      ["12", "Name a prime.", "2", "3", "row", 3],
    ]);
    expect(await rejection(loadDataset(p, { fields: { question: "problem", answer: "solution" } }))).toMatch(/set\.parquet row 1: missing answer field 'solution' \(fields here: problem, answer, uid, level\)/);
  });

  it("fails on a file that is not Parquet, naming it", async () => {
    const p = file("fake.parquet", "not parquet at all");
    expect(await rejection(readTable(p))).toMatch(/fake\.parquet: cannot read as Parquet/);
    expect(await rejection(readTable(file("x.csv", "a,b")))).toMatch(/x\.csv: unknown data format '\.csv'/);
  });
});
