/**
 * The runs a dashboard shows, kept current by file-system events: each run
 * directory is watched (fs.watch: inotify on Linux, no polling) and a change
 * to its metrics, samples, config, lock or heartbeat marks it dirty; dirty
 * runs are re-read after a short debounce, only their new bytes, and the
 * charts recomputed with the report's own chart set. Subscribers get one
 * update per flush: every run's summary (small), and only the charts whose
 * spec changed.
 *
 * A directory given may be a run directory or a directory of them; new runs
 * appearing under the latter join the page. One timer, every few seconds,
 * re-derives the status of runs shown as running (is the lock's PID still
 * alive?), since a killed process writes nothing to watch.
 */
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { join, resolve } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { type ChartSection, runCharts, themed } from "../report/index.js";
import type { RunData } from "../report/index.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { RunState, type RunStateOptions, type RunSummary, type SampleRecord } from "./run.js";

export interface ChartPayload {
  name: string;
  section: ChartSection;
  /** The Vega-Lite spec with the report's theme applied. */
  spec: TopLevelSpec;
}

/** What a page needs to draw everything: sent when it connects. */
export interface DashboardState {
  /** Increases with every update; an update's seq follows its state's. */
  seq: number;
  /** ISO time of this state. */
  time: string;
  /** The directories given, resolved. */
  roots: string[];
  runs: RunSummary[];
  charts: ChartPayload[];
  samples: Record<string, SampleRecord[]>;
  configs: Record<string, Record<string, unknown> | null>;
}

/** What changed since the previous state: every summary, and only the charts, samples and configs that changed. */
export interface DashboardUpdate {
  seq: number;
  time: string;
  runs: RunSummary[];
  charts: ChartPayload[];
  /** Charts that no longer apply. */
  removed: string[];
  samples: Record<string, SampleRecord[]>;
  configs: Record<string, Record<string, unknown> | null>;
}

export interface RunSetOptions extends RunStateOptions {
  /** Most points per series in a chart (long runs are thinned evenly; default 120). */
  maxPoints?: number;
  /** Wait after a file event before reading, so a burst of writes is read once (ms, default 40). */
  debounceMs?: number;
  /** Least time between two updates (ms, default 200). */
  minIntervalMs?: number;
  /** How often the status of running runs is re-derived (ms, default 5000). */
  statusEveryMs?: number;
  logger?: Logger;
}

/** Files whose change means the page may change. */
const WATCHED = new Set(["metrics.jsonl", "samples.jsonl", "config.json", "lock", "heartbeat.json"]);

/** New subdirectories watched at most while they are not runs yet. */
const MAX_PENDING = 64;

