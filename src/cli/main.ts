/**
 * `gvm`: one binary, subcommands loaded on demand. Exit codes: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
import { COMMANDS } from "./registry.js";
import { ConfigError } from "../util/errors.js";
import type { CommandIo } from "./command.js";

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`);
  return [
    "gvm: train chain-of-thought reasoners with gradient-variance-minimising sample allocation",
    "",
    "Usage: gvm <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run 'gvm <command> --help' for a command's options and examples.",
  ].join("\n");
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(`${topHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`gvm: unknown command '${name}'. Known: ${Object.keys(COMMANDS).join(", ")}.\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    const message = err instanceof Error ? (process.env.GVM_DEBUG ? (err.stack ?? err.message) : err.message) : String(err);
    io.stderr.write(`gvm ${name}: ${message}\n`);
    return 1;
  }
}
