/**
 * The shape of a `gvm` subcommand. Each lives in its own module and is loaded
 * only when invoked, so `gvm --help` never pays for the engine or verifier.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, errorMessage } from "../util/errors.js";

export interface CommandIo {
  /** Machine-readable output (JSON lines, tables). */
  stdout: NodeJS.WritableStream;
  /** Human-facing messages: progress, warnings, errors. */
  stderr: NodeJS.WritableStream;
}

export interface Command {
  /** The word after `gvm`. */
  readonly name: string;
  /** One line for `gvm --help`. */
  readonly summary: string;
  /** Full `--help` text: usage, options, examples. */
  readonly help: string;
  /** Runs the command; resolves to the exit code (0 ok, 1 runtime failure, 2 usage error). */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses argv against a spec with node:util parseArgs, turning its errors into
 * ConfigErrors that name the command and the offending option.
 */
export type ParsedOptions<T extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>>;

export function parseOptions<T extends OptionSpec>(command: string, argv: readonly string[], options: T, allowPositionals = false): ParsedOptions<T> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (err) {
    throw usageError(command, errorMessage(err));
  }
}

/** A usage error that names the command and points at its --help. */
export function usageError(command: string, message: string): ConfigError {
  return new ConfigError(`gvm ${command}: ${message}. Run 'gvm ${command} --help' for usage.`);
}

/** Reads a numeric option, failing with a message that names it. */
export function numberOption(command: string, name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x)) {
    throw new ConfigError(`gvm ${command}: --${name} must be a number, got ${JSON.stringify(value)}`);
  }
  return x;
}

/** Reads an integer option >= min, failing with a usage error that names it. */
export function integerOption(command: string, name: string, value: string | undefined, min: number, fallback: number): number {
  const v = numberOption(command, name, value, fallback) as number;
  if (!Number.isInteger(v) || v < min) throw usageError(command, `--${name} must be an integer >= ${min}, got ${v}`);
  return v;
}
