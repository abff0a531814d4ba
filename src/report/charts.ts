/**
 * The report's charts as Vega-Lite specs, from run records. `gvm report`
 * renders them to SVG/PNG and `gvm dashboard` draws the same specs live in
 * the browser, so each builder is the one definition of its chart:
 *  - test accuracy against each cumulative counter the records carry
 *    (update steps, generated responses, tokens, wall-clock, and any counter
 *    added later): one line per label (the mean over its seeds) with the
 *    seeds' min-max as a band;
 *  - allocation of one iteration: n_i against the acceptance rate p_i and
 *    against the gradient norm G_i, coloured by difficulty level;
 *  - the share of each iteration's budget spent on each level;
 *  - the time each iteration spent in each part (the record's `time` keys);
 *  - every numeric field of the step records against update steps.
 * Seeds of a label are aligned by evaluation (or iteration, or step) index,
 * over the indices every seed has reached, so a run still in progress does
 * not drag a mean down with a missing point. `maxPoints` thins long series
 * evenly (first and last kept), so a page stays light with long runs.
 */
import type { TopLevelSpec } from "vega-lite";
import { mean } from "../util/stats.js";
import type { RunData } from "./runs.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Levels are few and short: one row. */
const LEVEL_LEGEND = { direction: "horizontal", columns: 8, symbolOpacity: 1 } as const;

/** A cumulative counter field of the records (step, samples, tokens, wallclock, ...). */
export type CurveX = string;

const KNOWN_AXES: Record<string, { x: string; title: string }> = {
  samples: { x: "Generated responses (cumulative, stage 1 included)", title: "Test accuracy vs generated responses" },
  tokens: { x: "Generated tokens (cumulative, stage 1 included)", title: "Test accuracy vs generated tokens" },
  wallclock: { x: "Wall-clock (s)", title: "Test accuracy vs wall-clock" },
  step: { x: "Update steps", title: "Test accuracy vs update steps" },
};

/** Axis and chart titles for a counter; fields no one has named yet read as themselves. */
export function axisTitle(x: CurveX): { x: string; title: string } {
  return KNOWN_AXES[x] ?? { x, title: `Test accuracy vs ${x}` };
}

/** Fields of evaluation records that are results or settings, not counters of the run's progress. */
const NOT_AXES = new Set(["iter", "accuracy", "k", "problems"]);

type Fields = Record<string, unknown>;
const fieldsOf = (r: object) => r as Fields;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * The x axes of the accuracy charts, read off the records rather than a
 * list: the numeric fields every evaluation record of a run carries that
 * its step or iteration records carry too (the counters the trainer stamps
 * on every record). A run with no step or iteration yet offers the counters
 * known to be such. Known counters first, in a fixed order, then the rest.
 */
export function curveAxes(runs: readonly RunData[]): CurveX[] {
  const found = new Set<string>();
  for (const r of runs) {
    const first = r.evals[0];
    if (first === undefined) continue;
    const progress = [...r.iterations.slice(-1), ...r.steps.slice(-1)];
    const counter = (f: string) => (progress.length === 0 ? f in KNOWN_AXES : progress.some((p) => isNum(fieldsOf(p)[f])));
    for (const f of Object.keys(first)) {
      if (NOT_AXES.has(f) || found.has(f) || !counter(f)) continue;
      if (r.evals.every((e) => isNum(fieldsOf(e)[f]))) found.add(f);
    }
  }
  const known = Object.keys(KNOWN_AXES).filter((f) => found.has(f));
  return [...known, ...[...found].filter((f) => !(f in KNOWN_AXES)).sort()];
}

/** At most `max` of the indices 0..n-1, evenly spread, the first and the last always among them. */
export function thinIndices(n: number, max = Infinity): number[] {
  if (n <= max || n <= 2) return Array.from({ length: n }, (_, i) => i);
  const m = Math.max(2, Math.floor(max));
  const out = new Set<number>();
  for (let j = 0; j < m; j++) out.add(Math.round((j * (n - 1)) / (m - 1)));
  return [...out];
}

export interface CurvePoint {
  /** Legend entry: label and seed count. */
  series: string;
  label: string;
  /** Prompt regime of the label's runs: one panel per regime. */
  regime: string;
  seeds: number;
  /** Evaluation index (0 = before training). */
  index: number;
  iter: number;
  x: number;
  mean: number;
  lo: number;
  hi: number;
}

