/**
 * The report's charts as Vega-Lite specs, from run records:
 *  - test accuracy against cumulative generated responses, wall-clock and
 *    update steps: one line per label (the mean over its seeds) with the
 *    seeds' min-max as a band;
 *  - allocation of one iteration: n_i against the acceptance rate p_i and
 *    against the gradient norm G_i, coloured by difficulty level;
 *  - the share of each iteration's budget spent on each level.
 * Seeds of a label are aligned by evaluation (or iteration) index, over the
 * indices every seed has reached, so a run still in progress does not drag
 * a mean down with a missing point.
 */
import type { TopLevelSpec } from "vega-lite";
import type { RunData } from "./runs.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Levels are few and short: one row. */
const LEVEL_LEGEND = { direction: "horizontal", columns: 8, symbolOpacity: 1 } as const;

export type CurveX = "samples" | "wallclock" | "step";

export const CURVE_TITLES: Record<CurveX, { x: string; title: string }> = {
  samples: { x: "Generated responses (cumulative, stage 1 included)", title: "Test accuracy vs generated responses" },
  wallclock: { x: "Wall-clock (s)", title: "Test accuracy vs wall-clock" },
  step: { x: "Update steps", title: "Test accuracy vs update steps" },
};

export interface CurvePoint {
  /** Legend entry: label and seed count. */
  series: string;
  label: string;
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

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Mean accuracy over seeds with the seeds' range, against x. */
export function accuracyCurves(runs: readonly RunData[], x: CurveX): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const [label, group] of byLabel(runs)) {
    const n = Math.min(...group.map((r) => r.evals.length));
    const series = seriesName(label, group.length);
    for (let i = 0; i < n; i++) {
      const evs = group.map((r) => r.evals[i] as RunData["evals"][number]);
      const acc = evs.map((e) => e.accuracy);
      out.push({ series, label, seeds: group.length, index: i, iter: evs[0]?.iter ?? i, x: mean(evs.map((e) => e[x])), mean: mean(acc), lo: Math.min(...acc), hi: Math.max(...acc) });
    }
  }
  return out;
}

export function accuracySpec(points: readonly CurvePoint[], x: CurveX): TopLevelSpec {
  const t = CURVE_TITLES[x];
  const bands = points.some((p) => p.seeds > 1);
  // An all-zero curve would otherwise collapse the axis to a single tick.
  const top = Math.min(1, Math.max(0.05, ...points.map((p) => p.hi * 1.1)));
  const y = { type: "quantitative" as const, scale: { domain: [0, top], nice: true } };
  return {
    $schema: SCHEMA,
    title: { text: t.title, subtitle: bands ? "line: mean over seeds; band: min-max over seeds" : "one seed per method" },
    width: 620,
    height: 320,
    data: { values: points.map((p) => ({ ...p })) },
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
  } as TopLevelSpec;
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
export function budgetShares(runs: readonly RunData[]): ShareRow[] {
  const out: ShareRow[] = [];
  for (const [label, group] of byLabel(runs)) {
    const withLevels = group.filter((r) => r.iterations.some((it) => it.allocation.level.length === it.allocation.n.length && it.allocation.n.length > 0));
    if (withLevels.length === 0) continue;
    const n = Math.min(...withLevels.map((r) => r.iterations.length));
    const series = seriesName(label, withLevels.length);
    for (let i = 0; i < n; i++) {
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

export function budgetSpec(rows: readonly ShareRow[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: { text: "Budget share per difficulty level over training", subtitle: "share of each iteration's allocated responses, mean over seeds" },
    data: { values: rows.map((r) => ({ ...r })) },
    facet: { field: "series", type: "nominal", title: null },
    columns: Math.min(2, new Set(rows.map((r) => r.series)).size),
    spec: {
      width: 300,
      height: 200,
      mark: { type: "area", opacity: 0.95, line: { strokeWidth: 0.5, color: "white" } },
      encoding: {
        x: { field: "iter", type: "quantitative", title: "Iteration", scale: { zero: false, nice: false }, axis: { tickMinStep: 1 } },
        y: { field: "share", type: "quantitative", stack: "normalize", title: "Share of responses", axis: { format: ".0%" } },
        color: { field: "level", type: "ordinal", title: "Level", scale: { scheme: "viridis" }, legend: LEVEL_LEGEND },
        order: { field: "level", type: "ordinal" },
      },
    },
  } as TopLevelSpec;
}
