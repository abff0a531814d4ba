/**
 * `gvm demo`: what `npm start` runs. A cached supervised warm start, then
 * one learner twice under the same budget of generated responses, with
 * uniform allocation and with another strategy (by default the one the
 * bench showed best), on the same warm start, prompts and evaluation dice;
 * then the comparison (report/versus.ts) as text or one JSON object. Runs
 * are resumable: a second `npm start` reuses finished runs and only prints
 * the comparison.
 */
import { formatVersus, type RunIdentity, versus } from "../report/versus.js";
import { type Method, METHODS, RL_DEFAULT_STRATEGY } from "../train/config.js";
import { experimentConfig, REGIMES, type Regime } from "../train/presets.js";
import { train } from "../train/trainer.js";
import { parseOverride } from "../util/config.js";
import { defaultLogger } from "../util/log.js";
import { type Command, parseOptions } from "./command.js";

export const demoCommand: Command = {
  name: "demo",
  summary: "Uniform vs another allocation (default: the bench's best) on the built-in suite, one learner, one seed (what `npm start` runs).",
  help: [
    "Usage: gvm demo [--out DIR] [--method raftpp|grpo|raft] [--strategy NAME] [--regime natural|paper-like] [--seed S] [--set FIELD=VALUE ...] [--json]",
    "",
    "Warm-starts a small byte-level Llama on arithmetic demonstrations (cached), then",
    "trains it with RL twice under the same budget of generated responses: uniform",
    "allocation, and another strategy (by default the one npm run bench:gvm showed best).",
    "Prints test accuracy against generated responses,",
    "tokens and wall-clock for both runs, accuracy per level at the start and the end,",
    "what each run spent to reach the uniform run's final accuracy, and a verdict.",
    "Every generated response counts: stage 1, extra rounds and discarded groups included.",
    "",
    "Options:",
    "  --out DIR          where runs go (default runs/demo); rerunning resumes or reuses them",
    "  --method M         learner: raftpp (default), grpo or raft",
    `  --strategy NAME    the strategy compared with uniform (default ${RL_DEFAULT_STRATEGY})`,
    "  --regime R         natural (default) or paper-like prompt pool",
    "  --seed S           run seed: warm start, prompt order, samples (default 0)",
    "  --set FIELD=VALUE  override a field of the experiment preset, e.g. --set rl.iterations=8 (repeatable;",
    "                     the runs then differ from the figures in docs/training.md)",
    "  --json             print one JSON object instead of the tables",
    "",
    "Examples:",
    "  gvm demo --seed 1",
    "  gvm demo --method grpo --regime paper-like --json",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseOptions("demo", argv, {
      out: { type: "string" },
      method: { type: "string" },
      strategy: { type: "string" },
      regime: { type: "string" },
      seed: { type: "string" },
      set: { type: "string", multiple: true },
      json: { type: "boolean" },
    });
    const out = values.out ?? "runs/demo";
    const regime = values.regime ?? "natural";
    if (!REGIMES.includes(regime as Regime)) return usage(io, `--regime must be one of ${REGIMES.join(", ")}, got ${JSON.stringify(regime)}`);
    const method = values.method ?? "raftpp";
    if (!METHODS.includes(method as Method)) return usage(io, `--method must be one of ${METHODS.join(", ")}, got ${JSON.stringify(method)}`);
    const seed = Number(values.seed ?? 0);
    if (values.seed?.trim() === "" || !Number.isInteger(seed)) return usage(io, `--seed must be an integer, got ${JSON.stringify(values.seed)}`);
    const strategy = values.strategy ?? RL_DEFAULT_STRATEGY;
    if (strategy === "uniform") return usage(io, "--strategy must be other than uniform, the baseline it is compared with");
    const overrides: Record<string, unknown> = {};
    for (const o of values.set ?? []) {
      const { path, value } = parseOverride(o);
      overrides[path.join(".")] = value;
    }
    const log = defaultLogger();
    const runs: Array<{ id: RunIdentity; evals: Awaited<ReturnType<typeof train>>["evals"] }> = [];
    for (const s of ["uniform", strategy]) {
      const c = experimentConfig({ method: method as Method, strategy: s, regime: regime as Regime, seed, out, overrides });
      log.info(`\n== ${c.label} (${c.runDir})`);
      const r = await train(c, { progress: values.json !== true });
      runs.push({ id: { label: c.label ?? s, method, strategy: s, seed, regime }, evals: r.evals });
    }
    const v = versus(runs[0] as (typeof runs)[0], runs[1] as (typeof runs)[0]);
    io.stdout.write(values.json ? `${JSON.stringify(v)}\n` : `\n${formatVersus(v)}\n`);
    return 0;
  },
};

function usage(io: { stderr: NodeJS.WritableStream }, message: string): number {
  io.stderr.write(`gvm demo: ${message}. Run 'gvm demo --help' for usage.\n`);
  return 2;
}
