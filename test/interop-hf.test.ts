/**
 * Hugging Face model directories end to end: the real Qwen tokenizer and
 * chat template, random-weight Qwen2 and Llama checkpoints written by hand
 * (single and sharded; bf16, fp16, fp32), loading, saving in the same
 * layout, sampling, gradient norms, and errors for broken directories.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAT_FORMATS, PAPER_TEMPLATE, renderPrompt } from "../src/eval/index.js";
import { ChatTemplate, HfTokenizer, loadChatTemplate, loadHfTokenizer, loadModelDir, loadTokenizerDir, perSampleGradNorms, readSafetensors, saveModelDir, type LlamaModel } from "../src/model/index.js";
import { LocalSampler } from "../src/rollout/index.js";
import * as T from "../src/tensor/index.js";
import { copyQwenTokenizer, llamaConfig, maxRelGap, QWEN_TOKENIZER_DIR, qwen2Config, randomModel, writeHfDir } from "./interop-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-interop-hf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let tok: HfTokenizer;
beforeAll(() => {
  tok = loadHfTokenizer(QWEN_TOKENIZER_DIR);
});

function logits(model: LlamaModel, ids: number[]): Float32Array {
  return T.noGrad(() => T.tidy(() => model.forward(Int32Array.from(ids), 1, ids.length).data.slice()));
}

describe("HfTokenizer on the real Qwen tokenizer files", () => {
  it("reads the special ids from tokenizer_config.json", () => {
    expect(tok.vocabSize).toBe(151669);
    expect(tok.tokenString(tok.eosIds[0] as number)).toBe("<|im_end|>");
    expect(tok.tokenString(tok.padId)).toBe("<|endoftext|>");
    expect(tok.bosId).toBeNull();
    expect(tok.specialTokens.eos_token).toBe("<|im_end|>");
  });

  it("round-trips text, maps special-token text to its id and drops specials and unknown ids on decode", () => {
    for (const text of ["Hello World", "  two  spaces\n\ttab", "\\frac{1}{2} + \\sqrt{x^2} = 3.5", "émoji 🙂 你好 Ελληνικά", "Let's think step by step."]) {
      const ids = tok.encode(text);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThan(Buffer.byteLength(text));
      expect(tok.decode(ids)).toBe(text);
    }
    const imStart = tok.tokenId("<|im_start|>") as number;
    const ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
    expect(ids[0]).toBe(imStart);
    expect(tok.isSpecial(imStart)).toBe(true);
    expect(tok.decode(ids)).toBe("user\nhi");
    expect(tok.decodeWithSpecials(ids)).toBe("<|im_start|>user\nhi<|im_end|>");
    // Model embeddings are padded past the tokenizer: such ids have no text.
    expect(tok.decode([...tok.encode("a"), 151900, ...tok.encode("b")])).toBe("ab");
    expect(() => tok.decode([1.5])).toThrow(/id 1.5 at position 0/);
  });
});

describe("chat templates", () => {
  it("the Qwen template renders the same ChatML text as our chatml format", () => {
    const t = loadChatTemplate(QWEN_TOKENIZER_DIR, tok) as ChatTemplate;
    const messages = [
      { role: "system" as const, content: "Please reason step by step." },
      { role: "user" as const, content: "What is 1+1? Let's think step by step." },
    ];
    expect(t.format(messages)).toBe(CHAT_FORMATS.chatml(messages));
    expect(t.render(messages, { addGenerationPrompt: false })).toBe(CHAT_FORMATS.chatml(messages).replace(/<\|im_start\|>assistant\n$/, ""));
    // As the evaluation harness uses it: the paper's prompt through the model's template.
    const prompt = renderPrompt(PAPER_TEMPLATE, "What is 2+3?", t.format);
    expect(prompt).toMatch(/^<\|im_start\|>system\nPlease reason step by step, and put your final answer within \\boxed\{\}\.<\|im_end\|>\n<\|im_start\|>user\nWhat is 2\+3\? Let's think step by step and output the final answer within \\boxed\{\}<\|im_end\|>\n<\|im_start\|>assistant\n$/);
  });

  it("one BOS: a template's leading bos_token is dropped when the tokenizer prepends BOS itself", () => {
    const dir = join(tmp, "bos");
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(QWEN_TOKENIZER_DIR, "tokenizer.json"), join(dir, "tokenizer.json"));
    const cfg = JSON.parse(readFileSync(join(QWEN_TOKENIZER_DIR, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    cfg.add_bos_token = true;
    cfg.bos_token = "<|endoftext|>";
    cfg.chat_template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(cfg));
    const model = randomModel(qwen2Config({ num_hidden_layers: 1 }), 5);
    saveModelDir(dir, model, { from: dir, dtype: "BF16" });
    const { tokenizer, chatTemplate } = loadTokenizerDir(dir);
    const bos = tokenizer.bosId as number;
    expect((tokenizer as HfTokenizer).tokenString(bos)).toBe("<|endoftext|>");
    const text = (chatTemplate as ChatTemplate).format([{ role: "user", content: "hi" }]);
    expect(text).toBe("[user] hi\n[assistant] ");
    const ids = new LocalSampler(model, tokenizer).promptTokens(text);
    expect(ids.filter((i) => i === bos)).toEqual([bos]);
    expect(ids[0]).toBe(bos);
  });

  it("names the file when a template does not parse or fails", () => {
    expect(() => new ChatTemplate("{% for m in messages %}", "x/tokenizer_config.json", null)).toThrow(/x\/tokenizer_config\.json: the chat template does not parse/);
    const t = new ChatTemplate("{{ raise_exception('only user and assistant roles') }}", "y/chat_template.jinja", null);
    expect(() => t.format([{ role: "system", content: "s" }])).toThrow(/y\/chat_template\.jinja: the chat template failed on 1 message\(s\) with roles \[system\]: .*only user and assistant roles/);
  });
});

function makeQwenDir(name: string, over: Record<string, unknown> = {}): string {
  const dir = join(tmp, name);
  writeHfDir(dir, randomModel(qwen2Config({ num_hidden_layers: 1, ...over }), 1), { dtype: "BF16", shards: 1, tokenizer: true });
  return dir;
}

describe("loading and saving model directories", () => {
  it.each([
    ["qwen2, single bf16 file", () => qwen2Config(), "BF16", 1, 2 ** -8],
    ["llama (attention bias, untied, byte vocabulary), 3 fp16 shards", () => llamaConfig({ vocab_size: 259 }), "F16", 3, 2 ** -11],
    ["llama (byte vocabulary), 2 fp32 shards", () => llamaConfig({ vocab_size: 259, attention_bias: false }), "F32", 2, 0],
  ] as const)("%s: weights and logits survive the round trip", (_label, config, dtype, shards, eps) => {
    const dir = join(tmp, `rt-${dtype}-${shards}`);
    const model = randomModel(config(), 2);
    const hf = model.config.vocabSize > 259;
    writeHfDir(dir, model, { dtype, shards, tokenizer: hf });
    const loaded = loadModelDir(dir);
    expect(loaded.kind).toBe(hf ? "hf" : "byte");
    expect(loaded.chatTemplate === null).toBe(!hf);
    for (const [name, t] of model.params) {
      const u = loaded.model.params.get(name) as T.Tensor;
      expect(u.shape).toEqual(t.shape);
      // Rounding to bf16 / fp16 is relative: at most half an ulp of the format.
      for (let i = 0; i < t.size; i += 97) expect(Math.abs((u.data[i] as number) - (t.data[i] as number))).toBeLessThanOrEqual(Math.abs(t.data[i] as number) * eps + 1e-7);
    }
    const ids = loaded.tokenizer.encode("The answer is \\boxed{42}.");
    const gap = maxRelGap(logits(model, ids), logits(loaded.model, ids));
    if (dtype === "F32") expect(gap).toBe(0);
    else expect(gap).toBeLessThan(dtype === "BF16" ? 0.1 : 0.02);
  });

  it("saveModelDir writes config.json + model.safetensors + the tokenizer files, and reloads identically", () => {
    const src = makeQwenDir("save-src");
    const loaded = loadModelDir(src);
    const out = join(tmp, "save-out");
    saveModelDir(out, loaded.model, { from: src, dtype: "BF16" });
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) expect(readFileSync(join(out, f)).equals(readFileSync(join(src, f))), f).toBe(true);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: "qwen2", architectures: ["Qwen2ForCausalLM"], torch_dtype: "bfloat16", vocab_size: 151936, tie_word_embeddings: true });
    // bf16 -> f32 -> bf16 is exact, so a second save of a bf16 checkpoint is bit-identical.
    const again = loadModelDir(out);
    for (const [name, t] of loaded.model.params) expect(Buffer.from((again.model.params.get(name) as T.Tensor).data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    expect([...readSafetensors(join(out, "model.safetensors")).keys()].sort()).toEqual([...loaded.model.params.keys()].sort());
  });

  it("a gvm byte-level checkpoint loads with the byte tokenizer and no chat template", () => {
    const dir = join(tmp, "bytes");
    const model = randomModel(llamaConfig({ vocab_size: 259, attention_bias: false, tie_word_embeddings: true }), 3);
    saveModelDir(dir, model);
    const m = loadModelDir(dir);
    expect(m.kind).toBe("byte");
    expect(m.chatTemplate).toBeNull();
    expect(m.tokenizer.encode("ab")).toEqual([97, 98]);
  });
});

describe("sampling and gradient norms on a Hugging Face directory", () => {
  it("the paper's prompt through the model's chat template: LocalSampler samples, G_i is finite and positive", async () => {
    const dir = makeQwenDir("sample");
    const m = loadModelDir(dir);
    const sampler = new LocalSampler(m.model, m.tokenizer);
    const prompt = renderPrompt(PAPER_TEMPLATE, "What is 2+3?", m.chatTemplate?.format);
    const [responses] = await sampler.sample([{ prompt, n: 3, seed: 9 }], { temperature: 1, topP: 1, topK: 0, maxNewTokens: 6 });
    expect(responses).toHaveLength(3);
    for (const r of responses ?? []) {
      expect(r.tokens.every((t) => t >= 0 && t < m.config.vocabSize)).toBe(true);
      expect(r.text).toBe(m.tokenizer.decode(r.tokens));
      expect(r.logprobs).toHaveLength(r.tokens.length);
    }
    const promptIds = sampler.promptTokens(prompt);
    expect(promptIds).toEqual(m.tokenizer.encode(prompt));
    const g = perSampleGradNorms(m.model, (responses ?? []).map((r) => ({ prompt: promptIds, response: r.tokens })), { subset: "embedding", padId: m.tokenizer.padId });
    for (const x of g) expect(x).toBeGreaterThan(0);
    for (const x of g) expect(Number.isFinite(x)).toBe(true);
  });
});

describe("broken directories: errors name the file, field and what was expected", () => {
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ["no config.json", (d) => rmSync(join(d, "config.json")), /config\.json: cannot read/],
    ["corrupt config.json", (d) => writeFileSync(join(d, "config.json"), "{ not json"), /config\.json: not valid JSON/],
    ["unsupported model_type", (d) => patchJson(join(d, "config.json"), { model_type: "mistral" }), /config\.json: model_type "mistral" is not supported; supported: "llama", "qwen2"/],
    ["tokenizer larger than the embedding", (d) => patchJson(join(d, "config.json"), { vocab_size: 1000 }), /tokenizer\.json has 151669 token ids but config\.json vocab_size is 1000/],
    ["no tokenizer_config.json", (d) => rmSync(join(d, "tokenizer_config.json")), /tokenizer_config\.json: missing \(expected tokenizer_config\.json with the special tokens and chat template\)/],
    ["corrupt tokenizer.json", (d) => truncateSync(join(d, "tokenizer.json"), 5000), /tokenizer\.json: not valid JSON/],
    ["eos_token not in the vocabulary", (d) => patchJson(join(d, "tokenizer_config.json"), { eos_token: "<|nope|>" }), /tokenizer_config\.json: eos_token "<\|nope\|>" is not in the vocabulary/],
    ["broken chat template", (d) => patchJson(join(d, "tokenizer_config.json"), { chat_template: "{% if %}" }), /tokenizer_config\.json: the chat template does not parse/],
    ["truncated weights", (d) => truncateSync(join(d, "model.safetensors"), statSync(join(d, "model.safetensors")).size - 100), /model\.safetensors: tensor .* data ends at byte \d+ but the file has only \d+ data bytes \(truncated\?\)/],
    ["no weights", (d) => rmSync(join(d, "model.safetensors")), /no model\.safetensors or model\.safetensors\.index\.json/],
    ["no tokenizer, not a byte-level model", (d) => rmSync(join(d, "tokenizer.json")), /no tokenizer\.json \(expected tokenizer\.json \+ tokenizer_config\.json of a Hugging Face model, or a gvm byte-level model.*vocab_size 151936/],
  ];
  let base: string;
  beforeAll(() => {
    base = makeQwenDir("broken-base");
  });
  it.each(cases)("%s", (name, breakIt, message) => {
    const dir = join(tmp, `broken-${name.replace(/\W+/g, "-")}`);
    mkdirSync(dir, { recursive: true });
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(base, f), join(dir, f));
    copyQwenTokenizer(dir);
    breakIt(dir);
    expect(() => loadModelDir(dir)).toThrow(message);
    try {
      loadModelDir(dir);
    } catch (err) {
      expect((err as Error).message).toContain(dir);
    }
  });
});

function patchJson(path: string, patch: Record<string, unknown>): void {
  writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, "utf8")) as object), ...patch }));
}