function looksLikeRun(dir: string): boolean {
  return [...WATCHED].some((f) => existsSync(join(dir, f)));
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export class RunSet {
  readonly roots: string[];
  private readonly runs: RunState[] = [];
  private readonly byDir = new Map<string, RunState>();
  private readonly watchers: FSWatcher[] = [];
  private readonly dirty = new Set<RunState>();
  private readonly listeners = new Set<(u: DashboardUpdate) => void>();
  private readonly chartJson = new Map<string, string>();
  private charts: ChartPayload[] = [];
  private summaries: RunSummary[] = [];
  private summariesJson = "";
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private rescan = false;
  /** Subdirectories that appeared under a directory of runs and are not runs yet. */
  private readonly pending = new Set<string>();
  private readonly log: Logger;
  private readonly o: Required<Pick<RunSetOptions, "maxPoints" | "debounceMs" | "minIntervalMs" | "statusEveryMs">>;

  constructor(
    dirs: readonly string[],
    private readonly stateOptions: RunSetOptions = {},
  ) {
    this.roots = dirs.map((d) => resolve(d));
    this.log = stateOptions.logger ?? defaultLogger();
    this.o = {
      maxPoints: stateOptions.maxPoints ?? 120,
      debounceMs: stateOptions.debounceMs ?? 40,
      minIntervalMs: stateOptions.minIntervalMs ?? 200,
      statusEveryMs: stateOptions.statusEveryMs ?? 5000,
    };
  }

  /** Finds the runs, reads them whole, and starts watching. */
  start(): void {
    for (const root of this.roots) {
      if (!looksLikeRun(root)) this.watch(root, (name) => this.onRootEvent(root, name));
    }
    this.discover();
    for (const r of this.runs) r.refresh();
    this.recompute();
    this.updateSummaries();
    this.statusTimer = setInterval(() => this.checkStatus(), this.o.statusEveryMs);
    this.statusTimer.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.timer) clearTimeout(this.timer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.timer = this.statusTimer = null;
    this.listeners.clear();
  }

  subscribe(fn: (u: DashboardUpdate) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  run(id: string): RunState | undefined {
    return this.runs.find((r) => r.id === id);
  }

  snapshot(): DashboardState {
    return {
      seq: this.seq,
      time: new Date().toISOString(),
      roots: this.roots,
      runs: this.summaries,
      charts: this.charts,
      samples: Object.fromEntries(this.runs.map((r) => [r.id, r.samples()])),
      configs: Object.fromEntries(this.runs.map((r) => [r.id, r.resolvedConfig()])),
    };
  }

  /** Adds the run directories not seen yet: the roots that are runs, and runs one level under the others. */
  private discover(): RunState[] {
    const added: RunState[] = [];
    const add = (dir: string) => {
      if (this.byDir.has(dir)) return;
      const r = new RunState(`r${this.runs.length}`, dir, this.stateOptions);
      this.runs.push(r);
      this.byDir.set(dir, r);
      added.push(r);
      this.watch(dir, (name) => {
        if (name === null || WATCHED.has(name)) this.markDirty(r);
      });
    };
    for (const root of this.roots) {
      if (looksLikeRun(root)) {
        add(root);
        continue;
      }
      let names: string[] = [];
      try {
        names = readdirSync(root).sort();
      } catch (err) {
        this.log.debug(`dashboard: cannot list ${root} (${(err as Error).message})`);
      }
      for (const name of names) {
        const dir = join(root, name);
        if (isDir(dir) && looksLikeRun(dir)) add(dir);
      }
    }
    return added;
  }

  private watch(dir: string, onEvent: (name: string | null) => void): void {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => onEvent(name === null ? null : String(name)));
      w.on("error", (err) => this.log.debug(`dashboard: stopped watching ${dir} (${err.message})`));
      this.watchers.push(w);
    } catch (err) {
      this.log.warn(`dashboard: cannot watch ${dir} (${(err as Error).message}); it will not update live`);
    }
  }

  /**
   * Something changed in a directory of runs: look for new runs. A new
   * subdirectory not yet a run (made, its files still to come) is watched
   * until it becomes one, since its files' events happen inside it.
   */
  private onRootEvent(root: string, name: string | null): void {
    if (name !== null && !this.pending.has(join(root, name)) && this.pending.size < MAX_PENDING) {
      const dir = join(root, name);
      if (!this.byDir.has(dir) && isDir(dir)) {
        this.pending.add(dir);
        this.watch(dir, () => this.scheduleRescan());
      }
    }
    this.scheduleRescan();
  }

  private markDirty(r: RunState): void {
    this.dirty.add(r);
    this.schedule();
  }

  private scheduleRescan(): void {
    this.rescan = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(this.o.debounceMs, this.lastFlush + this.o.minIntervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    this.lastFlush = Date.now();
    const added = this.rescan ? this.discover() : [];
    this.rescan = false;
    for (const r of added) this.dirty.add(r);
    const dirty = [...this.dirty];
    this.dirty.clear();
    const samples: DashboardUpdate["samples"] = {};
    const configs: DashboardUpdate["configs"] = {};
    let records = added.length > 0;
    for (const r of dirty) {
      const [rv, sv, cv] = [r.recordsVersion, r.samplesVersion, r.configVersion];
      try {
        r.refresh();
      } catch (err) {
        this.log.warn(`dashboard: cannot read ${r.dir} (${(err as Error).message})`);
        continue;
      }
      if (r.recordsVersion !== rv) records = true;
      if (r.samplesVersion !== sv) samples[r.id] = r.samples();
      if (r.configVersion !== cv) configs[r.id] = r.resolvedConfig();
    }
    const { changed, removed } = records ? this.recompute() : { changed: [], removed: [] };
    const runsChanged = this.updateSummaries();
    if (changed.length === 0 && removed.length === 0 && !runsChanged && Object.keys(samples).length === 0 && Object.keys(configs).length === 0) return;
    this.emit({ seq: ++this.seq, time: new Date().toISOString(), runs: this.summaries, charts: changed, removed, samples, configs });
  }

  private checkStatus(): void {
    if (!this.summaries.some((s) => s.status === "running")) return;
    if (this.updateSummaries()) this.emit({ seq: ++this.seq, time: new Date().toISOString(), runs: this.summaries, charts: [], removed: [], samples: {}, configs: {} });
  }

  private emit(u: DashboardUpdate): void {
    for (const fn of this.listeners) {
      try {
        fn(u);
      } catch (err) {
        this.log.warn(`dashboard: an update listener failed (${(err as Error).message})`);
      }
    }
  }

  /** Summaries anew; true when any differs from the last ones. */
  private updateSummaries(): boolean {
    const now = Date.now();
    const next = this.runs.map((r) => r.summary(now));
    const json = JSON.stringify(next);
    this.summaries = next;
    if (json === this.summariesJson) return false;
    this.summariesJson = json;
    return true;
  }

  /** Charts from every run with records; returns those whose spec changed and those gone. */
  private recompute(): { changed: ChartPayload[]; removed: string[] } {
    const data = this.runs.map((r) => r.runData()).filter((d): d is RunData => d !== null);
    let named: ChartPayload[] = [];
    try {
      named = runCharts(data, { maxPoints: this.o.maxPoints }).map((c) => ({ name: c.name, section: c.section, spec: themed(c.spec) }));
    } catch (err) {
      this.log.warn(`dashboard: charts could not be built (${(err as Error).message})`);
      return { changed: [], removed: [] };
    }
    const changed: ChartPayload[] = [];
    const names = new Set(named.map((c) => c.name));
    for (const c of named) {
      const json = JSON.stringify(c.spec);
      if (this.chartJson.get(c.name) !== json) changed.push(c);
      this.chartJson.set(c.name, json);
    }
    const removed = [...this.chartJson.keys()].filter((n) => !names.has(n));
    for (const n of removed) this.chartJson.delete(n);
    this.charts = named;
    return { changed, removed };
  }
}
