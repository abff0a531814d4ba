/**
 * From per-problem records to the numbers people compare: per set avg@k
 * (with a 95% interval over problems), pass@j, maj@k and accuracy per
 * level; across sets the paper's table (MATH500, Minerva Math,
 * OlympiadBench, AIME24, AMC23, their 5-benchmark average and the
 * 3-benchmark average of MATH500, Minerva Math and OlympiadBench).
 * Averages need every benchmark they cover: a partial average would not be
 * comparable with the paper's, so it shows as missing instead.
 */
import { BENCHMARKS, THREE_BENCHMARKS } from "./benchmarks.js";
import type { ProblemRecord } from "./harness.js";
import { meanWithCi } from "./metrics.js";
import { mean } from "../util/stats.js";

export interface SetSummary {
  set: string;
  problems: number;
  k: number;
  /** avg@k: mean over problems of the fraction of correct responses. */
  avg: number;
  /** 95% Wilson interval of avg@k over problems (inside [0, 1]; see meanWithCi). */
  ci: [number, number];
  /** pass@j (mean over problems) for j = 1, 2, 4, ..., k. */
  pass: Record<string, number>;
  /** maj@k: share of problems whose majority answer is correct. */
  maj: number;
  /** Share of responses in which no final answer was found. */
  noAnswer: number;
  /** Share of responses cut at the token limit. */
  truncated: number;
  /** Mean response length in tokens. */
  meanTokens: number;
  /** Seconds spent sampling and grading (summed over resumed segments). */
  seconds: number;
  /** avg@k per level, when the set has levels. */
  byLevel: Record<string, { problems: number; avg: number }>;
}

export function summarizeSet(set: string, records: readonly ProblemRecord[]): SetSummary {
  const k = records[0]?.k ?? 0;
  const avg = meanWithCi(records.map((r) => r.avg), Math.max(1, k));
  const pass: Record<string, number> = {};
  for (const key of Object.keys(records[0]?.pass ?? {})) pass[key] = mean(records.map((r) => r.pass[key] ?? Number.NaN));
  const responses = records.flatMap((r) => r.responses);
  const levels = new Map<string, number[]>();
  for (const r of records) {
    if (r.level === null) continue;
    const xs = levels.get(r.level) ?? [];
    xs.push(r.avg);
    levels.set(r.level, xs);
  }
  const byLevel: Record<string, { problems: number; avg: number }> = {};
  for (const level of [...levels.keys()].sort(levelOrder)) {
    const xs = levels.get(level) as number[];
    byLevel[level] = { problems: xs.length, avg: mean(xs) };
  }
  return {
    set,
    problems: records.length,
    k,
    avg: avg.mean,
    ci: [avg.lo, avg.hi],
    pass,
    maj: mean(records.map((r) => (r.maj ? 1 : 0))),
    noAnswer: mean(responses.map((r) => (r.extracted === null ? 1 : 0))),
    truncated: mean(responses.map((r) => (r.finish === "length" ? 1 : 0))),
    meanTokens: mean(responses.map((r) => r.tokens)),
    seconds: records.reduce((a, r) => a + r.seconds, 0),
    byLevel,
  };
}

/** Numeric levels in numeric order, then the rest alphabetically. */
function levelOrder(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  if (Number.isFinite(x)) return -1;
  if (Number.isFinite(y)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export type TableMetric = "avg" | "maj" | `pass@${number}`;

/** One set's value of a metric, or undefined when it was not measured. */
export function metricValue(s: SetSummary, metric: TableMetric): number | undefined {
  if (metric === "avg") return s.avg;
  if (metric === "maj") return s.maj;
  return s.pass[metric.slice("pass@".length)];
}

/** Mean of the listed sets' metric, or null unless every one of them is present. */
export function setAverage(sets: Record<string, SetSummary>, names: readonly string[], metric: TableMetric = "avg"): number | null {
  const xs = names.map((n) => (sets[n] ? metricValue(sets[n], metric) : undefined));
  if (xs.some((x) => x === undefined || !Number.isFinite(x))) return null;
  return mean(xs as number[]);
}

export interface TableRow {
  /** Model or checkpoint label. */
  label: string;
  sets: Record<string, SetSummary>;
}

export interface Table {
  header: string[];
  rows: string[][];
}

/**
 * The paper's layout: one row per model, columns the five benchmarks in the
 * paper's order, then the 5- and 3-benchmark averages, values in percent
 * with two decimals; "-" where a set was not evaluated. Other sets
 * evaluated (custom files, the built-in suite) follow as extra columns.
 */
export function paperTable(rows: readonly TableRow[], metric: TableMetric = "avg"): Table {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r.sets)))].filter((n) => !BENCHMARKS.some((b) => b.name === n)).sort();
  const k = [...new Set(rows.flatMap((r) => Object.values(r.sets).map((s) => s.k)))];
  const metricName = metric === "avg" ? `avg@${k.length === 1 ? k[0] : "k"}` : metric === "maj" ? `maj@${k.length === 1 ? k[0] : "k"}` : metric;
  // The paper's columns appear whenever any of its benchmarks was evaluated.
  const paper = rows.some((r) => BENCHMARKS.some((b) => r.sets[b.name]));
  const header = [`Model (${metricName}, %)`, ...(paper ? [...BENCHMARKS.map((b) => b.title), "Avg (5)", "Avg (3)"] : []), ...extra];
  const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : (100 * x).toFixed(2));
  const body = rows.map((r) => [
    r.label,
    ...(paper
      ? [
          ...BENCHMARKS.map((b) => pct(r.sets[b.name] ? metricValue(r.sets[b.name] as SetSummary, metric) : undefined)),
          pct(setAverage(r.sets, BENCHMARKS.map((b) => b.name), metric)),
          pct(setAverage(r.sets, THREE_BENCHMARKS, metric)),
        ]
      : []),
    ...extra.map((n) => pct(r.sets[n] ? metricValue(r.sets[n] as SetSummary, metric) : undefined)),
  ]);
  return { header, rows: body };
}

/** Accuracy per level of one set, one row per model. */
export function levelTable(rows: readonly TableRow[], set: string): Table | null {
  const levels = [...new Set(rows.flatMap((r) => Object.keys(r.sets[set]?.byLevel ?? {})))].sort(levelOrder);
  if (levels.length === 0) return null;
  const header = [`Model (${set} avg@k, %)`, ...levels.map((l) => `L${l}`), "All"];
  const body = rows
    .filter((r) => r.sets[set])
    .map((r) => {
      const s = r.sets[set] as SetSummary;
      return [r.label, ...levels.map((l) => (s.byLevel[l] ? `${(100 * (s.byLevel[l]?.avg ?? 0)).toFixed(1)} (n=${s.byLevel[l]?.problems})` : "-")), (100 * s.avg).toFixed(1)];
    });
  return { header, rows: body };
}

export function formatMarkdown(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(t.header), rule, ...t.rows.map(line)].join("\n");
}

export function formatCsv(t: Table): string {
  const cell = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return [t.header, ...t.rows].map((r) => r.map(cell).join(",")).join("\n");
}
