/**
 * `gvm report`: run directories (and evaluation results) in, an HTML page
 * with PNG/SVG charts out.
 */
import { resolve } from "node:path";
import { readInputs, writeReport } from "../report/index.js";
import { ConfigError } from "../util/errors.js";
import { type Command, numberOption, parseOptions } from "./command.js";

const NAME = "report";

const OPTIONS = {
  out: { type: "string" },
  iteration: { type: "string" },
  title: { type: "string" },
} as const;

const HELP = [
  "Usage: gvm report RUN_DIR [RUN_DIR ...] --out DIR [options]",
  "",
  "Reads training runs (metrics.jsonl) and evaluation results (gvm eval output)",
  "and writes DIR/index.html, a self-contained page, with every chart also as",
  "DIR/<chart>.png, .svg and .vl.json (its Vega-Lite spec):",
  "  accuracy-vs-samples, accuracy-vs-tokens, accuracy-vs-wallclock, accuracy-vs-step",
  "      test accuracy per method (runs sharing a label are seeds: line = mean, band = min-max;",
  "      one panel per prompt regime when the runs span several);",
  "      one chart per counter the records carry",
  "  allocation-vs-p, allocation-vs-g   n_i against p_i and G_i for one iteration",
  "  budget-by-level                    share of the budget per difficulty level over iterations",
  "  time-per-iteration                 seconds per iteration in each part (sampling, update, ...)",
  "  training-signals                   every numeric field of the step records against update steps",
  "The same charts as `gvm dashboard`, which draws them live.",
  "and tables: runs, accuracy per level, and the paper's benchmark table when",
  "evaluation results are present (RUN_DIR/eval/*/summary.json, or an eval",
  "directory given as an argument).",
  "",
  "Options:",
  "  --out DIR          output directory (required)",
  "  --iteration N      iteration whose allocation is plotted (default: each run's last)",
  "  --title TEXT       page title (default 'gvm report')",
  "",
  "Exit codes: 0 ok, 1 unreadable run or results, 2 bad options.",
  "",
  "Examples:",
  "  gvm report runs/gvm-s0 runs/gvm-s1 runs/uniform-s0 runs/uniform-s1 --out report",
  "  gvm report runs/gvm-s0 eval/ --out report --iteration 5",
].join("\n");

export const reportCommand: Command = {
  name: NAME,
  summary: "Write an HTML report with charts (accuracy vs samples / wall-clock / steps, allocation) from run directories.",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(NAME, argv, OPTIONS, true);
    if (positionals.length === 0) throw new ConfigError(`gvm ${NAME}: give at least one RUN_DIR. Run 'gvm ${NAME} --help' for usage.`);
    if (values.out === undefined) throw new ConfigError(`gvm ${NAME}: --out DIR is required. Run 'gvm ${NAME} --help' for usage.`);
    const iteration = numberOption(NAME, "iteration", values.iteration);
    if (iteration !== undefined && (!Number.isInteger(iteration) || iteration < 1)) throw new ConfigError(`gvm ${NAME}: --iteration must be an integer >= 1, got ${values.iteration}`);
    const inputs = readInputs(positionals);
    const result = await writeReport(inputs, values.out, { ...(iteration !== undefined ? { iteration } : {}), ...(values.title !== undefined ? { title: values.title } : {}) });
    io.stdout.write(`${resolve(values.out, "index.html")}\n`);
    io.stderr.write(`report: ${inputs.runs.length} run(s), charts: ${result.charts.join(", ") || "none"}\n`);
    return 0;
  },
};
