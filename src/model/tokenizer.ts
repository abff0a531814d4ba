/**
 * The tokenizer interface every model uses, and the byte-level tokenizer of
 * the built-in tasks: one token per UTF-8 byte plus three specials, so any
 * text round-trips exactly. Hugging Face tokenizers implement the same
 * interface.
 */
import { GvmError } from "../util/errors.js";

export class TokenizerError extends GvmError {}

export interface Tokenizer {
  /** Number of token ids (the embedding needs at least this many rows). */
  readonly vocabSize: number;
  /** Id that pads batches; never produced by encode. */
  readonly padId: number;
  /** Id prepended to prompts, or null when the model uses none. */
  readonly bosId: number | null;
  /** Ids that end generation. */
  readonly eosIds: readonly number[];
  /** Token ids of a text (no specials added). */
  encode(text: string): number[];
  /** Text of token ids; special tokens are dropped. */
  decode(ids: ArrayLike<number>): string;
}

export class ByteTokenizer implements Tokenizer {
  static readonly PAD = 256;
  static readonly BOS = 257;
  static readonly EOS = 258;
  readonly vocabSize = 259;
  readonly padId = ByteTokenizer.PAD;
  readonly bosId = ByteTokenizer.BOS;
  readonly eosIds = [ByteTokenizer.EOS];
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder("utf-8");

  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new TokenizerError(`byte tokenizer: id ${id} at position ${i} is outside [0, ${this.vocabSize})`);
      if (id < 256) bytes.push(id);
    }
    return this.decoder.decode(Uint8Array.from(bytes));
  }
}
