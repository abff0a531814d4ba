import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig, parseOverride } from "./config.js";
import { ConfigError } from "./errors.js";

const schema = z
  .object({
    seed: z.number().int().default(0),
    train: z
      .object({
        lr: z.number().positive().default(1e-3),
        method: z.enum(["raft", "raftpp", "grpo"]).default("raftpp"),
        steps: z.number().int().min(1).default(10),
      })
      .strict()
      .default({ lr: 1e-3, method: "raftpp", steps: 10 }),
    mix: z.union([z.enum(["natural", "paper-like"]), z.array(z.number())]).default("natural"),
    tags: z.array(z.string()).default([]),
  })
  .strict();

function tmp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gvm-config-"));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function message(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("reads YAML and JSON, fills defaults, and applies overrides after the file", () => {
    const y = tmp("c.yaml", "seed: 3\ntrain:\n  lr: 0.01\n  method: grpo\n");
    expect(loadConfig(schema, { file: y })).toEqual({ seed: 3, train: { lr: 0.01, method: "grpo", steps: 10 }, mix: "natural", tags: [] });
    const j = tmp("c.json", JSON.stringify({ train: { steps: 4 } }));
    const c = loadConfig(schema, { file: j, overrides: ["train.lr=3e-4", "mix=[1, 2]", "tags=[a, b]", "seed=7"] });
    expect(c.train).toEqual({ lr: 3e-4, method: "raftpp", steps: 4 });
    expect(c.mix).toEqual([1, 2]);
    expect(c.tags).toEqual(["a", "b"]);
    expect(c.seed).toBe(7);
  });

  it("lays typed values (command-line flags) over the file, and --set over both", () => {
    const y = tmp("v.yaml", "seed: 3\ntrain:\n  lr: 0.01\n");
    const c = loadConfig(schema, { file: y, values: [["train.lr", 0.5], ["train.steps", undefined], ["tags", ["x: y"]]], overrides: ["train.lr=0.25"] });
    expect(c.train).toEqual({ lr: 0.25, method: "raftpp", steps: 10 });
    expect(c.tags).toEqual(["x: y"]);
    expect(c.seed).toBe(3);
    expect(() => loadConfig(schema, { values: [["train.method", "ppo"]] })).toThrow(/command-line options: invalid config:\n {2}field 'train\.method' is "ppo"/);
  });

  it("types override values as YAML scalars", () => {
    expect(parseOverride("a.b=3").value).toBe(3);
    expect(parseOverride("a=true").value).toBe(true);
    expect(parseOverride("a=hello world").value).toBe("hello world");
    expect(parseOverride("a.b.c=").path).toEqual(["a", "b", "c"]);
    expect(() => parseOverride("noequals")).toThrow(/expected FIELD=VALUE/);
    expect(() => parseOverride("a..b=1")).toThrow(/not a dotted field name/);
  });

  it("names the field, the value and the allowed values", () => {
    const m = message(() => loadConfig(schema, { overrides: ["train.method=ppo"] }));
    expect(m).toContain("field 'train.method' is \"ppo\"; allowed: \"raft\" | \"raftpp\" | \"grpo\"");
    expect(m).toContain("--set overrides");
    const u = message(() => loadConfig(schema, { overrides: ["train.lrr=1"] }));
    expect(u).toContain("unknown field 'train.lrr' in 'train'; allowed: lr, method, steps");
    const top = message(() => loadConfig(schema, { overrides: ["sed=1"] }));
    expect(top).toContain("unknown field 'sed'; allowed: seed, train, mix, tags");
    const t = message(() => loadConfig(schema, { overrides: ["train.steps=2.5"] }));
    expect(t).toContain("field 'train.steps' is 2.5; expected an integer");
    const un = message(() => loadConfig(schema, { overrides: ["mix=3"] }));
    expect(un).toMatch(/field 'mix' is 3; allowed: "natural" \| "paper-like" \| a list/);
  });

  it("reports file problems with the file name", () => {
    expect(message(() => loadConfig(schema, { file: tmp("bad.yaml", "a: [1, 2\n") }))).toMatch(/bad\.yaml: not valid YAML/);
    expect(message(() => loadConfig(schema, { file: tmp("bad.json", "{") }))).toMatch(/bad\.json: not valid JSON/);
    expect(message(() => loadConfig(schema, { file: tmp("c.toml", "a=1") }))).toMatch(/unknown config format '\.toml'/);
    expect(message(() => loadConfig(schema, { file: tmp("list.yaml", "- 1\n- 2\n") }))).toMatch(/top level must be a mapping/);
    expect(message(() => loadConfig(schema, { file: "/nonexistent/c.yaml" }))).toMatch(/\/nonexistent\/c\.yaml: cannot read config/);
    const f = tmp("wrong.yaml", "train:\n  lr: -1\n");
    expect(message(() => loadConfig(schema, { file: f }))).toMatch(/wrong\.yaml: invalid config:\n {2}field 'train\.lr' is -1/);
  });

  it("refuses to set a field below a scalar", () => {
    expect(message(() => loadConfig(schema, { overrides: ["seed=1", "seed.x=2"] }))).toMatch(/cannot set 'seed\.x': 'seed' is 1, not a mapping/);
  });
});
