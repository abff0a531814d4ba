/**
 * SHA-256 manifests of a directory's files, in the format `sha256sum -c`
 * reads, so a checkpoint whose bytes changed after it was written (a bad
 * disk, a stray write, a truncated copy) is refused by name instead of
 * loading as garbage weights.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { atomicWrite } from "./atomic.js";
import { fileError, GvmError } from "./errors.js";

export class ChecksumError extends GvmError {}

/** The manifest's file name inside the directory it describes. */
export const MANIFEST = "checksums.sha256";

/** Hex SHA-256 of a file, read in chunks (weights can exceed what one buffer holds). */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw fileError("read", path, err);
  }
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } catch (err) {
    throw fileError("read", path, err);
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Writes (or rewrites) the manifest of every regular file in `dir`, sorted
 * by name. Sub-directories, the manifest and hidden files (temporaries of
 * atomic writes) are not listed.
 */
export function writeManifest(dir: string): void {
  const names = readdirSync(dir)
    .filter((n) => n !== MANIFEST && !n.startsWith(".") && statSync(join(dir, n)).isFile())
    .sort();
  atomicWrite(join(dir, MANIFEST), names.map((n) => `${sha256File(join(dir, n))}  ${n}\n`).join(""));
}

/** The manifest of `dir` (file name -> hex digest), or null when it has none. */
export function readManifest(dir: string): Map<string, string> | null {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fileError("read", path, err);
  }
  const out = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === "") continue;
    // sha256sum writes "  " for text mode and " *" for binary mode.
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new ChecksumError(`${path} line ${i + 1}: expected "<64 hex digits>  <file name>", found ${JSON.stringify(line.slice(0, 100))}`);
    out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/**
 * Checks the named files of `dir` against its manifest; a directory without
 * one (written before manifests existed) is not checked.
 */
export function verifyFiles(dir: string, names: readonly string[]): void {
  const manifest = readManifest(dir);
  if (manifest === null) return;
  const mpath = join(dir, MANIFEST);
  for (const name of names) {
    const path = join(dir, name);
    const want = manifest.get(name);
    if (want === undefined) throw new ChecksumError(`${path}: not listed in ${mpath} (added after the checkpoint was written?)`);
    if (!existsSync(path)) throw new ChecksumError(`${path}: listed in ${mpath} but missing`);
    const got = sha256File(path);
    if (got !== want) throw new ChecksumError(`${path}: SHA-256 ${got.slice(0, 12)}... does not match ${want.slice(0, 12)}... in ${mpath} (the file changed or was cut short after it was written)`);
  }
}
