import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../model/index.js";
import { parseTrainConfig } from "./config.js";
import { checkPromptLengths, suitePromptSource } from "./prompts.js";
import { buildTaskSuite } from "./trainer.js";

describe("prompt sources", () => {
  it("the suite source keeps the suite's prompts, exact-match rewards and test set", () => {
    const c = parseTrainConfig({ suite: { trainSize: 70, testSize: 12 } });
    const suite = buildTaskSuite(c.suite);
    const s = suitePromptSource(c.suite.regime, suite);
    expect(s.name).toBe("natural");
    expect(s.train.map((p) => p.prompt)).toEqual(suite.train.map((p) => p.prompt));
    const p = s.train[0];
    if (!p) throw new Error("empty pool");
    expect(s.reward(p, `... \\boxed{${p.answer}}`)).toBe(1);
    expect(s.reward(p, `... \\boxed{${p.answer}1}`)).toBe(0);
    expect(s.test).toMatchObject({ set: "suite", chat: "raw" });
    expect(s.test.problems).toHaveLength(suite.test.length);
  });

  it("refuses prompts that do not fit the context with maxNewTokens, naming the prompt", () => {
    const c = parseTrainConfig({ suite: { trainSize: 70, testSize: 12 } });
    const s = suitePromptSource(c.suite.regime, buildTaskSuite(c.suite));
    const longest = Math.max(...s.train.map((p) => p.prompt.length)) + 1;
    expect(() => checkPromptLengths(s, new ByteTokenizer(), longest + 10, 10, "model.maxPositions")).not.toThrow();
    expect(() => checkPromptLengths(s, new ByteTokenizer(), longest + 9, 10, "model.maxPositions")).toThrow(/training prompt "train-\d+": prompt of \d+ tokens \+ rl\.maxNewTokens 10 exceeds the model's \d+ positions \(model\.maxPositions\)/);
  });
});
