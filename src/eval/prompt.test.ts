import { describe, expect, it } from "vitest";
import type { ChatTemplate } from "../model/index.js";
import { CHAT_FORMATS, PAPER_TEMPLATE, renderPrompt, resolveChat } from "./prompt.js";

// How a training config names the choice (the trainer passes it; gvm eval passes its flag).
const SETTING = 'prompts.chat: "model"';

describe("chat formats", () => {
  const modelTemplate = { format: (ms: ReadonlyArray<{ role: string; content: string }>) => ms.map((m) => `[${m.role}]${m.content}`).join("") + "[assistant]" } as unknown as ChatTemplate;

  it("chat auto takes the model's template when there is one, else plain; model insists on it", () => {
    expect(resolveChat("auto", modelTemplate, "dir", SETTING).chat).toBe("model");
    expect(renderPrompt(PAPER_TEMPLATE, "Q?", resolveChat("auto", modelTemplate, "dir", SETTING).format)).toMatch(/^\[system\]Please reason step by step.*\[user\]Q\? Let's think step by step.*\[assistant\]$/);
    expect(resolveChat("auto", null, null, SETTING)).toMatchObject({ chat: "plain", format: CHAT_FORMATS.plain });
    expect(resolveChat("chatml", modelTemplate, "dir", SETTING)).toMatchObject({ chat: "chatml", format: CHAT_FORMATS.chatml });
    expect(() => resolveChat("model", null, "some/dir", SETTING)).toThrow(/prompts\.chat: "model", but some\/dir has no chat template/);
  });

  it("refuses a format it does not know, naming the known ones", () => {
    expect(() => resolveChat("vicuna", null, null, SETTING)).toThrow(/unknown chat format 'vicuna'; allowed: plain, chatml, llama3, raw/);
  });
});
