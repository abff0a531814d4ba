/**
 * `gvm strategies`: the allocation registry as JSON lines, one per
 * strategy, so scripts (and people choosing one) see what each costs
 * before a run: what it reads and whether it pays for a stage-1 pass.
 */
import { ALLOCATION_STRATEGIES, type InputField, STRATEGY_NAMES, getStrategy } from "../gvm/index.js";
import { RL_DEFAULT_STRATEGY } from "../train/config.js";
import { type Command, parseOptions } from "./command.js";

const NAME = "strategies";

/** Words for what a strategy reads; "extra rounds": it samples in rounds of its own (dapo, reinforce-ada), so its cost per step varies. */
export type StrategyRead = "acceptance rates" | "gradient norms" | "sample counts" | "history" | "extra rounds";

const WORDS: Record<InputField, StrategyRead> = {
  acceptRate: "acceptance rates",
  gradNorm: "gradient norms",
  sampleCount: "sample counts",
  online: "history",
  rounds: "extra rounds",
};

export interface StrategyLine {
  name: string;
  reads: StrategyRead[];
  needsStage1: boolean;
  /** The strategy `gvm train` and `gvm demo` use when none is named. */
  default: boolean;
  summary: string;
}

/**
 * One line per registered strategy, in registry order. Gradient norms count
 * as read when the default options measure them (gvm-online estimates them
 * from its history unless told to ignore them).
 */
export function strategyLines(): StrategyLine[] {
  return STRATEGY_NAMES.map((name) => {
    const s = getStrategy(name);
    const reads = s.reads.map((f) => WORDS[f]);
    if (s.needsGradNorms(s.parseOptions({})) && !reads.includes("gradient norms")) reads.push("gradient norms");
    return { name, reads, needsStage1: ALLOCATION_STRATEGIES[name].needsStage1, default: name === RL_DEFAULT_STRATEGY, summary: s.summary };
  });
}

export const strategiesCommand: Command = {
  name: NAME,
  summary: "List the allocation strategies: one JSON line each with what it reads and whether it needs stage 1.",
  help: [
    "Usage: gvm strategies",
    "",
    "Prints one JSON object per allocation strategy, in registry order:",
    '  {"name": ..., "reads": [...], "needsStage1": true|false, "summary": ...}',
    'reads lists "acceptance rates", "gradient norms", "sample counts", "history"',
    "(each prompt's earlier samples, kept by the trainer) and \"extra rounds\" (it",
    "samples in rounds of its own until its groups are good enough, so its cost per",
    "step varies up to the run's budget) as the strategy uses them with its default",
    "options. Select one with gvm train --strategy NAME (or",
    "--set rl.strategy=NAME) and pass options with --set rl.strategyOptions.KEY=VALUE;",
    "docs/allocation.md gives each strategy's rules, options and sources.",
    "",
    "Example:",
    "  gvm strategies | jq -r 'select(.needsStage1 | not) | .name'",
  ].join("\n"),
  async run(argv, io) {
    parseOptions(NAME, argv, {});
    io.stdout.write(strategyLines().map((l) => `${JSON.stringify(l)}\n`).join(""));
    return 0;
  },
};
