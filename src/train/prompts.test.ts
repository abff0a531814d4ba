import { describe, expect, it } from "vitest";
import { CHAT_FORMATS, PAPER_TEMPLATE, renderPrompt } from "../eval/index.js";
import { ByteTokenizer, type ChatTemplate } from "../model/index.js";
import { parseTrainConfig } from "./config.js";
import { checkPromptLengths, resolveChat, suitePromptSource } from "./prompts.js";
import { buildTaskSuite } from "./trainer.js";

describe("prompt sources", () => {
  const modelTemplate = { format: (ms: ReadonlyArray<{ role: string; content: string }>) => ms.map((m) => `[${m.role}]${m.content}`).join("") + "[assistant]" } as unknown as ChatTemplate;

  it("chat auto takes the model's template when there is one, else plain; model insists on it", () => {
    expect(resolveChat("auto", modelTemplate, "dir").chat).toBe("model");
    expect(renderPrompt(PAPER_TEMPLATE, "Q?", resolveChat("auto", modelTemplate, "dir").format)).toMatch(/^\[system\]Please reason step by step.*\[user\]Q\? Let's think step by step.*\[assistant\]$/);
    expect(resolveChat("auto", null, null)).toMatchObject({ chat: "plain", format: CHAT_FORMATS.plain });
    expect(resolveChat("chatml", modelTemplate, "dir")).toMatchObject({ chat: "chatml", format: CHAT_FORMATS.chatml });
    expect(() => resolveChat("model", null, "some/dir")).toThrow(/prompts\.chat: "model", but some\/dir has no chat template/);
  });

  it("the suite source keeps the suite's prompts, exact-match rewards and test set", () => {
    const c = parseTrainConfig({ suite: { trainSize: 70, testSize: 12 } });
    const suite = buildTaskSuite(c);
    const s = suitePromptSource(c, suite);
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
    const s = suitePromptSource(c, buildTaskSuite(c));
    const longest = Math.max(...s.train.map((p) => p.prompt.length)) + 1;
    expect(() => checkPromptLengths(s, new ByteTokenizer(), longest + 10, 10, "model.maxPositions")).not.toThrow();
    expect(() => checkPromptLengths(s, new ByteTokenizer(), longest + 9, 10, "model.maxPositions")).toThrow(/training prompt "train-\d+": prompt of \d+ tokens \+ rl\.maxNewTokens 10 exceeds the model's \d+ positions \(model\.maxPositions\)/);
  });
});
