/**
 * `gvm verify`: the math answer verifier as a command. One pair from the
 * command line, or a JSONL file of pairs checked on all cores with one
 * verdict line per input line, in order.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { ConfigError, DataError, describe, errorMessage } from "../util/errors.js";
import { ProgressBar } from "../util/progress.js";
import { VerifierPool, verify, type Pair, type Verdict, type VerifyOptions } from "../verify/index.js";
import { type Command, type CommandIo, numberOption, parseOptions } from "./command.js";

const NAME = "verify";

const OPTIONS = {
  gold: { type: "string" },
  response: { type: "string" },
  jsonl: { type: "string" },
  "gold-field": { type: "string" },
  "response-field": { type: "string" },
  "timeout-ms": { type: "string" },
  "float-digits": { type: "string" },
  "non-strict": { type: "boolean" },
  "set-relation": { type: "boolean" },
  workers: { type: "string" },
  quiet: { type: "boolean" },
} as const;

const HELP = [
  "Usage: gvm verify --gold G --response R [options]",
  "       gvm verify --jsonl FILE [--gold-field F] [--response-field F] [options]",
  "",
  "Checks whether a response's final answer (last \\boxed{}, \"final answer is\",",
  "\"answer:\", last math span or number) is mathematically equivalent to the gold",
  "answer, in bounded time. Prints one verdict per pair as a JSON object with",
  "correct, reason, extracted, normalizedGold and normalizedPred.",
  "",
  "With --jsonl, FILE (or - for stdin) holds one JSON object per line; each",
  "non-blank line gets one verdict line on stdout, in input order, with its",
  '"line" number. A malformed line gets {"correct": false, "reason": "malformed"},',
  "an error naming the line on stderr, and the command exits 1 after checking",
  "every other line.",
  "",
  "Options:",
  "  --gold G               the gold answer (bare, or a worked solution with \\boxed{})",
  "  --response R           the response to check",
  "  --jsonl FILE           pairs to check, one JSON object a line; - reads stdin",
  "  --gold-field F         field holding the gold answer (default gold)",
  "  --response-field F     field holding the response (default response)",
  "  --timeout-ms N         time bound per check in ms; past it the verdict is",
  '                         "timeout" (default 1000)',
  "  --float-digits D       decimal places a float answer must match (default 6)",
  "  --non-strict           match variables by position: f(x) equals f(y)",
  "  --set-relation         accept a relation for a set-valued gold (x<=2 for (-oo,2])",
  "  --workers N            worker threads for --jsonl (default: all cores)",
  "  --quiet                no progress bar",
  "",
  "Exit codes: 0 ok, 1 malformed input lines or unreadable file, 2 bad options.",
  "",
  "Examples:",
  "  gvm verify --gold '\\frac{1}{2}' --response 'So the answer is $\\boxed{0.5}$.'",
  "  gvm verify --gold '(-\\infty, 3]' --response 'x \\le 3' --set-relation",
  "  gvm verify --jsonl rollouts.jsonl --gold-field answer --response-field completion > verdicts.jsonl",
  "  cat pairs.jsonl | gvm verify --jsonl - --workers 4",
].join("\n");

const CHUNK_LINES = 2048;
/** Below this many pairs, starting worker threads costs more than it saves. */
const MIN_PAIRS_FOR_POOL = 64;

interface ParsedLine {
  readonly line: number;
  readonly pair?: Pair;
  readonly error?: string;
}

function parseLine(text: string, line: number, goldField: string, responseField: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `not valid JSON (${errorMessage(err)})` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { line, error: `expected a JSON object, got ${describe(value)}` };
  const rec = value as Record<string, unknown>;
  const gold = rec[goldField];
  const response = rec[responseField];
  if (gold === undefined) return { line, error: `missing field "${goldField}"` };
  if (typeof gold !== "string" && typeof gold !== "number") return { line, error: `field "${goldField}" must be a string or a number, got ${describe(gold)}` };
  if (response === undefined) return { line, error: `missing field "${responseField}"` };
  if (typeof response !== "string") return { line, error: `field "${responseField}" must be a string, got ${describe(response)}` };
  return { line, pair: { gold: String(gold), response } };
}

async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(`cannot read ${file}: ${errorMessage(err)}`);
  }
}

async function write(io: CommandIo, text: string): Promise<void> {
  if (!io.stdout.write(text)) await new Promise<void>((resolve) => io.stdout.once("drain", () => resolve()));
}

