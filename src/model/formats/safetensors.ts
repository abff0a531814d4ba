/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets}, then
 * the raw little-endian data. We read F32, F16 and BF16 into float32 and
 * write F32, F16 or BF16. Reads go tensor by tensor through a file handle,
 * so a multi-gigabyte shard is never held twice; writes are atomic.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import { GvmError } from "../../util/errors.js";
import { atomicWrite } from "../../util/atomic.js";

export class SafetensorsError extends GvmError {}

export type StDtype = "F32" | "F16" | "BF16";

const DTYPE_BYTES: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface StTensor {
  shape: number[];
  data: Float32Array;
}

export interface StEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export interface StHeader {
  entries: Map<string, StEntry>;
  metadata: Record<string, string>;
  /** File offset where the data section starts. */
  dataStart: number;
  fileSize: number;
}

/** Reads and validates only the header of a safetensors file. */
export function readHeader(path: string): StHeader {
  const fd = openFile(path);
  try {
    return headerOf(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads tensors (all, or the names given) as float32. Errors name the file,
 * the tensor and what is wrong (truncated, bad offsets, unsupported dtype).
 */
export function readSafetensors(path: string, names?: Iterable<string>): Map<string, StTensor> {
  const fd = openFile(path);
  try {
    const header = headerOf(fd, path);
    const wanted = names ? [...names] : [...header.entries.keys()];
    const out = new Map<string, StTensor>();
    for (const name of wanted) {
      const e = header.entries.get(name);
      if (!e) throw new SafetensorsError(`${path}: no tensor named ${name}`);
      // A fresh ArrayBuffer (offset 0) so float views need no copy.
      const bytes = new Uint8Array(e.end - e.begin);
      const got = bytes.length === 0 ? 0 : readSync(fd, bytes, 0, bytes.length, header.dataStart + e.begin);
      if (got !== bytes.length) throw new SafetensorsError(`${path}: tensor ${name} is truncated (read ${got} of ${bytes.length} bytes)`);
      out.set(name, { shape: e.shape, data: decode(e.dtype as StDtype, bytes) });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Writes tensors atomically (temp file + fsync + rename), in the given dtype. */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, StTensor>, options: { dtype?: StDtype; metadata?: Record<string, string> } = {}): void {
  const dtype = options.dtype ?? "F32";
  const width = DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError(`${path}: tensor ${name} has ${t.data.length} values but shape [${t.shape.join(", ")}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * width] };
    offset += n * width;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  atomicWrite(path, function* () {
    yield head;
    yield Buffer.from(json, "utf8");
    for (const t of tensors.values()) yield encode(dtype, t.data);
  });
}

function openFile(path: string): number {
  if (endianness() !== "LE") throw new SafetensorsError(`${path}: safetensors I/O needs a little-endian CPU`);
  try {
    return openSync(path, "r");
  } catch (err) {
    throw new SafetensorsError(`${path}: cannot open (${(err as Error).message})`, { cause: err });
  }
}

function headerOf(fd: number, path: string): StHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new SafetensorsError(`${path}: file is ${fileSize} bytes, too short for a safetensors header (truncated?)`);
  const lenBuf = Buffer.alloc(8);
  readSync(fd, lenBuf, 0, 8, 0);
  const len = Number(lenBuf.readBigUInt64LE());
  if (len <= 1 || 8 + len > fileSize || len > 100 * 1024 * 1024) {
    throw new SafetensorsError(`${path}: header length ${len} does not fit the ${fileSize}-byte file (truncated or not a safetensors file)`);
  }
  const jsonBuf = Buffer.alloc(len);
  readSync(fd, jsonBuf, 0, len, 8);
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonBuf.toString("utf8"));
  } catch (err) {
    throw new SafetensorsError(`${path}: header is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new SafetensorsError(`${path}: header is not a JSON object`);
  const dataStart = 8 + len;
  const dataSize = fileSize - dataStart;
  const entries = new Map<string, StEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (why: string) => new SafetensorsError(`${path}: tensor ${name}: ${why}`);
    if (typeof e.dtype !== "string") throw bad("missing dtype");
    if (!(e.dtype in DTYPE_BYTES)) throw bad(`dtype ${e.dtype} is not supported (F32, F16, BF16)`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad("shape is not a list of non-negative integers");
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) throw bad("data_offsets is not [begin, end]");
    const [begin, end] = off as [number, number];
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[e.dtype as StDtype] as number);
    if (end - begin !== want) throw bad(`data_offsets span ${end - begin} bytes, shape [${shape.join(", ")}] of ${e.dtype} needs ${want}`);
    if (end > dataSize) throw bad(`data ends at byte ${end} but the file has only ${dataSize} data bytes (truncated?)`);
    entries.set(name, { dtype: e.dtype, shape, begin, end });
  }
  return { entries, metadata, dataStart, fileSize };
}

// Safetensors data is little-endian, as is every CPU gvm runs on (checked at load).
function decode(dtype: StDtype, bytes: Uint8Array): Float32Array {
  if (dtype === "F32") return new Float32Array(bytes.buffer, 0, bytes.length / 4);
  const halves = new Uint16Array(bytes.buffer, 0, bytes.length / 2);
  const out = new Float32Array(halves.length);
  const u32 = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i] as number;
    u32[i] = dtype === "BF16" ? h << 16 : halfToFloatBits(h);
  }
  return out;
}

function encode(dtype: StDtype, data: Float32Array): Uint8Array {
  if (dtype === "F32") return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const halves = new Uint16Array(data.length);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) {
    const f = bits[i] as number;
    halves[i] = dtype === "BF16" ? floatBitsToBf16(f) : floatBitsToHalf(f);
  }
  return new Uint8Array(halves.buffer);
}

/** IEEE half bits -> float32 bits (subnormals, inf and NaN kept). */
export function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    let e = -1;
    do {
      e++;
      mant <<= 1;
    } while ((mant & 0x400) === 0);
    return (sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
}

/** float32 bits -> IEEE half bits, round to nearest even; overflow to inf. */
export function floatBitsToHalf(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** float32 bits -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function floatBitsToBf16(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff;
  const rounded = f + 0x7fff + ((f >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
