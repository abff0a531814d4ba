/**
 * Prompt templates: a system prompt and an instruction appended to the
 * question, laid out as chat messages and rendered to text by a chat
 * format. The defaults are the paper's evaluation prompt (RLHFlow/GVM
 * eval/eval.py): system "Please reason step by step, and put your final
 * answer within \boxed{}." and user "<problem> Let's think step by step and
 * output the final answer within \boxed{}" (no trailing period, as there).
 *
 * A chat format is any function from messages to text, so a model's own
 * chat template (e.g. a Jinja template from tokenizer_config.json) plugs in
 * as one; the built-in ones cover ChatML (Qwen2.5), Llama 3, plain text for
 * byte-level models without a chat template, and raw (the question alone).
 */
import type { ChatTemplate } from "../model/index.js";
import { ConfigError } from "../util/errors.js";

export type ChatRole = "system" | "user" | "assistant";
export interface ChatMessage {
  role: ChatRole;
  content: string;
}
/** Renders messages into the prompt text, ready for generation of the assistant's turn. */
export type ChatFormat = (messages: readonly ChatMessage[]) => string;

export type ChatFormatName = "plain" | "chatml" | "llama3" | "raw";
export const CHAT_FORMAT_NAMES: readonly ChatFormatName[] = ["plain", "chatml", "llama3", "raw"];

export const PAPER_SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}.";
export const PAPER_INSTRUCTION = "Let's think step by step and output the final answer within \\boxed{}";

/** A serialisable template description (stored with results, so a resumed eval uses the same one). */
export interface PromptTemplate {
  /** System message, or null for none. */
  system: string | null;
  /** Appended to the question after a space; "" for none. */
  instruction: string;
  chat: ChatFormatName;
}

export const PAPER_TEMPLATE: PromptTemplate = { system: PAPER_SYSTEM_PROMPT, instruction: PAPER_INSTRUCTION, chat: "plain" };

export const CHAT_FORMATS: Record<ChatFormatName, ChatFormat> = {
  /** "<system>\n\n<user>\n\n" for models trained on plain text. */
  plain: (messages) => `${messages.map((m) => m.content).join("\n\n")}\n\n`,
  chatml: (messages) => `${messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("")}<|im_start|>assistant\n`,
  llama3: (messages) =>
    `<|begin_of_text|>${messages.map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content}<|eot_id|>`).join("")}<|start_header_id|>assistant<|end_header_id|>\n\n`,
  /** The user's text alone: for models trained on bare prompts (the built-in suite). */
  raw: (messages) => messages.filter((m) => m.role === "user").map((m) => m.content).join("\n"),
};

/** A chat format's name, checked; ConfigError listing the known ones otherwise. */
export function chatFormatName(name: string): ChatFormatName {
  if (!(CHAT_FORMAT_NAMES as readonly string[]).includes(name)) throw new ConfigError(`unknown chat format '${name}'; allowed: ${CHAT_FORMAT_NAMES.join(", ")}`);
  return name as ChatFormatName;
}

export function chatFormat(name: string): ChatFormat {
  return CHAT_FORMATS[chatFormatName(name)];
}

/** The chat messages of one question. */
export function promptMessages(template: PromptTemplate, question: string): ChatMessage[] {
  const user = template.instruction === "" ? question : `${question} ${template.instruction}`;
  return template.system === null || template.system === "" ? [{ role: "user", content: user }] : [{ role: "system", content: template.system }, { role: "user", content: user }];
}

/** The prompt text of one question; `format` overrides the template's named chat format. */
export function renderPrompt(template: PromptTemplate, question: string, format?: ChatFormat): string {
  return (format ?? CHAT_FORMATS[template.chat])(promptMessages(template, question));
}

/**
 * The chat format prompts are rendered with, from a `chat` setting: the
 * model's own template ("model", or "auto" when the model has one) or a
 * named format ("auto" without a template is plain). `setting` names where
 * the choice came from in the error when the model has no template;
 * `named` is what records of the prompt template store ("plain" for the
 * model's own template, which is rendered through `format`, never by name).
 */
export function resolveChat(chat: string, template: ChatTemplate | null, modelDir: string | null, setting: string): { format: ChatFormat; chat: "model" | ChatFormatName; named: ChatFormatName } {
  if (chat === "model" || (chat === "auto" && template !== null)) {
    if (template === null) throw new ConfigError(`${setting}, but ${modelDir ?? "the built-in model"} has no chat template (tokenizer_config.json chat_template or chat_template.jinja); pick one of ${CHAT_FORMAT_NAMES.join(", ")}`);
    return { format: template.format, chat: "model", named: "plain" };
  }
  const named = chat === "auto" ? "plain" : chatFormatName(chat);
  return { format: CHAT_FORMATS[named], chat: named, named };
}
