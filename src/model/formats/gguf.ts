/**
 * GGUF export (version 3, the llama.cpp / Ollama format), f32 or f16.
 *
 * Architecture keys and tensor names follow llama.cpp's loaders for
 * "llama" and "qwen2". Two conventions differ from Hugging Face:
 * - GGUF lists dimensions fastest-first, so a (out, in) weight is [in, out];
 *   the bytes are the same row-major data.
 * - llama.cpp's "llama" architecture rotates interleaved pairs while HF
 *   checkpoints (and our engine) rotate halves (rotate_half), so q/k rows
 *   are permuted per head as llama.cpp's own converter does. "qwen2" uses
 *   the half layout in llama.cpp too: no permutation.
 * 1-D tensors (norms, biases) stay f32 in f16 files, as llama.cpp expects.
 *
 * Tokenizers:
 * - Hugging Face byte-level BPE (Qwen2, Llama 3): GPT-2 style, the
 *   vocabulary's token strings, merges "a b", token types (special added
 *   tokens are control tokens), the pre-tokenizer named from its regex.
 * - gvm's byte-level models: also GPT-2 style, with the 256 byte tokens
 *   spelled in GPT-2's byte-to-unicode alphabet at ids 0..255 and no merges,
 *   so llama.cpp maps every byte to the id our engine uses; pad/bos/eos are
 *   control tokens. (A SentencePiece vocabulary would not do: llama.cpp
 *   rewrites spaces to U+2581 before byte fallback, changing the ids.)
 */
import type { LlamaModel } from "../llama.js";
import { ModelError } from "../errors.js";
import { floatBitsToHalf } from "./safetensors.js";
import { ByteTokenizer } from "../tokenizer.js";
import { atomicWrite } from "../../util/atomic.js";
import { HfTokenizer, specialTokenText } from "./hf/tokenizer.js";

export class GgufError extends ModelError {}

export type GgufDtype = "F32" | "F16";

/** The tokenizer to embed: gvm's byte tokenizer, or a Hugging Face one with its tokenizer.json. */
export type GgufTokenizer =
  | { kind: "byte" }
  | { kind: "hf"; tokenizer: HfTokenizer; tokenizerJson: Record<string, unknown>; chatTemplate?: string | null; pre?: string };

export interface GgufOptions {
  dtype?: GgufDtype;
  /** general.name. */
  name?: string;
}

/** GGUF metadata value types (the subset we write). */
const VT = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
type VT = typeof VT;

const ALIGN = 32;

/** Token types of llama.cpp's vocabulary. */
const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_UNUSED = 5;

type Value =
  | { t: VT["U32"] | VT["I32"] | VT["F32"]; v: number }
  | { t: VT["BOOL"]; v: boolean }
  | { t: VT["STRING"]; v: string }
  | { t: VT["ARRAY"]; of: VT["STRING"]; v: readonly string[] }
  | { t: VT["ARRAY"]; of: VT["I32"]; v: readonly number[] };

/** GPT-2's printable alphabet for bytes (bytes_to_unicode). */
export function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  return map;
}

/** Pre-tokenizer name llama.cpp knows, from the Split regex of a tokenizer.json. */
const PRE_BY_REGEX: Array<[string, string]> = [
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2"],
  ["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe"],
];

function regexesOf(node: unknown, out: string[]): string[] {
  if (node === null || typeof node !== "object") return out;
  const n = node as Record<string, unknown>;
  const pattern = n.pattern as { Regex?: unknown } | undefined;
  if (n.type === "Split" && pattern && typeof pattern.Regex === "string") out.push(pattern.Regex);
  if (Array.isArray(n.pretokenizers)) for (const p of n.pretokenizers) regexesOf(p, out);
  return out;
}

interface VocabSpec {
  model: "gpt2";
  pre: string;
  tokens: string[];
  types: number[];
  merges: string[];
  bos: number | null;
  eos: number;
  pad: number;
  addBos: boolean;
  chatTemplate: string | null;
}

