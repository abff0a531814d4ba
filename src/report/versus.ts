/**
 * Two runs of one seed side by side, as `gvm demo` prints them: a baseline
 * (uniform allocation) and a challenger on the same warm start, prompts and
 * evaluation dice. The target is the baseline's final test accuracy; the
 * question is what the challenger spent (generated responses, tokens,
 * seconds, update steps) to reach it, and whether the final accuracies
 * differ beyond their intervals.
 *
 * The verdict is one of a few stated cases, decided in that order, so a
 * run that never moved cannot read as "reached with 0 responses":
 * - "baseline-flat":  the baseline ended no higher than it started: there
 *                     is nothing to reach, only final accuracies to compare;
 * - "not-reached":    the challenger never reached the target;
 * - "reached":        it did, at the costs and ratios given.
 */
import type { EvalRecord } from "../train/records.js";
import { type CostAxis, costToTarget } from "./compare.js";
import { ReportError } from "./render.js";

export interface EvalPoint {
  accuracy: number;
  ci: [number, number];
  byLevel: Record<string, number>;
}

export interface CurvePoint {
  responses: number;
  tokens: number | null;
  seconds: number;
  steps: number;
  accuracy: number;
}

/** What was run (the run record's identity) and what it spent. */
export interface RunIdentity {
  label: string;
  method: string;
  strategy: string;
  seed: number;
  regime: string;
}

export interface RunSummary extends RunIdentity {
  start: EvalPoint;
  final: EvalPoint;
  /** final - start accuracy. */
  gain: number;
  responses: number;
  tokens: number | null;
  /** Training wall-clock (sampling, scoring, gradient norms, updates; evaluations excluded). */
  seconds: number;
  curve: CurvePoint[];
}

export type VerdictKind = "baseline-flat" | "not-reached" | "reached";

export interface Versus {
  baseline: RunSummary;
  challenger: RunSummary;
  /** The baseline's final accuracy. */
  target: number;
  /** Cost for each run to reach the target (null: never reached; not computed when the baseline is flat). */
  toTarget: { baseline: Record<CostAxis, number | null>; challenger: Record<CostAxis, number | null> };
  /** baseline cost / challenger cost per axis (> 1: the challenger was cheaper); null where undefined. */
  ratio: Record<CostAxis, number | null>;
  verdict: VerdictKind;
  /** Whether the two final accuracies' 95% intervals overlap. */
  finalsOverlap: boolean;
}

const AXES: readonly CostAxis[] = ["samples", "tokens", "wallclock", "step"];

/** The run's summary from its evaluation records (in run order; at least one). */
export function summarizeRun(id: RunIdentity, evals: readonly EvalRecord[]): RunSummary {
  const first = evals[0];
  const last = evals[evals.length - 1];
  if (first === undefined || last === undefined) throw new ReportError(`run ${id.label}: no evaluation records (was it evaluated before it stopped?)`);
  const point = (e: EvalRecord): EvalPoint => ({ accuracy: e.accuracy, ci: [e.ci[0], e.ci[1]], byLevel: { ...e.byLevel } });
  return {
    ...id,
    start: point(first),
    final: point(last),
    gain: last.accuracy - first.accuracy,
    responses: last.samples,
    tokens: last.tokens ?? null,
    seconds: last.wallclock,
    curve: evals.map((e) => ({ responses: e.samples, tokens: e.tokens ?? null, seconds: e.wallclock, steps: e.step, accuracy: e.accuracy })),
  };
}

/** Baseline and challenger, each by identity and evaluation records. */
export function versus(baseline: { id: RunIdentity; evals: readonly EvalRecord[] }, challenger: { id: RunIdentity; evals: readonly EvalRecord[] }): Versus {
  const b = summarizeRun(baseline.id, baseline.evals);
  const c = summarizeRun(challenger.id, challenger.evals);
  const target = b.final.accuracy;
  const none = () => Object.fromEntries(AXES.map((a) => [a, null])) as Record<CostAxis, number | null>;
  const flat = b.gain <= 0;
  const cost = (evals: readonly EvalRecord[]) => (flat ? none() : (Object.fromEntries(AXES.map((a) => [a, costToTarget(evals, target, a)])) as Record<CostAxis, number | null>));
  const toTarget = { baseline: cost(baseline.evals), challenger: cost(challenger.evals) };
  const ratio = Object.fromEntries(
    AXES.map((a) => {
      const u = toTarget.baseline[a];
      const g = toTarget.challenger[a];
      return [a, u !== null && g !== null && g > 0 && Number.isFinite(u / g) ? u / g : null];
    }),
  ) as Record<CostAxis, number | null>;
  const verdict: VerdictKind = flat ? "baseline-flat" : toTarget.challenger.samples === null ? "not-reached" : "reached";
  const finalsOverlap = b.final.ci[0] <= c.final.ci[1] && c.final.ci[0] <= b.final.ci[1];
  return { baseline: b, challenger: c, target, toTarget, ratio, verdict, finalsOverlap };
}

