/**
 * Where a run's prompts come from, how responses to them are rewarded and
 * how the policy is tested: the built-in suite (raw prompts, exact match of
 * the last \boxed{}) or question/answer datasets (the paper's prompt
 * template through the model's chat template, rewards and grades from the
 * math verifier). The iteration loop sees only TrainPrompts and a reward
 * function, so both sources run through the same GVM loop.
 */
import { basename, extname } from "node:path";
import {
  benchmarkFile,
  benchmarkSpec,
  CHAT_FORMATS,
  type ChatFormat,
  type EvalProblem,
  exactMatchGrader,
  type Grader,
  loadProblemSet,
  mathGrader,
  type PromptTemplate,
  renderPrompt,
  resolveChat,
  SUITE_SET,
  SUITE_TEMPLATE,
} from "../eval/index.js";
import { fieldMap } from "../data/index.js";
import type { ChatTemplate, Tokenizer } from "../model/index.js";
import { exactMatchReward, type TaskSuite } from "../tasks/index.js";
import { ConfigError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { verify } from "../verify/index.js";
import type { PromptsConfig, SuiteConfig } from "./config.js";

/** One prompt of the training pool. */
export interface TrainPrompt {
  /** Unique within the pool (allocation records and prompts.jsonl refer to it). */
  id: string;
  /** The text the policy is prompted with (template and chat format applied). */
  prompt: string;
  /** The question as written in the data. */
  question: string;
  /** Gold answer. */
  answer: string;
  /** Difficulty level, when the data has a numeric one. */
  level: number | null;
}

/** The test set of a run and how it is prompted and graded. */
export interface TestSet {
  /** Set name in eval records (a benchmark key, "suite", or the file's name). */
  set: string;
  problems: EvalProblem[];
  template: PromptTemplate;
  /** The chat format that renders the template (a model's own template, or a named one). */
  format: ChatFormat;
  /** "model" when the model's own chat template renders the prompts, else the format's name. */
  chat: string;
  grader: Grader;
}

export interface PromptSource {
  /** "natural" / "paper-like" for the suite, "dataset:<file name>" for datasets (the run record's regime). */
  name: string;
  train: TrainPrompt[];
  test: TestSet;
  /** 1 when the response's final answer matches the prompt's gold answer. */
  reward(prompt: TrainPrompt, response: string): 0 | 1;
}

/** The built-in suite: prompts as generated, exact-match rewards and grades. */
export function suitePromptSource(regime: SuiteConfig["regime"], suite: TaskSuite): PromptSource {
  return {
    name: regime,
    train: suite.train.map((p) => ({ id: p.id, prompt: p.prompt, question: p.prompt, answer: p.answer, level: p.level })),
    test: {
      set: SUITE_SET,
      problems: suite.test.map((p) => ({ id: p.id, question: p.prompt, gold: p.answer, level: String(p.level) })),
      template: SUITE_TEMPLATE,
      format: CHAT_FORMATS[SUITE_TEMPLATE.chat],
      chat: SUITE_TEMPLATE.chat,
      grader: exactMatchGrader,
    },
    reward: (p, response) => exactMatchReward(response, p.answer),
  };
}

function setName(file: string): string {
  return basename(file, extname(file));
}

/** "3", "Level 3" -> 3; anything without a number -> null. */
function numericLevel(level: string | null): number | null {
  if (level === null) return null;
  const m = /-?\d+(\.\d+)?/.exec(level);
  return m ? Number(m[0]) : null;
}

/** What a dataset run's prompts depend on besides the prompts section. */
export interface DatasetSourceOptions {
  /** The policy's chat template, if it has one. */
  chatTemplate: ChatTemplate | null;
  /** Its model directory, for messages (null for the built-in model). */
  modelDir: string | null;
  /** Prompts per iteration: the pool must hold at least this many. */
  promptsPerIter: number;
}

/**
 * A dataset run's prompts: the training file and the test set, read with
 * their field mappings (errors name the file and row), prompted with the
 * paper's template through the chat format, rewarded by the verifier.
 */
export async function datasetPromptSource(p: PromptsConfig, o: DatasetSourceOptions, log: Logger): Promise<PromptSource> {
  const trainFile = p.train.file as string;
  const testFile = p.test.file as string;
  const { format, chat, named } = resolveChat(p.chat, o.chatTemplate, o.modelDir, 'prompts.chat: "model"');
  const trainTemplate: PromptTemplate = { system: p.system, instruction: p.trainInstruction, chat: named };
  const testTemplate: PromptTemplate = { system: p.system, instruction: p.testInstruction, chat: named };

  const trainSet = await loadProblemSet(setName(trainFile), trainFile, fieldMap(p.train), p.train.gold, { logger: log });
  const trainProblems = p.train.limit > 0 ? trainSet.problems.slice(0, p.train.limit) : trainSet.problems;
  if (trainProblems.length < o.promptsPerIter) {
    throw new ConfigError(`prompts.train.file ${trainFile}: ${trainProblems.length} problems${p.train.limit > 0 ? ` (prompts.train.limit ${p.train.limit})` : ""}, fewer than rl.promptsPerIter (${o.promptsPerIter})`);
  }
  const testSet =
    p.test.benchmark !== null
      ? await (async () => {
          const spec = benchmarkSpec(p.test.benchmark as string);
          return loadProblemSet(spec.name, benchmarkFile(spec, testFile), spec.fields, spec.gold, { logger: log });
        })()
      : await loadProblemSet(setName(testFile), testFile, fieldMap(p.test), p.test.gold, { logger: log });
  const testProblems = p.test.limit > 0 ? testSet.problems.slice(0, p.test.limit) : testSet.problems;
  return {
    name: `dataset:${setName(trainFile)}`,
    train: trainProblems.map((q) => ({ id: q.id, prompt: renderPrompt(trainTemplate, q.question, format), question: q.question, answer: q.gold, level: numericLevel(q.level) })),
    test: { set: testSet.name, problems: testProblems, template: testTemplate, format, chat, grader: mathGrader() },
    reward: (q, response) => (verify(q.answer, response).correct ? 1 : 0),
  };
}

/**
 * Fails before any sampling when a prompt plus rl.maxNewTokens does not fit
 * the model's context, naming the prompt and its length.
 */
export function checkPromptLengths(source: PromptSource, tokenizer: Tokenizer, maxPositions: number, maxNewTokens: number, where: string): void {
  const bos = tokenizer.bosId === null ? 0 : 1;
  const check = (id: string, text: string, what: string) => {
    const n = tokenizer.encode(text).length + bos;
    if (n + maxNewTokens > maxPositions) {
      throw new ConfigError(`${what} ${JSON.stringify(id)}: prompt of ${n} tokens + rl.maxNewTokens ${maxNewTokens} exceeds the model's ${maxPositions} positions (${where}); lower rl.maxNewTokens or drop long prompts`);
    }
  };
  for (const q of source.train) check(q.id, q.prompt, "training prompt");
  for (const q of source.test.problems) check(q.id, renderPrompt(source.test.template, q.question, source.test.format), `test problem (${source.test.set})`);
}
