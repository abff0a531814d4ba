import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChecksumError, MANIFEST, readManifest, sha256File, verifyFiles, writeManifest } from "./checksums.js";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gvm-sum-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("checksum manifest", () => {
  it("lists every file in sha256sum format and verifies them", () => {
    const dir = dirWith({ "a.txt": "hello\n", "b.bin": "x".repeat(10_000) });
    writeManifest(dir);
    const text = readFileSync(join(dir, MANIFEST), "utf8");
    // `sha256sum -c checksums.sha256` reads this format.
    expect(text).toBe(`5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  a.txt\n${sha256File(join(dir, "b.bin"))}  b.bin\n`);
    expect(readManifest(dir)?.size).toBe(2);
    expect(() => verifyFiles(dir, ["a.txt", "b.bin"])).not.toThrow();
  });

  it("names the file whose bytes changed, and one that is missing", () => {
    const dir = dirWith({ "model.safetensors": "y".repeat(8192), "trainer.json": "{}" });
    writeManifest(dir);
    const fd = openSync(join(dir, "model.safetensors"), "r+");
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 4096);
    closeSync(fd);
    expect(() => verifyFiles(dir, ["trainer.json"])).not.toThrow();
    expect(() => verifyFiles(dir, ["model.safetensors"])).toThrow(ChecksumError);
    expect(() => verifyFiles(dir, ["model.safetensors"])).toThrow(/model\.safetensors: SHA-256 [0-9a-f]{12}.* does not match .*checksums\.sha256/);
    rmSync(join(dir, "trainer.json"));
    expect(() => verifyFiles(dir, ["trainer.json"])).toThrow(/trainer\.json: listed in .*checksums\.sha256 but missing/);
  });

  it("refuses a file the manifest does not list, and a damaged manifest by line", () => {
    const dir = dirWith({ "a.txt": "a" });
    writeManifest(dir);
    writeFileSync(join(dir, "late.txt"), "added after");
    expect(() => verifyFiles(dir, ["late.txt"])).toThrow(/late\.txt: not listed in .*checksums\.sha256/);
    writeFileSync(join(dir, MANIFEST), "zz  a.txt\n");
    expect(() => verifyFiles(dir, ["a.txt"])).toThrow(/checksums\.sha256 line 1: expected/);
  });

  it("verifies nothing in a directory without a manifest (checkpoints written before manifests)", () => {
    const dir = dirWith({ "a.txt": "a" });
    expect(readManifest(dir)).toBeNull();
    expect(() => verifyFiles(dir, ["a.txt"])).not.toThrow();
  });

  it("skips sub-directories and the manifest itself", () => {
    const dir = dirWith({ "a.txt": "a" });
    mkdirSync(join(dir, "sub"));
    writeManifest(dir);
    writeManifest(dir);
    expect([...(readManifest(dir)?.keys() ?? [])]).toEqual(["a.txt"]);
  });
});
