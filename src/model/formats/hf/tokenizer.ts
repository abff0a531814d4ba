/**
 * Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) behind
 * our Tokenizer interface, through the maintained `@huggingface/tokenizers`
 * library (the tokenizer of transformers.js).
 *
 * Special ids follow what transformers and vLLM do:
 * - eosIds: the tokenizer's eos_token plus every eos_token_id of config.json
 *   and generation_config.json (Qwen2.5 instruct models end turns with
 *   <|im_end|> but list <|endoftext|> too; a sampler must stop at either).
 * - bosId: the id the tokenizer itself prepends to a plain text
 *   (tokenizer_config add_bos_token, else what its post-processor adds), or
 *   null (Qwen). Our samplers prepend it, so prompts tokenize as
 *   `tokenizer(text)` does in transformers.
 * - padId: pad_token, else config pad_token_id, else the first eos id
 *   (padding positions are masked, so any id works; this is the usual choice).
 * encode() adds no specials but does map special-token text in the input
 * (a chat template's "<|im_start|>") to its id, as transformers does.
 * decode() drops special tokens and ids the vocabulary does not have (model
 * embeddings are often padded past the tokenizer, e.g. Qwen's 151936 rows
 * for 151669 tokens; transformers and vLLM drop those too).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { TokenizerError, type Tokenizer } from "../../tokenizer.js";
import { ModelDirError, parseJsonObject, readFileBytes, readJsonFile } from "./files.js";
import { describe } from "../../../util/errors.js";

export interface HfTokenizerSource {
  /** Parsed tokenizer_config.json. */
  tokenizerConfig: Record<string, unknown>;
  /** Parsed config.json (for eos/pad ids), when there is one. */
  modelConfig?: Record<string, unknown>;
  /** Parsed generation_config.json, when there is one. */
  generationConfig?: Record<string, unknown>;
  /** Directory named in errors. */
  dir: string;
}

/** A special token entry in tokenizer_config.json: a string or {content: "..."}. */
export function specialTokenText(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return null;
}

function idList(v: unknown): number[] {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0);
  return [];
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly bosId: number | null;
  readonly eosIds: readonly number[];
  /** Text of the BOS token (for chat templates), or null. */
  readonly bosToken: string | null;
  /** Text of the EOS token (for chat templates), or null. */
  readonly eosToken: string | null;
  /** Every special token's text by name, as chat templates see them (bos_token, eos_token, pad_token, unk_token). */
  readonly specialTokens: Readonly<Record<string, string>>;
  /** The raw tokenizer_config.json (chat template, model_max_length, ...). */
  readonly config: Readonly<Record<string, unknown>>;
  private readonly lib: HfLibTokenizer;
  private readonly specialIds: ReadonlySet<number>;

  /** core: the built library tokenizer (buildTokenizerCore); src: the other files of the directory. */
  constructor(core: TokenizerCore, src: HfTokenizerSource) {
    const where = `${src.dir}/tokenizer.json`;
    this.lib = core.lib;
    this.vocabSize = core.vocabSize;
    this.specialIds = core.specialIds;
    this.config = src.tokenizerConfig;

    const cfgWhere = `${src.dir}/tokenizer_config.json`;
    for (const field of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
      const v = src.tokenizerConfig[field];
      // A number or a list here is a mistake that would otherwise read as "no such token" and change what ends generation.
      if (v !== undefined && v !== null && specialTokenText(v) === null) throw new ModelDirError(`${cfgWhere}: ${field} must be the token's text or {"content": text}, found ${describe(v)}`);
    }
    const idOf = (field: string): number | null => {
      const text = specialTokenText(src.tokenizerConfig[field]);
      if (text === null) return null;
      const id = this.lib.token_to_id(text);
      if (id === undefined) throw new ModelDirError(`${cfgWhere}: ${field} ${JSON.stringify(text)} is not in the vocabulary of ${where}`);
      return id;
    };
    const named: Record<string, string> = {};
    for (const field of ["bos_token", "eos_token", "pad_token", "unk_token"]) {
      const text = specialTokenText(src.tokenizerConfig[field]);
      if (text !== null) named[field] = text;
    }
    this.specialTokens = named;
    this.bosToken = named.bos_token ?? null;
    this.eosToken = named.eos_token ?? null;

    const eos = new Set<number>();
    const tokEos = idOf("eos_token");
    if (tokEos !== null) eos.add(tokEos);
    for (const id of idList(src.modelConfig?.eos_token_id)) eos.add(id);
    for (const id of idList(src.generationConfig?.eos_token_id)) eos.add(id);
    if (eos.size === 0) throw new ModelDirError(`${cfgWhere}: no eos_token, and config.json / generation_config.json give no eos_token_id; generation would never stop`);
    for (const id of eos) if (id >= this.vocabSize) throw new ModelDirError(`${src.dir}: eos token id ${id} is outside the tokenizer's ${this.vocabSize} ids`);
    this.eosIds = [...eos];

    const bos = idOf("bos_token");
    const addBos = src.tokenizerConfig.add_bos_token;
    if (typeof addBos === "boolean") {
      if (addBos && bos === null) throw new ModelDirError(`${cfgWhere}: add_bos_token is true but there is no bos_token`);
      this.bosId = addBos ? bos : null;
    } else {
      // The post-processor decides (Llama 3's TemplateProcessing adds <|begin_of_text|>).
      const withSpecials = this.lib.encode("a", { add_special_tokens: true }).ids;
      const without = this.lib.encode("a", { add_special_tokens: false }).ids;
      this.bosId = withSpecials.length > without.length && withSpecials[0] !== without[0] ? (withSpecials[0] as number) : null;
    }

    const pad = idOf("pad_token") ?? idList(src.modelConfig?.pad_token_id)[0] ?? null;
    this.padId = pad ?? (this.eosIds[0] as number);
  }

  encode(text: string): number[] {
    return this.lib.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>): string {
    return this.decodeIds(ids, true);
  }

  /** Text of ids with special tokens kept (what a server shows with skip_special_tokens=false). */
  decodeWithSpecials(ids: ArrayLike<number>): string {
    return this.decodeIds(ids, false);
  }

  /** The token string of an id (byte-level form, e.g. "Ġthe"), or undefined. */
  tokenString(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  /** True for added tokens marked special (<|im_end|>, <|endoftext|>, ...). */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Id of a token string, or undefined. */
  tokenId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  private decodeIds(ids: ArrayLike<number>, skipSpecial: boolean): string {
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`decode: id ${id} at position ${i} is not a non-negative integer`);
      list.push(id);
    }
    return this.lib.decode(list, { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }
}

