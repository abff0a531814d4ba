/**
 * `gvm report`: run directories and evaluation results in, one HTML page
 * with charts (also written as PNG, SVG and their Vega-Lite specs) and
 * tables out.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { type EvalSummary, levelTable, paperTable, type Table, type TableRow } from "../eval/index.js";
import { atomicWrite } from "../util/atomic.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { allocationPoints, byLabel, seriesName } from "./charts.js";
import { type ChartSection, runCharts } from "./chartset.js";
import { reportHtml, type Section } from "./html.js";
import { renderChart } from "./render.js";
import type { ReportInputs, RunData } from "./runs.js";

export { parseMetricsLine, readInputs, readIteration, readRun, runName, type ReportInputs, type RunData } from "./runs.js";
export { renderChart, ReportError, THEME, themed } from "./render.js";
export * from "./charts.js";
export { type ChartSection, type ChartSetOptions, type NamedChart, runCharts } from "./chartset.js";

export interface ReportOptions {
  /** Iteration whose allocation is plotted (default: each run's last). */
  iteration?: number;
  title?: string;
  logger?: Logger;
}

export interface ReportResult {
  html: string;
  /** Every file written, relative to the output directory. */
  files: string[];
  charts: string[];
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : "-");

function runsTable(runs: readonly RunData[]): Table {
  const header = ["Run", "Label", "Seed", "Method", "Strategy", "Regime", "Budget N", "Iterations", "Steps", "Responses", "Wall-clock (s)", "Final acc %", "Best acc %"];
  const rows = runs.map((r) => {
    const last = r.iterations[r.iterations.length - 1];
    const finalEval = r.evals[r.evals.length - 1];
    const best = Math.max(...r.evals.map((e) => e.accuracy));
    return [
      r.dir,
      r.run.label,
      String(r.run.seed),
      r.run.method,
      r.run.strategy,
      r.run.regime,
      `${r.run.budget} (${r.run.budgetMode})`,
      String(last?.iter ?? 0),
      String(last?.step ?? 0),
      String(last?.samples ?? 0),
      (last?.wallclock ?? 0).toFixed(1),
      finalEval ? pct(finalEval.accuracy) : "-",
      r.evals.length > 0 ? pct(best) : "-",
    ];
  });
  return { header, rows };
}

/** Per label: accuracy per level at the last evaluation every seed reached (mean over seeds). */
function trainingLevelTable(runs: readonly RunData[]): Table | null {
  const groups = [...byLabel(runs)].filter(([, g]) => g.every((r) => r.evals.length > 0));
  if (groups.length === 0) return null;
  const levels = [...new Set(runs.flatMap((r) => r.evals.flatMap((e) => Object.keys(e.byLevel))))].sort((a, b) => Number(a) - Number(b));
  const header = ["Method", ...levels.map((l) => `L${l} %`), "All %", "Iteration", "Responses"];
  const rows = groups.map(([label, g]) => {
    const i = Math.min(...g.map((r) => r.evals.length)) - 1;
    const evs = g.map((r) => r.evals[i] as RunData["evals"][number]);
    const avg = (f: (e: (typeof evs)[number]) => number) => evs.reduce((a, e) => a + f(e), 0) / evs.length;
    return [
      seriesName(label, g.length),
      ...levels.map((l) => (evs.every((e) => e.byLevel[l] !== undefined) ? pct(avg((e) => e.byLevel[l] as number)) : "-")),
      pct(avg((e) => e.accuracy)),
      String(evs[0]?.iter ?? 0),
      String(Math.round(avg((e) => e.samples))),
    ];
  });
  return { header, rows };
}

