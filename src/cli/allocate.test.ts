/** `gvm allocate` run as a user runs it: a child process, files in, JSON lines and exit codes out. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { allocate } from "../gvm/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tsx = join(root, "node_modules", ".bin", "tsx");
const dir = mkdtempSync(join(tmpdir(), "gvm-allocate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: readonly string[]): string {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
}

function gvm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(tsx, ["src/cli/bin.ts", ...args], { cwd: root }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

const stats = [
  { acceptRate: 0.5, gradNorm: 1 },
  { acceptRate: 0.25, gradNorm: 1.5 },
  { acceptRate: 0, gradNorm: 0 },
  { acceptRate: 1, gradNorm: 2 },
  { acceptRate: 0.125, gradNorm: 0.5 },
];

describe("gvm allocate (child process)", () => {
  it("writes one {n} line per prompt in input order, equal to the library's allocation, with notes on stderr", async () => {
    const f = file("stats.jsonl", [...stats.map((s) => JSON.stringify(s)), ""]);
    const r = await gvm(["allocate", "--jsonl", f, "--budget", "40", "--n-max", "12", "--filter-threshold", "0.9", "--rounding", "low-acceptance-first"]);
    expect(r.stderr).toMatch(/dropped: acceptance rate above filterThreshold 0.9/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { n: number });
    const expected = allocate(
      "gvm",
      { prompts: 5, acceptRate: stats.map((s) => s.acceptRate), gradNorm: stats.map((s) => s.gradNorm) },
      40,
      { nMax: 12, filterThreshold: 0.9, rounding: "low-acceptance-first" },
    ).n;
    expect(lines.map((l) => l.n)).toEqual(expected);
    expect(expected.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it("reads renamed fields and runs the other strategies", async () => {
    const f = file("renamed.jsonl", stats.map((s) => JSON.stringify({ p: s.acceptRate, g: s.gradNorm, id: "x" })));
    const [ponly, uniform] = await Promise.all([
      gvm(["allocate", "--jsonl", f, "--budget", "20", "--strategy", "gvm-ponly", "--p-field", "p"]),
      gvm(["allocate", "--jsonl", f, "--budget", "7", "--strategy", "uniform"]),
    ]);
    expect(ponly.code).toBe(0);
    const expected = allocate("gvm-ponly", { prompts: 5, acceptRate: stats.map((s) => s.acceptRate) }, 20).n;
    expect(ponly.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(expected);
    expect(uniform.stdout).toBe('{"n":2}\n{"n":2}\n{"n":1}\n{"n":1}\n{"n":1}\n');
  });

  it("names the file and line of bad input and exits 1", async () => {
    const bad = file("bad.jsonl", [JSON.stringify(stats[0]), "", '{"acceptRate": 1.5, "gradNorm": 1}']);
    const broken = file("broken.jsonl", [JSON.stringify(stats[0]), "{not json"]);
    const missing = file("missing.jsonl", ['{"acceptRate": 0.5}']);
    const [r, b, m] = await Promise.all([
      gvm(["allocate", "--jsonl", bad, "--budget", "10"]),
      gvm(["allocate", "--jsonl", broken, "--budget", "10"]),
      gvm(["allocate", "--jsonl", missing, "--budget", "10"]),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3: field 'acceptRate'`);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${broken}:2: not valid JSON`);
    expect(m.stderr).toContain(`${missing}:1: missing field 'gradNorm'`);
  });

  it("exits 2 on bad options, with --help listing usage and examples", async () => {
    const f = file("ok.jsonl", stats.map((s) => JSON.stringify(s)));
    const [noBudget, badAlpha, caps, help] = await Promise.all([
      gvm(["allocate", "--jsonl", f]),
      gvm(["allocate", "--jsonl", f, "--budget", "10", "--alpha=-1"]),
      gvm(["allocate", "--jsonl", f, "--budget", "10", "--n-max", "1"]),
      gvm(["allocate", "--help"]),
    ]);
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toMatch(/--budget N is required/);
    expect(badAlpha.code).toBe(2);
    expect(badAlpha.stderr).toMatch(/'alpha' must be >= 0/);
    expect(caps.code).toBe(2);
    expect(caps.stderr).toMatch(/nMax 1 for 5 prompts/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: gvm allocate --jsonl FILE --budget N/);
    expect(help.stdout).toMatch(/Examples:/);
  });
});