/**
 * The fields the library builds from, checked first: it accepts a "vocab"
 * that is a number or merges that are numbers without a word and builds a
 * tokenizer that silently encodes nothing, or fails deep inside with
 * "Cannot read properties of undefined".
 */
function checkTokenizerShape(json: Record<string, unknown>, model: Record<string, unknown>, where: string): void {
  const bad = (field: string, want: string, got: unknown): never => {
    throw new ModelDirError(`${where}: ${field} must be ${want}, found ${describe(got)}`);
  };
  const vocab = model.vocab;
  if (vocab === null || typeof vocab !== "object") bad("model.vocab", "an object of token -> id (BPE, WordPiece) or a list of [piece, score] (Unigram)", vocab);
  if (model.merges !== undefined) {
    if (!Array.isArray(model.merges)) bad("model.merges", "a list", model.merges);
    (model.merges as unknown[]).forEach((m, i) => {
      const pair = Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string";
      if (typeof m !== "string" && !pair) bad(`model.merges[${i}]`, '"a b" or ["a", "b"]', m);
    });
  }
  if (json.added_tokens !== undefined && json.added_tokens !== null) {
    if (!Array.isArray(json.added_tokens)) bad("added_tokens", "a list of {id, content, special}", json.added_tokens);
    (json.added_tokens as unknown[]).forEach((t, i) => {
      const o = t as Record<string, unknown> | null;
      if (o === null || typeof o !== "object" || !Number.isInteger(o.id) || (o.id as number) < 0 || typeof o.content !== "string") bad(`added_tokens[${i}]`, "{id: integer >= 0, content: string, ...}", t);
    });
  }
}

/** The built library tokenizer and what is derived from its vocabulary alone. */
export interface TokenizerCore {
  lib: HfLibTokenizer;
  vocabSize: number;
  specialIds: ReadonlySet<number>;
}

/** Builds the library tokenizer from parsed tokenizer.json and tokenizer_config.json; `where` is named in errors. */
export function buildTokenizerCore(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, where: string): TokenizerCore {
  const model = tokenizerJson.model;
  if (model === undefined || model === null || typeof model !== "object") throw new ModelDirError(`${where}: no "model" object (expected a tokenizers library tokenizer.json)`);
  checkTokenizerShape(tokenizerJson, model as Record<string, unknown>, where);
  let lib: HfLibTokenizer;
  try {
    lib = new HfLibTokenizer(tokenizerJson, tokenizerConfig);
  } catch (err) {
    throw new ModelDirError(`${where}: the tokenizer cannot be built (${(err as Error).message})`, { cause: err });
  }
  const vocab = lib.get_vocab(true);
  if (vocab.size === 0) throw new ModelDirError(`${where}: the vocabulary is empty`);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  const specialIds = new Set<number>();
  for (const [id, t] of lib.get_added_tokens_decoder()) if (t.special) specialIds.add(id);
  return { lib, vocabSize: maxId + 1, specialIds };
}

/**
 * Built tokenizers by the hash of their two files' bytes: building one
 * (parsing ~11 MB of JSON, indexing 150k merges) takes about a second, and
 * an evaluation of several checkpoints of one run, or a trainer reloading
 * its checkpoints, reads the same files again and again.
 */
const CORE_CACHE = new Map<string, TokenizerCore>();
const CORE_CACHE_SIZE = 2;

/**
 * Loads tokenizer.json + tokenizer_config.json of a model directory
 * (config.json and generation_config.json, when present, add eos ids).
 */
export function loadHfTokenizer(dir: string): HfTokenizer {
  const tokenizerBytes = readFileBytes(dir, "tokenizer.json", "a tokenizers library tokenizer.json");
  const configBytes = readFileBytes(dir, "tokenizer_config.json", "tokenizer_config.json with the special tokens and chat template");
  const tokenizerConfig = parseJsonObject(join(dir, "tokenizer_config.json"), configBytes.toString("utf8"), "tokenizer_config.json with the special tokens and chat template");
  const modelConfig = readJsonFile(dir, "config.json", false, "the model config");
  const generationConfig = readJsonFile(dir, "generation_config.json", false, "generation defaults");
  const key = createHash("sha256").update(tokenizerBytes).update("\0").update(configBytes).digest("hex");
  let core = CORE_CACHE.get(key);
  if (core === undefined) {
    const path = join(dir, "tokenizer.json");
    core = buildTokenizerCore(parseJsonObject(path, tokenizerBytes.toString("utf8"), "a tokenizers library tokenizer.json"), tokenizerConfig, path);
    CORE_CACHE.set(key, core);
    while (CORE_CACHE.size > CORE_CACHE_SIZE) CORE_CACHE.delete(CORE_CACHE.keys().next().value as string);
  }
  return new HfTokenizer(core, { tokenizerConfig, dir, ...(modelConfig ? { modelConfig } : {}), ...(generationConfig ? { generationConfig } : {}) });
}
