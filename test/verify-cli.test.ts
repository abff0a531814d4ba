/**
 * `gvm verify` end to end, through the real CLI entry (tsx src/cli/bin.ts)
 * in a child process: single pairs, JSONL files with malformed lines,
 * field options, the worker pool path, help and usage errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tmp = mkdtempSync(join(tmpdir(), "gvm-verify-cli-"));

function gvm(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(root, "node_modules", ".bin", "tsx"), [join(root, "src", "cli", "bin.ts"), "verify", ...args], {
    cwd: root,
    encoding: "utf8",
    input,
    timeout: 120_000,
    env: { ...process.env, GVM_PROGRESS: "0" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("gvm verify", () => {
  it("checks one pair from the command line", () => {
    const r = gvm(["--gold", "\\frac{1}{2}", "--response", "So the answer is $\\boxed{0.5}$."]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ correct: true, reason: "exact", extracted: "0.5" });
    const wrong = gvm(["--gold", "7", "--response", "\\boxed{8}"]);
    expect(wrong.code).toBe(0);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ correct: false, reason: "mismatch" });
  });

  it("checks a JSONL file in order, reports malformed lines by number and exits 1", () => {
    const file = join(tmp, "pairs.jsonl");
    writeFileSync(
      file,
      [
        JSON.stringify({ gold: "3", response: "\\boxed{3}" }),
        "{not json",
        JSON.stringify({ gold: "x", resp: "y" }),
        "",
        JSON.stringify({ gold: 27.0, response: "The answer is 27." }),
        JSON.stringify({ gold: "2", response: "I think 5" }),
      ].join("\n"),
    );
    const r = gvm(["--jsonl", file]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { line: number; correct: boolean; reason: string });
    expect(lines.map((l) => [l.line, l.correct, l.reason])).toEqual([
      [1, true, "identical"],
      [2, false, "malformed"],
      [3, false, "malformed"],
      [5, true, "identical"],
      [6, false, "mismatch"],
    ]);
    expect(r.stderr).toContain(`${file}:2: not valid JSON`);
    expect(r.stderr).toContain(`${file}:3: missing field "response"`);
    expect(r.stderr).toContain("2 malformed lines");
  });

  it("reads other field names, stdin, and large files on the worker pool", () => {
    const rows = Array.from({ length: 150 }, (_, i) => JSON.stringify({ answer: String(i), completion: `so $\\boxed{${i % 2 === 0 ? i : i + 1}}$` }));
    const r = gvm(["--jsonl", "-", "--gold-field", "answer", "--response-field", "completion", "--workers", "2"], rows.join("\n"));
    expect(r.code).toBe(0);
    const verdicts = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { line: number; correct: boolean });
    expect(verdicts.map((v) => v.line)).toEqual(rows.map((_, i) => i + 1));
    expect(verdicts.map((v) => v.correct)).toEqual(rows.map((_, i) => i % 2 === 0));
  });

  it("has help with examples, and usage errors exit 2", () => {
    const help = gvm(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Examples:");
    expect(help.stdout).toContain("--jsonl");
    expect(gvm(["--gold", "1"]).code).toBe(2);
    expect(gvm(["--gold", "1", "--response", "1", "--jsonl", "x.jsonl"]).code).toBe(2);
    expect(gvm(["--gold", "1", "--response", "1", "--timeout-ms", "abc"]).code).toBe(2);
    expect(gvm([]).code).toBe(2);
    const missing = gvm(["--jsonl", join(tmp, "nope.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.jsonl");
  });
});