function byteVocab(rows: number): VocabSpec {
  const tokens = byteToUnicode();
  const types = new Array<number>(256).fill(TOKEN_NORMAL);
  tokens.push("<|pad|>", "<|bos|>", "<|eos|>");
  types.push(TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL);
  padVocab(tokens, types, rows);
  return { model: "gpt2", pre: "default", tokens, types, merges: [], bos: ByteTokenizer.BOS, eos: ByteTokenizer.EOS, pad: ByteTokenizer.PAD, addBos: true, chatTemplate: null };
}

function padVocab(tokens: string[], types: number[], rows: number): void {
  for (let i = tokens.length; i < rows; i++) {
    tokens.push(`[PAD${i}]`);
    types.push(TOKEN_UNUSED);
  }
}

function hfVocab(t: Extract<GgufTokenizer, { kind: "hf" }>, rows: number): VocabSpec {
  const json = t.tokenizerJson;
  const model = json.model as { type?: unknown; merges?: unknown; vocab?: unknown };
  const decoder = JSON.stringify(json.decoder ?? null);
  if (model?.type !== "BPE" || !decoder.includes('"ByteLevel"')) {
    throw new GgufError(`GGUF export supports byte-level BPE tokenizers (GPT-2 style: Qwen2, Llama 3); this tokenizer.json has model type ${JSON.stringify(model?.type)} and decoder ${decoder.slice(0, 80)}`);
  }
  if (!Array.isArray(model.merges)) throw new GgufError(`tokenizer.json: model.merges is not a list`);
  const merges = model.merges.map((m, i) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") return `${m[0]} ${m[1]}`;
    throw new GgufError(`tokenizer.json: model.merges[${i}] is neither "a b" nor ["a", "b"]`);
  });
  let pre = t.pre;
  if (pre === undefined) {
    const regexes = regexesOf(json.pre_tokenizer, []);
    pre = PRE_BY_REGEX.find(([r]) => regexes.includes(r))?.[1];
    if (pre === undefined) throw new GgufError(`tokenizer.json: its pre-tokenizer (${regexes.length} Split regex(es)) is not one llama.cpp knows by name here (qwen2, llama-bpe); name it explicitly`);
  }
  const tok = t.tokenizer;
  const tokens: string[] = [];
  const types: number[] = [];
  const added = new Map<number, boolean>();
  for (const a of (json.added_tokens ?? []) as Array<{ id?: unknown; special?: unknown }>) if (typeof a.id === "number") added.set(a.id, a.special === true);
  for (let id = 0; id < tok.vocabSize; id++) {
    const s = tok.tokenString(id);
    if (s === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_UNUSED);
      continue;
    }
    tokens.push(s);
    types.push(added.has(id) ? (added.get(id) ? TOKEN_CONTROL : TOKEN_USER_DEFINED) : TOKEN_NORMAL);
  }
  padVocab(tokens, types, rows);
  const eosText = tok.eosToken;
  const eos = eosText !== null ? (tok.tokenId(eosText) as number) : (tok.eosIds[0] as number);
  const bosText = specialTokenText(tok.config.bos_token);
  const bos = bosText === null ? null : (tok.tokenId(bosText) ?? null);
  return { model: "gpt2", pre, tokens, types, merges, bos, eos, pad: tok.padId, addBos: tok.bosId !== null, chatTemplate: t.chatTemplate ?? null };
}

interface TensorOut {
  name: string;
  /** GGUF dims, fastest first. */
  dims: number[];
  dtype: GgufDtype;
  data: Float32Array;
}

/** Per-head row permutation from rotate_half to interleaved pairs (llama.cpp's "llama" rope). */
function permuteRows(data: Float32Array, heads: number, rowLen: number): Float32Array {
  const rows = data.length / rowLen;
  const D = rows / heads;
  const half = D / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let k = 0; k < 2; k++) {
        const src = h * D + k * half + i;
        const dst = h * D + i * 2 + k;
        out.set(data.subarray(src * rowLen, (src + 1) * rowLen), dst * rowLen);
      }
    }
  }
  return out;
}

