import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "./tokenizer.js";

describe("ByteTokenizer", () => {
  const tok = new ByteTokenizer();
  it("round-trips any text", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => tok.decode(tok.encode(s)) === s));
    expect(tok.decode(tok.encode("12 + 7 = \\boxed{19} ünï ✓"))).toBe("12 + 7 = \\boxed{19} ünï ✓");
  });
  it("drops specials on decode and rejects ids outside the vocabulary", () => {
    expect(tok.decode([ByteTokenizer.BOS, 104, 105, ByteTokenizer.EOS, ByteTokenizer.PAD])).toBe("hi");
    expect(() => tok.decode([300])).toThrow(/id 300 at position 0/);
  });
});
