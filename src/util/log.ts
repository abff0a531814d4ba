/**
 * The one logger. Library code never writes to the console directly: it logs
 * here, and the CLI decides the level and where lines go.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** Lowest level that is written. */
  level?: LogLevel;
  /** Where formatted lines go; stderr by default so stdout stays machine-readable. */
  sink?: LogSink;
}

export class Logger {
  level: LogLevel;
  private readonly sink: LogSink;
  private readonly warnedOnce = new Set<string>();

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? "info";
    this.sink = options.sink ?? ((line) => process.stderr.write(`${line}\n`));
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level] && level !== "silent";
  }

  debug(message: string): void {
    this.write("debug", message);
  }
  info(message: string): void {
    this.write("info", message);
  }
  warn(message: string): void {
    this.write("warn", message);
  }
  error(message: string): void {
    this.write("error", message);
  }

  /** Warns once per key for the life of the logger (fallbacks, deprecations). */
  warnOnce(key: string, message: string): void {
    if (this.warnedOnce.has(key)) return;
    this.warnedOnce.add(key);
    this.warn(message);
  }

  private write(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    this.sink(level === "info" ? message : `[${level}] ${message}`);
  }
}

function levelFromEnv(): LogLevel {
  const v = process.env.GVM_LOG_LEVEL;
  return v === "debug" || v === "info" || v === "warn" || v === "error" || v === "silent" ? v : "info";
}

let shared: Logger | undefined;

/**
 * The process-wide logger used where a caller passed none. Its level comes
 * from GVM_LOG_LEVEL; the CLI sets it from --log-level.
 */
export function defaultLogger(): Logger {
  shared ??= new Logger({ level: levelFromEnv() });
  return shared;
}
