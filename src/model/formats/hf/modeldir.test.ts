import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../../util/rng.js";
import { CheckpointError } from "../checkpoint.js";
import { configJson, parseModelConfig } from "../../config.js";
import { LlamaModel } from "../../llama.js";
import { ByteTokenizer } from "../../tokenizer.js";
import { loadModelDir, loadTokenizerDir, saveModelDir } from "./modeldir.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-modeldir-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = {
  model_type: "llama",
  vocab_size: 259,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  tie_word_embeddings: true,
};

/** A directory holding only a byte-level config.json with `over` merged in (null deletes a key): all the tokenizer check reads. */
function byteDir(name: string, over: Record<string, unknown>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const config: Record<string, unknown> = { ...configJson(parseModelConfig(base)) };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete config[k];
    else config[k] = v;
  }
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

describe("byte-level model directories (vocab_size 259, no tokenizer.json)", () => {
  it.each([
    ["with the byte tokenizer's ids", { bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }],
    ["with eos as a one-element list", { bos_token_id: 257, eos_token_id: [258] }],
    ["with no special ids at all", { bos_token_id: null, eos_token_id: null, pad_token_id: null }],
  ])("loads %s", (_name, over) => {
    const t = loadTokenizerDir(byteDir(`ok-${Object.keys(over).length}-${JSON.stringify(over).length}`, over));
    expect(t.kind).toBe("byte");
    expect(t.tokenizer.vocabSize).toBe(259);
    expect(t.tokenizer.encode("hi")).toEqual([104, 105]);
  });

  it("a saved byte-level model with the byte tokenizer's ids loads whole", () => {
    const dir = join(tmp, "saved");
    saveModelDir(dir, LlamaModel.init(parseModelConfig({ ...base, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256 }), new Rng(1), 0.02));
    const m = loadModelDir(dir);
    expect(m.kind).toBe("byte");
    expect(m.model.config.vocabSize).toBe(259);
  });

  it.each([
    ["bos/eos of another tokenizer", { bos_token_id: 1, eos_token_id: 2 }, /bos_token_id 1 \(the byte tokenizer's is 257\), eos_token_id 2 \(the byte tokenizer's is 258\) do not;/],
    ["a pad id of 0", { bos_token_id: 257, eos_token_id: 258, pad_token_id: 0 }, /pad_token_id 0 \(the byte tokenizer's is 256\) does not;/],
    ["two eos ids", { eos_token_id: [258, 256] }, /eos_token_id \[258,256\] \(the byte tokenizer's is 258\) does not;/],
  ])("refuses %s, naming the field that is wrong rather than asking for vocab_size 259", (_name, over, message) => {
    const dir = byteDir(`bad-${JSON.stringify(over).length}`, over);
    let err: unknown;
    try {
      loadTokenizerDir(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    const text = (err as Error).message;
    expect(text).toMatch(message);
    expect(text).toContain("vocab_size 259 fits gvm's byte tokenizer");
    expect(text).toContain(`pad_token_id ${ByteTokenizer.PAD}, bos_token_id ${ByteTokenizer.BOS}, eos_token_id ${ByteTokenizer.EOS}`);
    expect(text).not.toMatch(/expected .*vocab_size 259/);
  });

  it("a vocabulary the byte tokenizer cannot be gets the general message", () => {
    const dir = byteDir("small", { vocab_size: 100 });
    expect(() => loadTokenizerDir(dir)).toThrow(/no tokenizer\.json \(expected tokenizer\.json \+ tokenizer_config\.json of a Hugging Face model, or a gvm byte-level model: vocab_size 259, or more with bos_token_id 257 and eos_token_id 258; config\.json has vocab_size 100/);
  });
});