const f3 = (x: number) => x.toFixed(3);
const ci = (p: EvalPoint) => `${f3(p.accuracy)} [${p.ci[0].toFixed(2)}, ${p.ci[1].toFixed(2)}]`;
const num = (x: number | null, digits = 0) => (x === null || !Number.isFinite(x) ? "-" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The comparison as text: curves, per-level accuracy, costs to target, and the verdict. */
export function formatVersus(v: Versus): string {
  const { baseline: b, challenger: c } = v;
  const out: string[] = [];
  const col = (s: string, w: number) => s.padStart(w);
  out.push(`Test accuracy against generated responses (${b.regime} regime, seed ${b.seed}; the same test problems and sampling seeds for both runs):`);
  out.push(`${"".padEnd(2)}${b.label.padEnd(38)}| ${c.label}`);
  out.push(`  ${col("responses", 9)} ${col("tokens", 9)} ${col("sec", 5)} ${col("acc", 6)}     | ${col("responses", 9)} ${col("tokens", 9)} ${col("sec", 5)} ${col("acc", 6)}`);
  const cell = (p: CurvePoint | undefined) => (p ? `${col(String(p.responses), 9)} ${col(num(p.tokens), 9)} ${col(p.seconds.toFixed(0), 5)} ${col(f3(p.accuracy), 6)}` : " ".repeat(32));
  for (let i = 0; i < Math.max(b.curve.length, c.curve.length); i++) out.push(`  ${cell(b.curve[i])}     | ${cell(c.curve[i])}`);

  const levels = [...new Set([...Object.keys(b.start.byLevel), ...Object.keys(b.final.byLevel), ...Object.keys(c.final.byLevel)])].sort((x, y) => Number(x) - Number(y));
  if (levels.length > 0) {
    out.push("", "Accuracy per level (start = the warm start both runs share):");
    out.push(`  ${"level".padEnd(7)}${col("start", 7)}${col(b.strategy, 14)}${col(c.strategy, 14)}`);
    const lv = (p: EvalPoint, l: string) => (p.byLevel[l] === undefined ? "-" : f3(p.byLevel[l] as number));
    for (const l of levels) out.push(`  ${l.padEnd(7)}${col(lv(b.start, l), 7)}${col(lv(b.final, l), 14)}${col(lv(c.final, l), 14)}`);
    out.push(`  ${"all".padEnd(7)}${col(f3(b.start.accuracy), 7)}${col(f3(b.final.accuracy), 14)}${col(f3(c.final.accuracy), 14)}`);
  }

  out.push("", `${"".padEnd(26)}${col(b.label, 24)}${col(c.label, 24)}`);
  const row = (name: string, f: (r: RunSummary, who: "baseline" | "challenger") => string) => out.push(`${name.padEnd(26)}${col(f(b, "baseline"), 24)}${col(f(c, "challenger"), 24)}`);
  row("final accuracy [95% CI]", (r) => ci(r.final));
  row("gain over the start", (r) => `${r.gain >= 0 ? "+" : ""}${f3(r.gain)}`);
  row("responses generated", (r) => num(r.responses));
  row("tokens generated", (r) => num(r.tokens));
  row("seconds (training)", (r) => num(r.seconds));
  if (v.verdict !== "baseline-flat") {
    row("responses to target", (_, w) => num(v.toTarget[w].samples));
    row("tokens to target", (_, w) => num(v.toTarget[w].tokens));
    row("seconds to target", (_, w) => num(v.toTarget[w].wallclock));
    row("update steps to target", (_, w) => num(v.toTarget[w].step, 1));
  }

  out.push("");
  const noise = v.finalsOverlap
    ? "The final accuracies' 95% intervals overlap: on this seed the two are tied within evaluation noise."
    : `The final accuracies differ beyond their 95% intervals (${c.final.accuracy >= b.final.accuracy ? "+" : ""}${f3(c.final.accuracy - b.final.accuracy)}).`;
  if (v.verdict === "baseline-flat") {
    out.push(`The ${b.label} run ended no higher than it started (${f3(b.start.accuracy)} -> ${f3(b.final.accuracy)}): there is no target to reach, so no cost ratio. ${noise}`);
  } else if (v.verdict === "not-reached") {
    out.push(`Target: ${b.label}'s final accuracy, ${f3(v.target)}. ${c.label} did not reach it within the budget (its best: ${f3(Math.max(...c.curve.map((p) => p.accuracy)))}). ${noise}`);
  } else {
    const r = (a: CostAxis) => (v.ratio[a] === null ? "-" : `${(v.ratio[a] as number).toFixed(2)}x`);
    out.push(
      `Target: ${b.label}'s final accuracy, ${f3(v.target)}. ${c.label} reached it with ${r("samples")} fewer responses, ${r("tokens")} fewer tokens, ${r("wallclock")} less wall-clock and ${r("step")} fewer update steps (> 1: ${c.strategy} cheaper). ${noise}`,
    );
  }
  out.push("One seed is one draw: intervals over seeds come from `npm run bench:gvm` (docs/training.md).");
  return out.join("\n");
}
