import { existsSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appendLine, atomicWrite, ensureDir } from "./atomic.js";
import { FileError, fileError } from "./errors.js";

const hasDevFull = existsSync("/dev/full");

afterEach(() => {
  vi.restoreAllMocks();
});

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: something, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  return e;
}

describe("file errors", () => {
  it("name the path, the operation and the cause", () => {
    const e = fileError("write", "/runs/a/metrics.jsonl", errno("ENOSPC", "write", ""));
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toMatch(/^\/runs\/a\/metrics\.jsonl: cannot write: no space left on the device \(ENOSPC\)/);
    expect(fileError("create directory", "/ro/run", errno("EROFS", "mkdir", "/ro/run")).message).toMatch(/\/ro\/run: cannot create directory: read-only file system \(EROFS\)/);
    expect(fileError("create directory", "/ro/run", errno("EACCES", "mkdir", "/ro/run")).message).toMatch(/permission denied \(EACCES\)/);
  });

  it("pass typed errors through", () => {
    const inner = new FileError("x");
    expect(fileError("write", "/p", inner)).toBe(inner);
  });
});

describe.skipIf(!hasDevFull)("a full disk (writes to /dev/full fail with ENOSPC)", () => {
  it("atomicWrite names the file and leaves no temporary behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-full-"));
    vi.spyOn(Date, "now").mockReturnValue(42);
    // The temporary atomicWrite opens is a link to /dev/full: the write fails as on a full disk.
    symlinkSync("/dev/full", join(dir, `.config.json.tmp-${process.pid}-42`));
    expect(() => atomicWrite(join(dir, "config.json"), "{}\n")).toThrow(new RegExp(`${join(dir, "config.json")}: cannot write: no space left on the device \\(ENOSPC\\)`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("appendLine names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-full-"));
    symlinkSync("/dev/full", join(dir, "metrics.jsonl"));
    expect(() => appendLine(join(dir, "metrics.jsonl"), "{}")).toThrow(/metrics\.jsonl: cannot append: no space left on the device \(ENOSPC\)/);
  });
});

describe("ensureDir", () => {
  it("creates nested directories", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "gvm-dir-")), "a", "b");
    ensureDir(dir);
    expect(existsSync(dir)).toBe(true);
  });

  it("names the path when a file is in the way", () => {
    const base = mkdtempSync(join(tmpdir(), "gvm-dir-"));
    atomicWrite(join(base, "f"), "x");
    expect(() => ensureDir(join(base, "f", "sub"))).toThrow(new RegExp(`${join(base, "f", "sub")}: cannot create directory: ${join(base, "f")} is not a directory`));
  });
});
