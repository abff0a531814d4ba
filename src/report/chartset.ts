/**
 * The charts of a set of runs, by name: what `gvm report` writes as files
 * and `gvm dashboard` draws live. One list, so the page and the report
 * never disagree about what a chart is; which charts appear follows from
 * the records (an accuracy chart per counter they carry, allocation charts
 * only where a strategy estimated p_i, ...).
 */
import type { TopLevelSpec } from "vega-lite";
import {
  accuracyCurves,
  accuracySpec,
  allocationPoints,
  allocationSpec,
  budgetShares,
  budgetSpec,
  curveAxes,
  signalsSpec,
  timeSpec,
  timeSplit,
  trainingSignals,
} from "./charts.js";
import type { RunData } from "./runs.js";

export type ChartSection = "accuracy" | "allocation" | "training";

export interface NamedChart {
  /** File stem and element id: accuracy-vs-samples, allocation-vs-p, ... */
  name: string;
  section: ChartSection;
  spec: TopLevelSpec;
}

export interface ChartSetOptions {
  /** Iteration whose allocation is plotted (default: each run's last). */
  iteration?: number;
  /** Most points per series (default: all); long series are thinned evenly. */
  maxPoints?: number;
}

/** A field name as a file stem: letters, digits, '-' and '_' only. */
const stem = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");

export function runCharts(runs: readonly RunData[], options: ChartSetOptions = {}): NamedChart[] {
  const max = options.maxPoints ?? Infinity;
  const out: NamedChart[] = [];
  for (const x of curveAxes(runs)) {
    const points = accuracyCurves(runs, x, max);
    if (points.length > 0) out.push({ name: `accuracy-vs-${stem(x)}`, section: "accuracy", spec: accuracySpec(points, x) });
  }
  const alloc = allocationPoints(runs, options.iteration);
  if (alloc.length > 0) {
    out.push({ name: "allocation-vs-p", section: "allocation", spec: allocationSpec(alloc, "p") });
    out.push({ name: "allocation-vs-g", section: "allocation", spec: allocationSpec(alloc, "G") });
  }
  const shares = budgetShares(runs, max);
  if (shares.length > 0) out.push({ name: "budget-by-level", section: "allocation", spec: budgetSpec(shares) });
  const time = timeSplit(runs, max);
  if (time.length > 0) out.push({ name: "time-per-iteration", section: "training", spec: timeSpec(time) });
  const signals = trainingSignals(runs, max);
  if (signals.length > 0) out.push({ name: "training-signals", section: "training", spec: signalsSpec(signals) });
  return out;
}
