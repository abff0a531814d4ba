/**
 * `gvm demo`: what `npm start` runs. A cached supervised warm start, then
 * RAFT++ with uniform allocation and with the default GVM strategy under the
 * same budget of generated responses, and a table of test accuracy against
 * responses and wall-clock, responses needed to reach a target accuracy,
 * and final accuracy. Runs are resumable: a second `npm start` reuses
 * finished runs and only prints the table.
 */
import { costToTarget, summarize } from "../report/compare.js";
import { experimentConfig } from "../train/presets.js";
import type { EvalRecord } from "../train/records.js";
import { train } from "../train/trainer.js";
import { defaultLogger } from "../util/log.js";
import { type Command, parseOptions } from "./command.js";

/** The GVM strategy the demo compares with uniform: the training default (see docs/training.md for why). */
export const DEMO_DEFAULT_STRATEGY = "gvm-ponly";

function fmt(x: number | null, digits = 3): string {
  return x === null || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

export const demoCommand: Command = {
  name: "demo",
  summary: "GVM vs uniform sampling with RAFT++ on the built-in suite (what `npm start` runs).",
  help: [
    "Usage: gvm demo [--out DIR] [--regime natural|paper-like] [--strategy NAME] [--seed S]",
    "",
    "Warm-starts a small byte-level Llama on arithmetic demonstrations (cached), then",
    "trains it with RAFT++ twice under the same budget of generated responses: uniform",
    "allocation, and the default GVM strategy. Prints test accuracy against generated",
    "responses and wall-clock, the responses each needed to reach the uniform run's",
    "final accuracy, and final accuracies. Every generated response counts, stage 1 included.",
    "",
    "Options:",
    "  --out DIR          where runs go (default runs/demo); rerunning resumes or reuses them",
    "  --regime R         natural (default) or paper-like prompt pool",
    `  --strategy NAME    the GVM strategy to compare (default ${DEMO_DEFAULT_STRATEGY})`,
    "  --seed S           run seed (default 0)",
    "",
    "Example:",
    "  gvm demo --regime paper-like",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseOptions("demo", argv, { out: { type: "string" }, regime: { type: "string" }, strategy: { type: "string" }, seed: { type: "string" } });
    const out = values.out ?? "runs/demo";
    const regime = values.regime ?? "natural";
    if (regime !== "natural" && regime !== "paper-like") return usage(io, `--regime must be natural or paper-like, got ${JSON.stringify(regime)}`);
    const seed = Number(values.seed ?? 0);
    if (!Number.isInteger(seed)) return usage(io, `--seed must be an integer, got ${JSON.stringify(values.seed)}`);
    const strategies = ["uniform", values.strategy ?? DEMO_DEFAULT_STRATEGY];
    const log = defaultLogger();
    const curves = new Map<string, EvalRecord[][]>();
    for (const s of strategies) {
      const c = experimentConfig({ method: "raftpp", strategy: s, regime, seed, out });
      log.info(`\n== RAFT++ with ${s} allocation (${c.runDir})`);
      const r = await train(c);
      curves.set(c.label ?? s, [r.evals]);
    }
    const [base, gvm] = [...curves.values()].map((c) => c[0] as EvalRecord[]);
    const target = (base as EvalRecord[])[(base as EvalRecord[]).length - 1]?.accuracy ?? 0;
    const summaries = summarize(curves, target);
    const labels = [...curves.keys()];
    const lines: string[] = [];
    lines.push("", `Test accuracy (avg@k over ${300} test problems, common random numbers) against generated responses:`);
    lines.push(`${"responses".padStart(10)} ${"sec".padStart(6)}  ${labels[0]?.padEnd(12)} | ${"responses".padStart(10)} ${"sec".padStart(6)}  ${labels[1]}`);
    const rows = Math.max((base as EvalRecord[]).length, (gvm as EvalRecord[]).length);
    for (let i = 0; i < rows; i++) {
      const a = (base as EvalRecord[])[i];
      const b = (gvm as EvalRecord[])[i];
      const cell = (e: EvalRecord | undefined) => (e ? `${String(e.samples).padStart(10)} ${e.wallclock.toFixed(0).padStart(6)}  ${e.accuracy.toFixed(3).padEnd(12)}` : " ".repeat(30));
      lines.push(`${cell(a)} | ${cell(b)}`);
    }
    lines.push("", `Target: the uniform run's final accuracy, ${target.toFixed(3)}.`);
    lines.push(`${"".padEnd(24)}${labels.map((l) => l.padStart(18)).join("")}`);
    const row = (name: string, f: (i: number) => string) => lines.push(`${name.padEnd(24)}${labels.map((_, i) => f(i).padStart(18)).join("")}`);
    row("final accuracy", (i) => `${fmt(summaries[i]?.finalAccuracy ?? null)} [${fmt(summaries[i]?.finalCi[0] ?? null, 2)},${fmt(summaries[i]?.finalCi[1] ?? null, 2)}]`);
    row("responses generated", (i) => String(summaries[i]?.totalSamples ?? "-"));
    row("responses to target", (i) => fmt(costToTarget([...(curves.get(labels[i] as string)?.[0] ?? [])], target, "samples"), 0));
    row("seconds to target", (i) => fmt(costToTarget([...(curves.get(labels[i] as string)?.[0] ?? [])], target, "wallclock"), 0));
    row("update steps to target", (i) => fmt(costToTarget([...(curves.get(labels[i] as string)?.[0] ?? [])], target, "step"), 1));
    const ratio = (axis: "samples" | "wallclock" | "step") => {
      const u = costToTarget(base as EvalRecord[], target, axis);
      const g = costToTarget(gvm as EvalRecord[], target, axis);
      return u !== null && g !== null && g > 0 ? (u / g).toFixed(2) : "-";
    };
    if (ratio("samples") === "-") lines.push("", `${labels[1]} did not reach the target within the budget.`);
    else lines.push("", `${labels[1]} vs uniform to reach the target: ${ratio("samples")}x fewer responses, ${ratio("wallclock")}x less wall-clock, ${ratio("step")}x fewer update steps (>1 = ${labels[1]} cheaper).`);
    const [ua, ga] = [summaries[0], summaries[1]];
    if (ua && ga) {
      const overlap = ua.finalCi[0] <= ga.finalCi[1] && ga.finalCi[0] <= ua.finalCi[1];
      lines.push(
        overlap
          ? "The final accuracies' 95% intervals overlap: on this run the two are tied within evaluation noise, and the ratios above are noise too. Multi-seed figures: docs/training.md (npm run bench:gvm)."
          : `The final accuracies differ beyond their 95% intervals (${fmt(ga.finalAccuracy - ua.finalAccuracy)}). One seed; multi-seed figures: docs/training.md (npm run bench:gvm).`,
      );
    }
    io.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
};

function usage(io: { stderr: NodeJS.WritableStream }, message: string): number {
  io.stderr.write(`gvm demo: ${message}. Run 'gvm demo --help' for usage.\n`);
  return 2;
}
