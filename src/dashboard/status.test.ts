import { describe, expect, it } from "vitest";
import { runStatus, stallAfter, type StatusInput } from "./status.js";

const now = Date.parse("2026-01-01T12:00:00Z");
const base: StatusInput = { finished: false, lock: null, heartbeat: null, iter: 3, planned: 10, iterSeconds: 20, host: "here", now, alive: () => true };
const lock = (pid: number, host = "here") => ({ pid, host, started: "2026-01-01T11:00:00Z" });
const beat = (secondsAgo: number) => ({ pid: 7, host: "here", time: new Date(now - secondsAgo * 1000).toISOString(), iter: 3 });

describe("run status", () => {
  it("finished once the records reach the planned iterations, lock or not", () => {
    expect(runStatus({ ...base, finished: true, lock: lock(7) })).toEqual({ status: "finished", detail: "finished: iteration 3 of 10" });
  });

  it("running while the lock's PID lives on this host; crashed when it is gone", () => {
    expect(runStatus({ ...base, lock: lock(7), heartbeat: beat(5) }).status).toBe("running");
    const dead = runStatus({ ...base, lock: lock(7), alive: (pid) => pid !== 7 });
    expect(dead.status).toBe("crashed");
    expect(dead.detail).toMatch(/PID 7 on here is gone and left its lock \(killed\?\) at iteration 3 of 10; rerun the same command to resume/);
  });

  it("crashed without a lock: the process ended before its last iteration", () => {
    expect(runStatus({ ...base, heartbeat: beat(5) })).toMatchObject({ status: "crashed", detail: expect.stringMatching(/not running, stopped at iteration 3 of 10/) });
  });

  it("a lock from another host cannot be checked: running, with the heartbeat's age", () => {
    const r = runStatus({ ...base, lock: lock(7, "there"), heartbeat: beat(90), alive: () => false });
    expect(r.status).toBe("running");
    expect(r.detail).toMatch(/cannot be checked from here\); last heartbeat 90 s ago/);
  });

  it("a live run quiet for longer than five iterations (at least ten minutes) reads stalled", () => {
    expect(stallAfter(null)).toBe(600);
    expect(stallAfter(300)).toBe(1500);
    expect(runStatus({ ...base, lock: lock(7), heartbeat: beat(599) }).detail).not.toMatch(/stalled/);
    expect(runStatus({ ...base, lock: lock(7), heartbeat: beat(1200) }).detail).toMatch(/no heartbeat for 20 min \(stalled\?\)/);
    expect(runStatus({ ...base, lock: lock(7), heartbeat: beat(1200), iterSeconds: 600 }).detail).not.toMatch(/stalled/);
  });
});
