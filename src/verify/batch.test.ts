/**
 * The worker pool: verdicts equal in-process verify() and keep input order,
 * both when running TypeScript through tsx (this test) and when running the
 * compiled JavaScript (transpiled to a temporary directory and run by a
 * plain node child process).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { makePooledRewardFunction, VerifierPool, verifyBatch } from "./batch.js";
import { verify } from "./verify.js";

const here = dirname(fileURLToPath(import.meta.url));

const PAIRS = Array.from({ length: 120 }, (_, i) => ({
  gold: i % 3 === 0 ? `\\frac{${i}}{2}` : String(i),
  response: i % 2 === 0 ? `so the answer is $\\boxed{${i % 3 === 0 ? `${i / 2}` : i}}$` : `I get ${i + 1}.`,
}));

describe("VerifierPool", () => {
  const pool = new VerifierPool({ workers: 2, chunkSize: 16 });
  afterAll(async () => {
    await pool.close();
  });

  it("matches in-process verification, in input order (TypeScript workers via tsx)", async () => {
    const expected = PAIRS.map((p) => verify(p.gold, p.response));
    const got = await pool.verifyAll(PAIRS);
    expect(got).toEqual(expected);
    expect(got.some((v) => v.correct)).toBe(true);
    expect(got.some((v) => !v.correct)).toBe(true);
  });

  it("serves a reward function", async () => {
    const reward = makePooledRewardFunction(pool);
    expect(await reward(["\\boxed{4}", "\\boxed{5}"], ["4", "4"])).toEqual([1, 0]);
    await expect(reward(["\\boxed{4}"], [])).rejects.toThrow(/pair up/);
  });

  it("verifyBatch with one worker runs in-process", async () => {
    expect(await verifyBatch(PAIRS.slice(0, 5), { workers: 1 })).toEqual(PAIRS.slice(0, 5).map((p) => verify(p.gold, p.response)));
  });
});

describe("compiled worker entry", () => {
  it("runs from transpiled JavaScript with a plain node", () => {
    const out = mkdtempSync(join(tmpdir(), "gvm-verify-js-"));
    try {
      // transpile src/verify (with its subfolders) and the util modules it imports, keeping the layout
      const transpile = (dir: string): void => {
        mkdirSync(join(out, dir), { recursive: true });
        for (const entry of readdirSync(join(here, "..", dir), { withFileTypes: true })) {
          const f = entry.name;
          if (entry.isDirectory()) transpile(join(dir, f));
          if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
          const src = readFileSync(join(here, "..", dir, f), "utf8");
          const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
          writeFileSync(join(out, dir, f.replace(/\.ts$/, ".js")), js);
        }
      };
      for (const dir of ["verify", "util"]) transpile(dir);
      writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
      const script = join(out, "run.js");
      writeFileSync(
        script,
        [
          'import { verifyBatch } from "./verify/index.js";',
          `const pairs = ${JSON.stringify(PAIRS)};`,
          "const v = await verifyBatch(pairs, { workers: 2, chunkSize: 16 });",
          "process.stdout.write(JSON.stringify(v));",
        ].join("\n"),
      );
      const got = JSON.parse(execFileSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000 })) as unknown;
      expect(got).toEqual(PAIRS.map((p) => verify(p.gold, p.response)));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
