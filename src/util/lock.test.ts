import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, LockHeldError } from "./lock.js";
import { Logger } from "./log.js";

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

/** A PID that was alive a moment ago and is not now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("directory lock", () => {
  it("names the holder's PID and host, refuses a second holder, and releases", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-lock-"));
    const { log } = capture();
    const lock = acquireLock(dir, log);
    const held = JSON.parse(readFileSync(join(dir, "lock"), "utf8")) as { pid: number; host: string };
    expect(held.pid).toBe(process.pid);
    expect(held.host).toBe(hostname());
    let err: unknown;
    try {
      acquireLock(dir, log);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain(`PID ${process.pid} on ${hostname()}`);
    expect((err as Error).message).toContain(join(dir, "lock"));
    lock.release();
    expect(existsSync(join(dir, "lock"))).toBe(false);
    acquireLock(dir, log).release();
  });

  it("takes over the lock of a killed process on this host, saying so", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-lock-"));
    const pid = deadPid();
    writeFileSync(join(dir, "lock"), `${JSON.stringify({ pid, host: hostname(), started: "2020-01-01T00:00:00.000Z", token: "old" })}\n`);
    const { log, lines } = capture();
    const lock = acquireLock(dir, log);
    expect(lines.join("\n")).toMatch(new RegExp(`stale lock .*PID ${pid} on ${hostname()}.*no longer running`));
    expect((JSON.parse(readFileSync(join(dir, "lock"), "utf8")) as { pid: number }).pid).toBe(process.pid);
    lock.release();
  });

  it("refuses a lock held on another host (its PID cannot be checked from here) and says how to clear it", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-lock-"));
    writeFileSync(join(dir, "lock"), `${JSON.stringify({ pid: 1, host: "elsewhere.example", started: "2020-01-01T00:00:00.000Z", token: "x" })}\n`);
    expect(() => acquireLock(dir, capture().log)).toThrow(/PID 1 on elsewhere\.example.*delete .*lock/s);
  });

  it("refuses an unreadable lock file rather than guessing", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-lock-"));
    writeFileSync(join(dir, "lock"), "garbage");
    expect(() => acquireLock(dir, capture().log)).toThrow(/lock.*cannot be read.*delete it/s);
  });

  it("release leaves a lock that another process has since taken alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "gvm-lock-"));
    const lock = acquireLock(dir, capture().log);
    writeFileSync(join(dir, "lock"), `${JSON.stringify({ pid: 1, host: "elsewhere.example", started: "x", token: "other" })}\n`);
    lock.release();
    expect(existsSync(join(dir, "lock"))).toBe(true);
  });
});