/**
 * Runs grouped by label, labels in first-seen order, seeds sorted. Runs of
 * different prompt regimes are never seeds of one another: when the runs
 * span several regimes, the regime joins the label.
 */
export function byLabel(runs: readonly RunData[]): Map<string, RunData[]> {
  const groups = new Map<string, RunData[]>();
  const regimes = new Set(runs.map((r) => r.run.regime));
  for (const r of runs) {
    const key = regimes.size > 1 ? `${r.run.label} [${r.run.regime}]` : r.run.label;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  for (const g of groups.values()) g.sort((a, b) => a.run.seed - b.run.seed);
  return groups;
}

export function seriesName(label: string, seeds: number): string {
  return `${label} (${seeds} seed${seeds === 1 ? "" : "s"})`;
}

/**
 * Mean accuracy over seeds with the seeds' range, against x. A label is
 * left out of an axis some of its seeds did not log (tokens in old runs).
 */
export function accuracyCurves(runs: readonly RunData[], x: CurveX, maxPoints = Infinity): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const [label, group] of byLabel(runs)) {
    const n = Math.min(...group.map((r) => r.evals.length));
    const series = seriesName(label, group.length);
    for (const i of thinIndices(n, maxPoints)) {
      const evs = group.map((r) => r.evals[i] as RunData["evals"][number]);
      const xs = evs.map((e) => fieldsOf(e)[x]);
      if (!xs.every(isNum)) continue;
      const acc = evs.map((e) => e.accuracy);
      out.push({ series, label, regime: group[0]?.run.regime ?? "", seeds: group.length, index: i, iter: evs[0]?.iter ?? i, x: mean(xs), mean: mean(acc), lo: Math.min(...acc), hi: Math.max(...acc) });
    }
  }
  return out;
}

export function accuracySpec(points: readonly CurvePoint[], x: CurveX): TopLevelSpec {
  const t = axisTitle(x);
  const bands = points.some((p) => p.seeds > 1);
  // An all-zero curve would otherwise collapse the axis to a single tick.
  const top = Math.min(1, Math.max(0.05, ...points.map((p) => p.hi * 1.1)));
  const y = { type: "quantitative" as const, scale: { domain: [0, top], nice: true } };
  const regimes = new Set(points.map((p) => p.regime));
  const chart = {
    width: regimes.size > 1 ? 420 : 620,
    height: 320,
    encoding: {
      x: { field: "x", type: "quantitative", title: t.x, scale: { zero: true }, ...(x === "wallclock" ? {} : { axis: { tickMinStep: 1 } }) },
      // The band layer would make the legend's symbols as faint as itself.
      color: { field: "series", type: "nominal", title: "Method", legend: { symbolType: "stroke", symbolStrokeWidth: 3, symbolOpacity: 1 } },
    },
    layer: [
      ...(bands ? [{ mark: { type: "area" as const, opacity: 0.18 }, encoding: { y: { field: "lo", ...y }, y2: { field: "hi" } } }] : []),
      {
        mark: { type: "line", point: { size: 40 }, strokeWidth: 2 },
        encoding: { y: { field: "mean", ...y, title: "Test accuracy", axis: { format: top <= 0.1 ? ".1%" : ".0%" } } },
      },
    ],
  };
  const head = {
    $schema: SCHEMA,
    title: { text: t.title, subtitle: bands ? "line: mean over seeds; band: min-max over seeds" : "one seed per method" },
    data: { values: points.map((p) => ({ ...p })) },
  };
  // Runs of several prompt regimes: one panel each, side by side on shared axes.
  if (regimes.size > 1) return { ...head, facet: { column: { field: "regime", type: "nominal", title: "Regime" } }, spec: chart } as TopLevelSpec;
  return { ...head, ...chart } as TopLevelSpec;
}

export interface AllocationPoint {
  series: string;
  iter: number;
  level: string;
  p: number;
  G: number;
  n: number;
}

/**
 * The allocation of one iteration per label (its first seed): `iteration`
 * when given and reached, else the last one. Prompts without a finite p
 * (strategies that estimate none, such as uniform) are left out.
 */
