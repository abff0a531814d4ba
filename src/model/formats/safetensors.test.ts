import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { floatBitsToBf16, floatBitsToHalf, halfToFloatBits, readHeader, readSafetensors, writeSafetensors } from "./safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "gvm-st-"));

function f32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0] as number;
}
function bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0] as number;
}

describe("safetensors", () => {
  const tensors = new Map([
    ["model.embed_tokens.weight", { shape: [3, 2], data: Float32Array.from([1, -2, 0.5, 3.25, -0.125, 1e-3]) }],
    ["model.norm.weight", { shape: [2], data: Float32Array.from([1, 1]) }],
  ]);

  it("round-trips float32 exactly, with metadata and an 8-byte aligned header", () => {
    const p = join(dir, "a.safetensors");
    writeSafetensors(p, tensors, { metadata: { format: "pt" } });
    const h = readHeader(p);
    expect(h.dataStart % 8).toBe(0);
    expect(h.metadata).toEqual({ format: "pt" });
    const back = readSafetensors(p);
    for (const [name, t] of tensors) {
      expect(back.get(name)?.shape).toEqual(t.shape);
      expect(Array.from(back.get(name)?.data ?? [])).toEqual(Array.from(t.data));
    }
  });

  it("writes and reads F16 and BF16 within their precision", () => {
    for (const dtype of ["F16", "BF16"] as const) {
      const p = join(dir, `b-${dtype}.safetensors`);
      writeSafetensors(p, tensors, { dtype });
      const back = readSafetensors(p).get("model.embed_tokens.weight")?.data ?? new Float32Array();
      const tol = dtype === "F16" ? 1e-3 : 8e-3;
      tensors.get("model.embed_tokens.weight")?.data.forEach((x, i) => expect(Math.abs((back[i] as number) - x)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(x))));
    }
  });

  it("converts halves exactly at the edges", () => {
    expect(f32(halfToFloatBits(0x3c00))).toBe(1);
    expect(f32(halfToFloatBits(0xc000))).toBe(-2);
    expect(f32(halfToFloatBits(0x7bff))).toBe(65504);
    expect(f32(halfToFloatBits(0x0001))).toBe(2 ** -24);
    expect(f32(halfToFloatBits(0x7c00))).toBe(Infinity);
    expect(Number.isNaN(f32(halfToFloatBits(0x7e00)))).toBe(true);
    expect(floatBitsToHalf(bits(1))).toBe(0x3c00);
    expect(floatBitsToHalf(bits(1e6))).toBe(0x7c00);
    expect(floatBitsToHalf(bits(2 ** -24))).toBe(0x0001);
    expect(floatBitsToHalf(bits(1 + 2 ** -11))).toBe(0x3c00); // tie rounds to even
    expect(floatBitsToBf16(bits(1))).toBe(0x3f80);
    expect(floatBitsToBf16(bits(1 + 2 ** -8))).toBe(0x3f80); // tie rounds to even
  });

  it("names the file and the problem for truncated or corrupt files", () => {
    const p = join(dir, "c.safetensors");
    writeSafetensors(p, tensors);
    const bytes = readFileSync(p);
    const cut = join(dir, "cut.safetensors");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
    expect(() => readSafetensors(cut)).toThrow(/cut\.safetensors: tensor model\.norm\.weight: data ends at byte 32 .*truncated/);
    writeFileSync(cut, bytes.subarray(0, 5));
    expect(() => readSafetensors(cut)).toThrow(/too short/);
    const junk = join(dir, "junk.safetensors");
    writeFileSync(junk, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{bad")]));
    expect(() => readSafetensors(junk)).toThrow(/junk\.safetensors: header is not valid JSON/);
    expect(() => readSafetensors(join(dir, "missing.safetensors"))).toThrow(/missing\.safetensors: cannot open/);
  });
});