function tensorsOf(model: LlamaModel, dtype: GgufDtype): TensorOut[] {
  const c = model.config;
  const p = (name: string): Float32Array => {
    const t = model.params.get(name);
    if (!t) throw new GgufError(`GGUF export: the model has no parameter ${name}`);
    return t.data;
  };
  const mat = (name: string, from: string, rows: number, cols: number, permuteHeads = 0): TensorOut => {
    const data = permuteHeads > 0 ? permuteRows(p(from), permuteHeads, cols) : p(from);
    return { name, dims: [cols, rows], dtype, data };
  };
  const vec = (name: string, from: string, permuteHeads = 0): TensorOut => {
    const data = permuteHeads > 0 ? permuteRows(p(from), permuteHeads, 1) : p(from);
    return { name, dims: [data.length], dtype: "F32", data };
  };
  const llama = c.modelType === "llama";
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const out: TensorOut[] = [mat("token_embd.weight", "model.embed_tokens.weight", c.vocabSize, C)];
  for (let i = 0; i < c.numLayers; i++) {
    const hf = `model.layers.${i}`;
    const g = `blk.${i}`;
    out.push(vec(`${g}.attn_norm.weight`, `${hf}.input_layernorm.weight`));
    out.push(mat(`${g}.attn_q.weight`, `${hf}.self_attn.q_proj.weight`, qDim, C, llama ? c.numHeads : 0));
    out.push(mat(`${g}.attn_k.weight`, `${hf}.self_attn.k_proj.weight`, kvDim, C, llama ? c.numKvHeads : 0));
    out.push(mat(`${g}.attn_v.weight`, `${hf}.self_attn.v_proj.weight`, kvDim, C));
    if (c.qkvBias) {
      out.push(vec(`${g}.attn_q.bias`, `${hf}.self_attn.q_proj.bias`, llama ? c.numHeads : 0));
      out.push(vec(`${g}.attn_k.bias`, `${hf}.self_attn.k_proj.bias`, llama ? c.numKvHeads : 0));
      out.push(vec(`${g}.attn_v.bias`, `${hf}.self_attn.v_proj.bias`));
    }
    out.push(mat(`${g}.attn_output.weight`, `${hf}.self_attn.o_proj.weight`, C, qDim));
    if (c.oBias) out.push(vec(`${g}.attn_output.bias`, `${hf}.self_attn.o_proj.bias`));
    out.push(vec(`${g}.ffn_norm.weight`, `${hf}.post_attention_layernorm.weight`));
    out.push(mat(`${g}.ffn_gate.weight`, `${hf}.mlp.gate_proj.weight`, c.intermediateSize, C));
    out.push(mat(`${g}.ffn_up.weight`, `${hf}.mlp.up_proj.weight`, c.intermediateSize, C));
    out.push(mat(`${g}.ffn_down.weight`, `${hf}.mlp.down_proj.weight`, C, c.intermediateSize));
  }
  out.push(vec("output_norm.weight", "model.norm.weight"));
  // Tied models leave output.weight out; llama.cpp then reads token_embd for the head.
  if (!c.tieEmbeddings) out.push(mat("output.weight", "lm_head.weight", c.vocabSize, C));
  return out;
}

