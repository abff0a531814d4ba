/** `gvm train`: one RL run (built-in suite or a dataset, built-in model or a Hugging Face directory), resumable by rerunning the same command. */
import { STRATEGY_NAMES } from "../gvm/index.js";
import { loadTrainConfig, RL_DEFAULT_STRATEGY } from "../train/config.js";
import { train } from "../train/trainer.js";
import { type Command, parseOptions } from "./command.js";

export const trainCommand: Command = {
  name: "train",
  summary: "Train with RAFT / RAFT++ / GRPO and a sample-allocation strategy (resumable).",
  help: [
    "Usage: gvm train [--config FILE] [--set FIELD=VALUE ...] [shortcuts]",
    "",
    "Runs the loop of SPEC §1: by default on the built-in arithmetic suite with a cached",
    "supervised warm start of the built-in model; or on a Hugging Face model directory",
    "(policy.kind=hf) with a JSONL/Parquet math dataset (prompts.source=dataset: the",
    "paper's prompt template, verifier rewards; see docs/interop.md). Iterations of",
    "stage 1, allocation and k update steps, with test evaluations and a checkpoint after",
    "every iteration. Rerunning the same command on the same run directory resumes from",
    "the last checkpoint (also after kill -9).",
    "",
    "Options:",
    "  --config FILE        YAML or JSON config (fields as in docs/training.md)",
    "  --set FIELD=VALUE    override one field, e.g. --set rl.budget=256 (repeatable)",
    "  --run-dir DIR        shortcut for --set runDir=DIR",
    "  --seed S             shortcut for --set seed=S",
    "  --method M           raft | raftpp | grpo (--set rl.method=M)",
    `  --strategy NAME      ${STRATEGY_NAMES.join(" | ")} (--set rl.strategy=NAME; default ${RL_DEFAULT_STRATEGY})`,
    "  --regime R           natural | paper-like (--set suite.regime=R)",
    "  --model DIR          train a Hugging Face model directory (--set policy.kind=hf --set policy.path=DIR)",
    "  --quiet              no progress bars",
    "",
    "Examples:",
    "  gvm train --run-dir runs/gvm-s0 --strategy gvm --seed 0",
    "  gvm train --config configs/demo.yaml --set rl.iterations=40 --set rl.method=grpo",
    "  gvm train --config math.yaml --model ./Qwen2.5-Math-1.5B --run-dir runs/qwen-gvm",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseOptions("train", argv, {
      config: { type: "string" },
      set: { type: "string", multiple: true },
      "run-dir": { type: "string" },
      seed: { type: "string" },
      method: { type: "string" },
      strategy: { type: "string" },
      regime: { type: "string" },
      model: { type: "string" },
      quiet: { type: "boolean" },
    });
    const overrides = [...(values.set ?? [])];
    const shortcut = (flag: string | undefined, field: string) => {
      if (flag !== undefined) overrides.push(`${field}=${flag}`);
    };
    shortcut(values["run-dir"], "runDir");
    shortcut(values.seed, "seed");
    shortcut(values.method, "rl.method");
    shortcut(values.strategy, "rl.strategy");
    shortcut(values.regime, "suite.regime");
    // A path goes in as a string, never read as YAML.
    const typed: Array<[string, unknown]> = values.model === undefined ? [] : [["policy.kind", "hf"], ["policy.path", values.model]];
    const config = loadTrainConfig(values.config, overrides, typed);
    const r = await train(config, { progress: !values.quiet });
    const last = r.evals[r.evals.length - 1];
    io.stdout.write(
      `${JSON.stringify({ runDir: r.runDir, finished: r.finished, iterations: r.iterations, samples: r.samples, wallclock: Math.round(r.wallclock * 10) / 10, accuracy: last?.accuracy ?? null })}\n`,
    );
    return 0;
  },
};
