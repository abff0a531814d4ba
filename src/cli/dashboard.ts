/**
 * `gvm dashboard`: a live page over run directories, until SIGINT or
 * SIGTERM.
 */
import { DashboardServer } from "../dashboard/index.js";
import { isLoopback } from "../serve/limits.js";
import { ConfigError } from "../util/errors.js";
import { defaultLogger, Logger } from "../util/log.js";
import { type Command, integerOption, parseOptions, usageError } from "./command.js";

const NAME = "dashboard";

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "api-key": { type: "string" },
  insecure: { type: "boolean" },
  "max-points": { type: "string" },
} as const;

const HELP = [
  "Usage: gvm dashboard [RUN_DIR ...] [options]",
  "",
  "Serves a live page over training runs: a table of runs (method, strategy,",
  "seed, regime; status running / finished / crashed from the run's lock file",
  "and heartbeat), test accuracy against every counter the records carry",
  "(update steps, generated responses, tokens, wall-clock; seeds of a label as",
  "a band), the latest allocation (n_i against p_i and G_i), budget share per",
  "difficulty level, time per iteration, training signals, sample responses",
  "with their verdicts, and each run's resolved config. The charts are the",
  "Vega-Lite specs of `gvm report`. It updates as the runs write (file-system",
  "events pushed as server-sent events), and never writes to a run directory.",
  "",
  "A RUN_DIR may be a run directory or a directory of them (new runs appearing",
  "there join the page). Default: ./runs.",
  "",
  "Options:",
  "  --host HOST        address to listen on (default 127.0.0.1; another address needs --api-key or --insecure)",
  "  --port N           port (default 8050; 0 picks a free one)",
  "  --api-key KEY      require the key: open /?key=KEY once in the browser (sets a cookie), or send",
  "                     Authorization: Bearer KEY (default: $GVM_API_KEY, else none)",
  "  --insecure         allow a --host beyond loopback without an API key (warns)",
  "  --max-points N     most points per series in a chart; longer runs are thinned evenly (default 120)",
  "",
  "It prints the page's URL to stderr once listening; stop it with Ctrl-C.",
  "",
  "Examples:",
  "  gvm dashboard runs/",
  "  gvm dashboard runs/gvm-s0 runs/gvm-s1 runs/uniform-s0 --port 8051",
  "  gvm dashboard runs/ --host 0.0.0.0 --api-key secret",
].join("\n");

const usage = (message: string): ConfigError => usageError(NAME, message);

export const dashboardCommand: Command = {
  name: NAME,
  summary: "Serve a live page over run directories: status, accuracy curves, allocation, samples (read-only).",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(NAME, argv, OPTIONS, true);
    const int = (flag: "port" | "max-points", min: number, fallback: number): number => integerOption(NAME, flag, values[flag], min, fallback);
    const port = int("port", 0, 8050);
    if (port > 65535) throw usage(`--port must be <= 65535, got ${port}`);
    const maxPoints = int("max-points", 2, 120);
    const host = values.host ?? "127.0.0.1";
    const apiKey = values["api-key"] ?? process.env.GVM_API_KEY ?? null;
    if (!isLoopback(host) && !apiKey && values.insecure !== true) {
      throw usage(`--host ${host} is not a loopback address and no API key is set, so anyone who can reach it could read these runs; add --api-key KEY (or set GVM_API_KEY), or --insecure to serve it open anyway`);
    }
    const logger = new Logger({ level: defaultLogger().level, sink: (line) => io.stderr.write(`${line}\n`) });
    const dirs = positionals.length > 0 ? positionals : ["runs"];
    const server = new DashboardServer({ dirs, apiKey, insecure: values.insecure === true, maxPoints, logger });
    const { url } = await server.listen(port, host);
    const n = server.runs.snapshot().runs.length;
    io.stderr.write(`gvm dashboard: ${n} run(s) under ${dirs.join(", ")}; open ${url}${apiKey ? "?key=<your key>" : ""}\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        done();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await server.close();
    io.stderr.write("gvm dashboard: stopped\n");
    return 0;
  },
};