/** The metadata key/values of a model + tokenizer, in writing order. */
function metadataOf(model: LlamaModel, vocab: VocabSpec, o: Required<GgufOptions>): Array<[string, Value]> {
  const c = model.config;
  const arch = c.modelType;
  const u32 = (v: number): Value => ({ t: VT.U32, v });
  const f32 = (v: number): Value => ({ t: VT.F32, v });
  const kv: Array<[string, Value]> = [
    ["general.architecture", { t: VT.STRING, v: arch }],
    ["general.name", { t: VT.STRING, v: o.name }],
    ["general.file_type", u32(o.dtype === "F32" ? 0 : 1)],
    ["general.alignment", u32(ALIGN)],
    [`${arch}.context_length`, u32(c.maxPositions)],
    [`${arch}.embedding_length`, u32(c.hiddenSize)],
    [`${arch}.block_count`, u32(c.numLayers)],
    [`${arch}.feed_forward_length`, u32(c.intermediateSize)],
    [`${arch}.attention.head_count`, u32(c.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(c.numKvHeads)],
    [`${arch}.attention.key_length`, u32(c.headDim)],
    [`${arch}.attention.value_length`, u32(c.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(c.ropeTheta)],
    [`${arch}.rope.dimension_count`, u32(c.headDim)],
    [`${arch}.vocab_size`, u32(c.vocabSize)],
    ["tokenizer.ggml.model", { t: VT.STRING, v: vocab.model }],
    ["tokenizer.ggml.pre", { t: VT.STRING, v: vocab.pre }],
    ["tokenizer.ggml.tokens", { t: VT.ARRAY, of: VT.STRING, v: vocab.tokens }],
    ["tokenizer.ggml.token_type", { t: VT.ARRAY, of: VT.I32, v: vocab.types }],
    ["tokenizer.ggml.merges", { t: VT.ARRAY, of: VT.STRING, v: vocab.merges }],
    ["tokenizer.ggml.eos_token_id", u32(vocab.eos)],
    ["tokenizer.ggml.padding_token_id", u32(vocab.pad)],
    ["tokenizer.ggml.add_bos_token", { t: VT.BOOL, v: vocab.addBos }],
    ["tokenizer.ggml.add_eos_token", { t: VT.BOOL, v: false }],
  ];
  if (vocab.bos !== null) kv.push(["tokenizer.ggml.bos_token_id", u32(vocab.bos)]);
  if (vocab.chatTemplate !== null) kv.push(["tokenizer.chat_template", { t: VT.STRING, v: vocab.chatTemplate }]);
  return kv;
}

/** A growable little-endian byte buffer for the header. */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }

  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  padTo(align: number): void {
    const pad = (align - (this.length % align)) % align;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(b: Bytes, v: Value): void {
  b.u32(v.t);
  switch (v.t) {
    case VT.U32:
      b.u32(v.v);
      break;
    case VT.I32:
      b.i32(v.v);
      break;
    case VT.F32:
      b.f32(v.v);
      break;
    case VT.BOOL:
      b.u8(v.v ? 1 : 0);
      break;
    case VT.STRING:
      b.str(v.v);
      break;
    case VT.ARRAY:
      b.u32(v.of);
      b.u64(v.v.length);
      if (v.of === VT.STRING) for (const s of v.v as readonly string[]) b.str(s);
      else for (const x of v.v as readonly number[]) b.i32(x);
      break;
  }
}

function tensorBytes(t: TensorOut): Uint8Array {
  if (t.dtype === "F32") return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  const halves = new Uint16Array(t.data.length);
  for (let i = 0; i < halves.length; i++) halves[i] = floatBitsToHalf(bits[i] as number);
  return new Uint8Array(halves.buffer);
}

/**
 * Writes a model as a GGUF file (atomically). The tokenizer's ids must fit
 * the embedding; rows past the tokenizer become unused [PADn] tokens.
 */
export function writeGguf(path: string, model: LlamaModel, tokenizer: GgufTokenizer, options: GgufOptions = {}): void {
  const o: Required<GgufOptions> = { dtype: options.dtype ?? "F16", name: options.name ?? "gvm" };
  if (o.dtype !== "F32" && o.dtype !== "F16") throw new GgufError(`GGUF export: dtype must be F32 or F16, got ${String(o.dtype)}`);
  const rows = model.config.vocabSize;
  const vocab = tokenizer.kind === "byte" ? byteVocab(rows) : hfVocab(tokenizer, rows);
  if (vocab.tokens.length !== rows) throw new GgufError(`GGUF export: the tokenizer has ${vocab.tokens.length} tokens but the embedding has ${rows} rows`);
  const tensors = tensorsOf(model, o.dtype);
  const kv = metadataOf(model, vocab, o);

  const head = new Bytes();
  head.u32(0x46554747); // "GGUF"
  head.u32(3);
  head.u64(tensors.length);
  head.u64(kv.length);
  for (const [key, value] of kv) {
    head.str(key);
    writeValue(head, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.dtype === "F32" ? 0 : 1);
    head.u64(offset);
    offsets.push(offset);
    const size = t.data.length * (t.dtype === "F32" ? 4 : 2);
    offset += size + ((ALIGN - (size % ALIGN)) % ALIGN);
  }
  head.padTo(ALIGN);
  atomicWrite(path, function* () {
    yield head.bytes();
    for (const t of tensors) {
      const bytes = tensorBytes(t);
      yield bytes;
      const pad = (ALIGN - (bytes.length % ALIGN)) % ALIGN;
      if (pad > 0) yield new Uint8Array(pad);
    }
  });
}
