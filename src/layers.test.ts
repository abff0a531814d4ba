/**
 * The layer rule of DEVELOPERS.md, enforced: a module imports only from its
 * own layer directory or from layers below it. Siblings on one rung (rl and
 * gvm; verify, tasks and data; ...) stay independent unless listed in ALLOWED.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const RANK: Record<string, number> = {
  util: 0,
  kernels: 1,
  tensor: 2,
  model: 3,
  rollout: 3,
  verify: 4,
  tasks: 4,
  data: 4,
  rl: 5,
  gvm: 5,
  // the loops: evaluation, then training (which evaluates), then reports (which read both)
  eval: 6,
  train: 7,
  report: 8,
  cli: 9,
  serve: 9,
  dashboard: 9,
};

/** Sibling edges that are allowed, as "from->to". */
const ALLOWED = new Set<string>(["rollout->model", "tasks->verify", "cli->serve", "cli->dashboard", "dashboard->serve"]);

const root = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function layerOf(file: string): string | undefined {
  return relative(root, file).split(sep)[0];
}

describe("layering", () => {
  it("every top-level source directory has a rank", () => {
    for (const name of readdirSync(root)) {
      if (statSync(join(root, name)).isDirectory()) expect(RANK[name], `src/${name} has no layer rank`).toBeDefined();
    }
  });

  it("imports only go down (or sideways where allowed)", () => {
    const violations: string[] = [];
    const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
    for (const file of sourceFiles(root)) {
      const from = layerOf(file);
      if (from === undefined || RANK[from] === undefined) continue;
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2];
        if (spec === undefined) continue;
        const to = layerOf(resolve(dirname(file), spec));
        if (to === undefined || to === from) continue;
        const rf = RANK[from] as number;
        const rt = RANK[to];
        if (rt === undefined) continue;
        if (rt < rf) continue;
        if (rt === rf && ALLOWED.has(`${from}->${to}`)) continue;
        violations.push(`${relative(root, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("the verifier's own stack holds: numbers, then syntax, then evaluation, then comparison", () => {
    // Shared by all: the error classes and the time budget. Comparison and the entry points (verify, batch) sit at the top, in verify/ itself.
    const base = new Set(["errors.ts", "deadline.ts"]);
    const stack = ["numbers", "syntax", "evaluation"];
    const verifyRoot = join(root, "verify");
    const rankOf = (file: string): number => {
      const parts = relative(verifyRoot, file).split(sep);
      if (parts.length === 1) return base.has(parts[0] as string) ? 0 : stack.length + 1;
      const rung = stack.indexOf(parts[0] as string);
      return rung < 0 ? -1 : rung + 1;
    };
    const violations: string[] = [];
    for (const file of sourceFiles(verifyRoot)) {
      expect(rankOf(file), `${relative(root, file)} is in no rung of the verifier's stack`).toBeGreaterThanOrEqual(0);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/g)) {
        const target = resolve(dirname(file), (m[1] as string).replace(/\.js$/, ".ts"));
        if (layerOf(target) !== "verify") continue;
        if (rankOf(target) > rankOf(file)) violations.push(`${relative(root, file)} imports ${m[1]}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
