import { describe, expect, it } from "vitest";
import { DataError } from "./errors.js";
import { parseJsonl } from "./jsonl.js";

describe("parseJsonl", () => {
  it("reads one value per line, numbering lines from 1 and skipping blank ones", () => {
    const r = parseJsonl('{"a":1}\n\n{"a":2}\n', "f.jsonl");
    expect(r.lines.map((l) => [l.line, l.value])).toEqual([
      [1, { a: 1 }],
      [3, { a: 2 }],
    ]);
    expect(r.torn).toBeNull();
  });

  it("skips a cut-off last line by default and says where it starts", () => {
    const text = '{"a":1}\n{"a":2}\n{"a":';
    const r = parseJsonl(text, "f.jsonl");
    expect(r.lines).toHaveLength(2);
    expect(r.torn).toEqual({ line: 3, text: '{"a":', offset: 16 });
    expect(text.slice(0, r.torn?.offset)).toBe('{"a":1}\n{"a":2}\n');
  });

  it("keeps a last line without its newline when it parses", () => {
    expect(parseJsonl('{"a":1}\n{"a":2}', "f.jsonl").lines).toHaveLength(2);
  });

  it("calls a bad line that ends in a newline damage, even the last one, naming file and line", () => {
    expect(() => parseJsonl('{"a":1}\n{"a":\n', "f.jsonl")).toThrow(DataError);
    expect(() => parseJsonl('{"a":1}\n{"a":\n', "f.jsonl")).toThrow(/^f\.jsonl:2: not valid JSON \(.*\), and not a torn last line/);
    expect(() => parseJsonl('{"a":1}\n{oops}\n{"a":', "f.jsonl")).toThrow(/f\.jsonl:2: not valid JSON/);
  });

  it("with tornTail error, a cut-off last line is damage too", () => {
    expect(() => parseJsonl('{"a":1}\n{"a":', "in.jsonl", { tornTail: "error" })).toThrow(/^in\.jsonl:2: not valid JSON \([^)]*\)$/);
  });

  it("lets the caller build the error, or skip the line by returning null", () => {
    class MyError extends Error {}
    expect(() => parseJsonl("{x}\n", "f.jsonl", { damaged: (d) => new MyError(`${d.message}; hint`) })).toThrow(MyError);
    const seen: number[] = [];
    const r = parseJsonl('{x}\n{"a":1}\n{y', "f.jsonl", { tornTail: "error", damaged: (d) => (seen.push(d.line), null) });
    expect(seen).toEqual([1, 3]);
    expect(r.lines.map((l) => l.line)).toEqual([2]);
  });
});