function verdictLine(line: number, v: Verdict): string {
  return `${JSON.stringify({ line, ...v })}\n`;
}

async function runJsonl(file: string, goldField: string, responseField: string, options: VerifyOptions, workers: number, quiet: boolean, io: CommandIo): Promise<number> {
  const text = await readInput(file);
  const lines = text.split(/\r?\n/);
  const records: ParsedLine[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== "") records.push(parseLine(l, i + 1, goldField, responseField));
  });
  const good = records.filter((r) => r.pair).length;
  const pool = workers > 1 && good >= MIN_PAIRS_FOR_POOL ? new VerifierPool({ workers }) : undefined;
  const bar = new ProgressBar(`verify ${file}`, records.length, { unit: "checks", stream: io.stderr as NodeJS.WritableStream & { isTTY?: boolean }, silent: quiet });
  let bad = 0;
  let correct = 0;
  try {
    for (let s = 0; s < records.length; s += CHUNK_LINES) {
      const chunk = records.slice(s, s + CHUNK_LINES);
      const pairs = chunk.filter((r) => r.pair).map((r) => r.pair as Pair);
      const verdicts = pool ? await pool.verifyAll(pairs, options) : pairs.map((p) => verify(p.gold, p.response, options));
      let k = 0;
      let out = "";
      for (const r of chunk) {
        if (r.pair) {
          const v = verdicts[k++] as Verdict;
          if (v.correct) correct++;
          out += verdictLine(r.line, v);
        } else {
          bad++;
          io.stderr.write(`gvm verify: ${file}:${r.line}: ${r.error}\n`);
          out += `${JSON.stringify({ line: r.line, correct: false, reason: "malformed", error: r.error })}\n`;
        }
      }
      await write(io, out);
      bar.tick(chunk.length, `correct ${correct}`);
    }
  } finally {
    bar.finish();
    await pool?.close();
  }
  io.stderr.write(`gvm verify: ${records.length - bad} checked, ${correct} correct, ${bad} malformed line${bad === 1 ? "" : "s"}\n`);
  return bad > 0 ? 1 : 0;
}

export const verifyCommand: Command = {
  name: NAME,
  summary: "Check responses' final answers against gold answers (one pair, or a JSONL file on all cores).",
  help: HELP,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const { values } = parseOptions(NAME, argv, OPTIONS);
    const timeoutMs = numberOption(NAME, "timeout-ms", values["timeout-ms"], 1000) as number;
    if (timeoutMs <= 0) throw new ConfigError(`gvm verify: --timeout-ms must be positive, got ${timeoutMs}`);
    const floatDigits = numberOption(NAME, "float-digits", values["float-digits"], 6) as number;
    if (!Number.isInteger(floatDigits) || floatDigits < 0 || floatDigits > 30) throw new ConfigError(`gvm verify: --float-digits must be an integer in [0, 30], got ${floatDigits}`);
    const workers = numberOption(NAME, "workers", values.workers, availableParallelism()) as number;
    if (!Number.isInteger(workers) || workers < 1) throw new ConfigError(`gvm verify: --workers must be a positive integer, got ${workers}`);
    const options: VerifyOptions = {
      timeoutMs,
      floatDigits,
      strict: !values["non-strict"],
      allowSetRelationComp: Boolean(values["set-relation"]),
    };
    const single = values.gold !== undefined || values.response !== undefined;
    if (single && values.jsonl !== undefined) throw new ConfigError("gvm verify: use either --gold/--response or --jsonl, not both");
    if (single) {
      if (values["gold-field"] !== undefined || values["response-field"] !== undefined) throw new ConfigError("gvm verify: --gold-field and --response-field apply to --jsonl only");
      if (values.gold === undefined || values.response === undefined) throw new ConfigError("gvm verify: --gold and --response go together; both are required");
      io.stdout.write(`${JSON.stringify(verify(values.gold, values.response, options))}\n`);
      return 0;
    }
    if (values.jsonl === undefined) throw new ConfigError("gvm verify: nothing to check; give --gold and --response, or --jsonl FILE. Run 'gvm verify --help' for usage.");
    return runJsonl(values.jsonl, values["gold-field"] ?? "gold", values["response-field"] ?? "response", options, workers, Boolean(values.quiet), io);
  },
};