export function allocationPoints(runs: readonly RunData[], iteration?: number): AllocationPoint[] {
  const out: AllocationPoint[] = [];
  for (const [label, group] of byLabel(runs)) {
    const r = group[0] as RunData;
    const it = (iteration === undefined ? undefined : r.iterations.find((x) => x.iter === iteration)) ?? r.iterations[r.iterations.length - 1];
    if (!it) continue;
    const a = it.allocation;
    const series = `${label} (seed ${r.run.seed}, iteration ${it.iter})`;
    a.n.forEach((n, i) => {
      const p = a.p[i];
      const G = a.G[i];
      if (p === undefined || G === undefined || !Number.isFinite(p)) return;
      out.push({ series, iter: it.iter, level: a.level[i] === undefined ? "?" : String(a.level[i]), p, G, n });
    });
  }
  return out;
}

export function allocationSpec(points: readonly AllocationPoint[], x: "p" | "G"): TopLevelSpec {
  const xTitle = x === "p" ? "Acceptance rate pᵢ (stage-1 estimate)" : "Gradient norm Gᵢ (mean over accepted responses)";
  return {
    $schema: SCHEMA,
    title: {
      text: x === "p" ? "Allocation nᵢ against acceptance rate pᵢ" : "Allocation nᵢ against gradient norm Gᵢ",
      subtitle: "prompts of one iteration; colour: difficulty level; size: prompts at the same point",
    },
    data: { values: points.filter((p) => Number.isFinite(p[x])).map((p) => ({ ...p })) },
    // Prompts with equal (x, n, level) would hide each other: draw them once, sized by their count.
    transform: [{ aggregate: [{ op: "count", as: "prompts" }], groupby: ["series", "level", x, "n"] }],
    facet: { field: "series", type: "nominal", title: null },
    columns: Math.min(2, new Set(points.map((p) => p.series)).size),
    spec: {
      width: 300,
      height: 220,
      mark: { type: "point", filled: true, opacity: 0.7 },
      encoding: {
        x: { field: x, type: "quantitative", title: xTitle, ...(x === "p" ? { scale: { domain: [0, 1] } } : {}) },
        y: { field: "n", type: "quantitative", title: "Responses allocated nᵢ" },
        color: { field: "level", type: "ordinal", title: "Level", scale: { scheme: "viridis" }, legend: LEVEL_LEGEND },
        size: { field: "prompts", type: "quantitative", title: "Prompts", scale: { range: [40, 400], zero: false }, legend: { direction: "horizontal", columns: 8, symbolOpacity: 0.7 } },
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  } as TopLevelSpec;
}

export interface ShareRow {
  series: string;
  iter: number;
  level: string;
  share: number;
}

/** Per label (mean over seeds), per iteration: the share of allocated responses that went to each level. */
export function budgetShares(runs: readonly RunData[], maxPoints = Infinity): ShareRow[] {
  const out: ShareRow[] = [];
  for (const [label, group] of byLabel(runs)) {
    const withLevels = group.filter((r) => r.iterations.some((it) => it.allocation.level.length === it.allocation.n.length && it.allocation.n.length > 0));
    if (withLevels.length === 0) continue;
    const n = Math.min(...withLevels.map((r) => r.iterations.length));
    const series = seriesName(label, withLevels.length);
    for (const i of thinIndices(n, maxPoints)) {
      const perSeed = withLevels.map((r) => {
        const a = (r.iterations[i] as RunData["iterations"][number]).allocation;
        const total = a.n.reduce((s, x) => s + x, 0);
        const shares = new Map<string, number>();
        a.n.forEach((x, j) => {
          const level = String(a.level[j] ?? "?");
          shares.set(level, (shares.get(level) ?? 0) + (total > 0 ? x / total : 0));
        });
        return shares;
      });
      const levels = [...new Set(perSeed.flatMap((m) => [...m.keys()]))].sort();
      const iter = (withLevels[0]?.iterations[i] as RunData["iterations"][number]).iter;
      for (const level of levels) out.push({ series, iter, level, share: mean(perSeed.map((m) => m.get(level) ?? 0)) });
    }
  }
  return out;
}

/** One stacked area chart per series over iterations: the shape of the budget and time charts. */
function iterationAreas(
  rows: readonly { series: string }[],
  title: { text: string; subtitle: string },
  opacity: number,
  y: Record<string, unknown>,
  color: Record<string, unknown>,
): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values: rows.map((r) => ({ ...r })) },
    facet: { field: "series", type: "nominal", title: null },
    columns: Math.min(2, new Set(rows.map((r) => r.series)).size),
    spec: {
      width: 300,
      height: 200,
      mark: { type: "area", opacity, line: { strokeWidth: 0.5, color: "white" } },
      encoding: {
        x: { field: "iter", type: "quantitative", title: "Iteration", scale: { zero: false, nice: false }, axis: { tickMinStep: 1 } },
        y,
        color,
        order: { field: color.field, type: "ordinal" },
      },
    },
  } as TopLevelSpec;
}

