/**
 * Every subcommand, by name, loaded lazily. Add a line here when a command
 * lands; nothing else in the CLI changes.
 */
import type { Command } from "./command.js";

export interface CommandEntry {
  /** One line shown by `gvm --help` without loading the module. */
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  train: { summary: "Train with RAFT / RAFT++ / GRPO and a sample-allocation strategy (resumable).", load: async () => (await import("./train.js")).trainCommand },
  demo: { summary: "Run the main demo (what `npm start` runs).", load: async () => (await import("./demo.js")).demoCommand },
  eval: { summary: "Evaluate models on the paper's benchmarks, any JSONL/Parquet set or the built-in suite (avg@k, pass@k, maj@k).", load: async () => (await import("./eval.js")).evalCommand },
  report: { summary: "Write an HTML report with charts (accuracy vs samples / wall-clock / steps, allocation) from run directories.", load: async () => (await import("./report.js")).reportCommand },
  strategies: { summary: "List the allocation strategies: one JSON line each with what it reads and whether it needs stage 1.", load: async () => (await import("./strategies.js")).strategiesCommand },
  allocate: { summary: "Split a sampling budget over prompts (GVM or uniform) from per-prompt stats in JSONL.", load: async () => (await import("./allocate.js")).allocateCommand },
  serve: { summary: "Serve a model over an OpenAI-compatible API (completions, chat, streaming).", load: async () => (await import("./serve.js")).serveCommand },
  dashboard: { summary: "Serve a live page over run directories: status, accuracy curves, allocation, samples (read-only).", load: async () => (await import("./dashboard.js")).dashboardCommand },
  export: { summary: "Export for other tools: verl parquet + per-prompt sample sizes, or GGUF for llama.cpp / Ollama.", load: async () => (await import("./export.js")).exportCommand },
  verify: { summary: "Check final answers against gold answers: one pair, or a JSONL file on all cores.", load: async () => (await import("./verify.js")).verifyCommand },
};
