/**
 * A model's own chat template (Jinja, as in transformers'
 * apply_chat_template), rendered with `@huggingface/jinja`.
 *
 * `format` is a plain function from messages to prompt text, so it plugs
 * into the evaluation harness and the trainer as a chat format. The text
 * ends with the assistant's generation prompt (add_generation_prompt).
 *
 * One BOS, not two: templates such as Llama 3's start with {{ bos_token }}
 * while our samplers prepend the tokenizer's BOS id to every prompt (as
 * `tokenizer(text)` does). When the tokenizer adds BOS itself, a leading
 * BOS text is dropped from the rendering, so the tokens match what verl
 * and vLLM feed the model (template text tokenized without specials).
 */
import { Template } from "@huggingface/jinja";
import { ModelDirError, readJsonFile, readTextFile } from "./files.js";
import type { HfTokenizer } from "./tokenizer.js";

/** A chat message as templates see it. */
export interface TemplateMessage {
  role: string;
  content: string;
}

export interface RenderOptions {
  /** End with the assistant's turn header (default true). */
  addGenerationPrompt?: boolean;
  /** More template variables (e.g. enable_thinking for Qwen3 templates). */
  variables?: Record<string, unknown>;
}

export class ChatTemplate {
  private readonly template: Template;

  /**
   * source: the Jinja text; origin: where it came from (named in errors);
   * tokenizer: supplies bos_token/eos_token and the BOS rule.
   */
  constructor(
    readonly source: string,
    readonly origin: string,
    private readonly tokenizer: Pick<HfTokenizer, "bosId" | "bosToken" | "specialTokens"> | null,
  ) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new ModelDirError(`${origin}: the chat template does not parse (${(err as Error).message})`, { cause: err });
    }
  }

  /** The prompt text of a conversation. */
  render(messages: readonly TemplateMessage[], options: RenderOptions = {}): string {
    let text: string;
    try {
      text = this.template.render({
        ...(this.tokenizer?.specialTokens ?? {}),
        ...options.variables,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (err) {
      throw new ModelDirError(`${this.origin}: the chat template failed on ${messages.length} message(s) with roles [${messages.map((m) => m.role).join(", ")}]: ${(err as Error).message}`, { cause: err });
    }
    const bos = this.tokenizer?.bosToken;
    if (this.tokenizer !== null && this.tokenizer.bosId !== null && bos && text.startsWith(bos)) text = text.slice(bos.length);
    return text;
  }

  /** render() as a chat format: messages in, generation-ready prompt out. */
  readonly format = (messages: readonly TemplateMessage[]): string => this.render(messages);
}

/**
 * The chat template of a model directory, or null when it has none:
 * chat_template.jinja, else chat_template.json, else tokenizer_config.json's
 * chat_template (a string, or a list of named templates: "default").
 */
export function loadChatTemplate(dir: string, tokenizer: HfTokenizer | null): ChatTemplate | null {
  const jinja = readTextFile(dir, "chat_template.jinja");
  if (jinja !== undefined) return new ChatTemplate(jinja, `${dir}/chat_template.jinja`, tokenizer);
  const json = readJsonFile(dir, "chat_template.json", false, '{"chat_template": "..."}');
  if (json !== undefined) {
    if (typeof json.chat_template !== "string") throw new ModelDirError(`${dir}/chat_template.json: expected a string field "chat_template"`);
    return new ChatTemplate(json.chat_template, `${dir}/chat_template.json`, tokenizer);
  }
  const raw = tokenizer?.config.chat_template;
  const origin = `${dir}/tokenizer_config.json`;
  if (raw === undefined || raw === null) return null;
  if (typeof raw === "string") return new ChatTemplate(raw, origin, tokenizer);
  if (Array.isArray(raw)) {
    const named = raw.find((t) => t !== null && typeof t === "object" && (t as { name?: unknown }).name === "default") as { template?: unknown } | undefined;
    if (named && typeof named.template === "string") return new ChatTemplate(named.template, `${origin} (chat_template "default")`, tokenizer);
    throw new ModelDirError(`${origin}: chat_template is a list without a {"name": "default", "template": "..."} entry`);
  }
  throw new ModelDirError(`${origin}: chat_template must be a string or a list of {name, template}, got ${typeof raw}`);
}
