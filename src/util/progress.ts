/**
 * Progress bars, from one place. On a TTY a bar is redrawn in place; off a
 * TTY (CI, pipes) a plain line is printed at most every few seconds, so logs
 * stay readable. Rates and ETA come from the items done so far.
 */
export interface ProgressOptions {
  /** What is being counted, e.g. "responses". */
  unit?: string;
  /** Stream to draw on; stderr by default so stdout stays machine-readable. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum milliseconds between two non-TTY lines. */
  plainIntervalMs?: number;
  /** Draw nothing at all (tests, --quiet). */
  silent?: boolean;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

export class ProgressBar {
  private done = 0;
  private readonly start: number;
  private lastDraw = -Infinity;
  private readonly unit: string;
  private readonly stream: NonNullable<ProgressOptions["stream"]>;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly silent: boolean;
  private readonly now: () => number;
  private finished = false;
  private extra = "";

  constructor(
    readonly label: string,
    readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.unit = options.unit ?? "it";
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.interval = options.plainIntervalMs ?? 5000;
    this.silent = options.silent ?? process.env.GVM_PROGRESS === "0";
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Advances by n items; `info` is shown after the rate (e.g. "acc 0.41"). */
  tick(n = 1, info?: string): void {
    this.done = Math.min(this.total, this.done + n);
    if (info !== undefined) this.extra = info;
    const t = this.now();
    if (this.done >= this.total || t - this.lastDraw >= (this.tty ? 100 : this.interval)) {
      this.lastDraw = t;
      this.draw();
    }
  }

  /** Sets the absolute count (for callbacks that report totals done). */
  set(done: number, info?: string): void {
    this.tick(Math.max(0, Math.min(this.total, done) - this.done), info);
  }

  /** Completes the bar (drawn once more with the final rate). */
  finish(info?: string): void {
    if (this.finished) return;
    if (info !== undefined) this.extra = info;
    this.finished = true;
    this.draw();
    if (this.tty && !this.silent) this.stream.write("\n");
  }

  /** The current line, without drawing it. */
  render(): string {
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const frac = this.total > 0 ? this.done / this.total : 1;
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.NaN;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
    const tail = this.extra ? ` ${this.extra}` : "";
    return `${this.label} [${bar}] ${pct} ${this.done}/${this.total} ${formatRate(rate)} ${this.unit}/s elapsed ${formatDuration(elapsed)} eta ${formatDuration(eta)}${tail}`;
  }

  private draw(): void {
    if (this.silent) return;
    const line = this.render();
    if (this.tty) {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return "-";
  if (rate >= 100) return rate.toFixed(0);
  if (rate >= 10) return rate.toFixed(1);
  return rate.toFixed(2);
}

/** Seconds as "1h02m", "3m05s" or "12s"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}