export function budgetSpec(rows: readonly ShareRow[]): TopLevelSpec {
  return iterationAreas(
    rows,
    { text: "Budget share per difficulty level over training", subtitle: "share of each iteration's allocated responses, mean over seeds" },
    0.95,
    { field: "share", type: "quantitative", stack: "normalize", title: "Share of responses", axis: { format: ".0%" } },
    { field: "level", type: "ordinal", title: "Level", scale: { scheme: "viridis" }, legend: LEVEL_LEGEND },
  );
}

export interface TimeRow {
  series: string;
  iter: number;
  /** A key of the iteration record's `time` (sampling, scoring, update, ...). */
  part: string;
  seconds: number;
}

/** Per label (mean over seeds), per iteration: seconds spent in each part the records name. */
export function timeSplit(runs: readonly RunData[], maxPoints = Infinity): TimeRow[] {
  const out: TimeRow[] = [];
  for (const [label, group] of byLabel(runs)) {
    const n = Math.min(...group.map((r) => r.iterations.length));
    const series = seriesName(label, group.length);
    for (const i of thinIndices(n, maxPoints)) {
      const its = group.map((r) => r.iterations[i] as RunData["iterations"][number]);
      const parts = [...new Set(its.flatMap((it) => Object.keys(it.time ?? {})))];
      for (const part of parts) {
        const secs = its.map((it) => fieldsOf(it.time ?? {})[part]);
        if (secs.every(isNum)) out.push({ series, iter: (its[0] as RunData["iterations"][number]).iter, part, seconds: mean(secs) });
      }
    }
  }
  return out;
}

export function timeSpec(rows: readonly TimeRow[]): TopLevelSpec {
  return iterationAreas(
    rows,
    { text: "Time per iteration, by part", subtitle: "seconds each iteration spent in each part, mean over seeds" },
    0.9,
    { field: "seconds", type: "quantitative", stack: "zero", title: "Seconds" },
    { field: "part", type: "nominal", title: "Part", scale: { scheme: "set2" }, legend: { direction: "horizontal", columns: 8 } },
  );
}

export interface SignalRow {
  series: string;
  step: number;
  /** A numeric field of the step records (loss, entropy, gradNorm, ...). */
  field: string;
  value: number;
}

/** Step-record fields that count progress (the x axis or accuracy-chart axes), not training signals. */
const COUNTERS = new Set(["iter", "step", "samples", "tokens", "wallclock"]);

/**
 * Per label (mean over seeds, aligned by step index), every numeric field
 * of the step records against update steps: whatever the learner logs is
 * drawn without naming it here.
 */
export function trainingSignals(runs: readonly RunData[], maxPoints = Infinity): SignalRow[] {
  const out: SignalRow[] = [];
  for (const [label, group] of byLabel(runs)) {
    const n = Math.min(...group.map((r) => r.steps.length));
    if (n === 0) continue;
    const series = seriesName(label, group.length);
    const fields = Object.keys(group[0]?.steps[n - 1] ?? {}).filter((f) => !COUNTERS.has(f) && isNum(fieldsOf(group[0]?.steps[n - 1] ?? {})[f]));
    for (const i of thinIndices(n, maxPoints)) {
      const sts = group.map((r) => fieldsOf(r.steps[i] as RunData["steps"][number]));
      for (const field of fields) {
        const vs = sts.map((s) => s[field]);
        if (vs.every(isNum)) out.push({ series, step: mean(sts.map((s) => s.step as number)), field, value: mean(vs) });
      }
    }
  }
  return out;
}

export function signalsSpec(rows: readonly SignalRow[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: { text: "Training signals per update step", subtitle: "every numeric field of the step records; mean over seeds" },
    data: { values: rows.map((r) => ({ ...r })) },
    facet: { field: "field", type: "nominal", title: null },
    columns: 3,
    spec: {
      width: 220,
      height: 130,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "Update steps", axis: { tickMinStep: 1 } },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: { field: "series", type: "nominal", title: "Method", legend: { symbolType: "stroke", symbolStrokeWidth: 3 } },
      },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}