function evalSections(summaries: readonly EvalSummary[]): Section[] {
  if (summaries.length === 0) return [];
  const rows: TableRow[] = summaries.map((s) => ({ label: s.label, sets: s.sets }));
  const tables = [{ caption: "Benchmarks in the paper's layout (avg@k, %)", table: paperTable(rows) }];
  const sets = [...new Set(summaries.flatMap((s) => Object.keys(s.sets)))];
  for (const set of sets) {
    const t = levelTable(rows, set);
    if (t) tables.push({ caption: `${set}: accuracy per level`, table: t });
  }
  const ks = [...new Set(summaries.map((s) => `k=${s.sampling.k}, temperature ${s.sampling.temperature}, max tokens ${s.sampling.maxTokens}`))];
  return [{ title: "Benchmark evaluation", notes: [`Sampling: ${ks.join("; ")}. Averages need every benchmark they cover (Avg (3): MATH500, Minerva Math, OlympiadBench).`], tables }];
}

/** Writes the report into outDir; returns what was written. */
export async function writeReport(inputs: ReportInputs, outDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const logger = options.logger ?? defaultLogger();
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const charts: string[] = [];
  const chart = async (name: string, spec: TopLevelSpec) => {
    const { svg, png } = await renderChart(spec, 2, logger);
    writeFileSync(join(outDir, `${name}.svg`), svg);
    writeFileSync(join(outDir, `${name}.png`), png);
    writeFileSync(join(outDir, `${name}.vl.json`), `${JSON.stringify(spec, null, 2)}\n`);
    files.push(`${name}.svg`, `${name}.png`, `${name}.vl.json`);
    charts.push(name);
    return { name, svg };
  };
  const { runs } = inputs;
  const sections: Section[] = [];

  if (runs.length > 0) {
    const notes: string[] = [];
    for (const [label, g] of byLabel(runs)) {
      const counts = g.map((r) => r.evals.length);
      if (Math.min(...counts) < Math.max(...counts)) notes.push(`${label}: seeds have ${counts.join(", ")} evaluations; curves use the first ${Math.min(...counts)} (reached by every seed).`);
    }
    sections.push({ title: "Runs", tables: [{ caption: "Runs in this report", table: runsTable(runs) }], notes });
    const named = runCharts(runs, options.iteration !== undefined ? { iteration: options.iteration } : {});
    const rendered = async (section: ChartSection) => {
      const out = [];
      for (const c of named.filter((n) => n.section === section)) out.push(await chart(c.name, c.spec));
      return out;
    };
    const accCharts = await rendered("accuracy");
    const levelT = trainingLevelTable(runs);
    sections.push({
      title: "Test accuracy",
      notes: accCharts.length === 0 ? ["No evaluation records in these runs."] : ["Generated responses and tokens count every sampled response, stage 1 included; wall-clock sums resumed segments."],
      charts: accCharts,
      ...(levelT ? { tables: [{ caption: "Built-in suite: test accuracy per difficulty level at the last common evaluation (mean over seeds)", table: levelT }] } : {}),
    });
    const alloc = allocationPoints(runs, options.iteration);
    const skipped = [...byLabel(runs).keys()].filter((l) => !alloc.some((p) => p.series.startsWith(`${l} (`)));
    sections.push({
      title: "Allocation",
      notes: [
        ...(options.iteration !== undefined ? [`Allocation plots show iteration ${options.iteration} where a run reached it, else its last.`] : ["Allocation plots show each method's last iteration (first seed)."]),
        ...(skipped.length > 0 ? [`No acceptance-rate estimates to plot for: ${skipped.join(", ")} (e.g. uniform allocation without stage 1).`] : []),
      ],
      charts: await rendered("allocation"),
    });
    const trainingCharts = await rendered("training");
    if (trainingCharts.length > 0) sections.push({ title: "Training", notes: ["Where each iteration's time went, and every numeric field the learner logs per update step."], charts: trainingCharts });
  }
  const summaries = [...runs.flatMap((r) => r.evalSummaries), ...inputs.evalSummaries];
  sections.push(...evalSections(summaries));
  if (sections.length === 0) logger.warn("report: nothing to show (no runs and no evaluation results)");

  const title = options.title ?? "gvm report";
  const meta = `${runs.length} run(s), ${summaries.length} evaluation(s); generated ${new Date().toISOString()}`;
  const html = reportHtml(title, meta, sections);
  atomicWrite(join(outDir, "index.html"), html);
  files.push("index.html");
  return { html, files, charts };
}
