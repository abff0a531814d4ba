import { describe, expect, it } from "vitest";
import { ProgressBar, formatDuration } from "./progress.js";

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 200, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream;
  return { stream, chunks };
}

describe("ProgressBar", () => {
  it("shows count, rate and ETA from a fake clock", () => {
    let t = 0;
    const { stream } = capture(false);
    const bar = new ProgressBar("sample", 100, { unit: "resp", stream, now: () => t });
    t = 2000;
    bar.tick(50);
    const line = bar.render();
    expect(line).toContain("50/100");
    expect(line).toContain("25.0 resp/s");
    expect(line).toContain("eta 2s");
  });

  it("rate-limits plain output off a TTY and always draws the end", () => {
    let t = 0;
    const { stream, chunks } = capture(false);
    const bar = new ProgressBar("x", 10, { stream, now: () => t, plainIntervalMs: 1000, silent: false });
    for (let i = 0; i < 9; i++) {
      t += 10;
      bar.tick();
    }
    expect(chunks.length).toBe(1);
    t += 10;
    bar.tick();
    expect(chunks.length).toBe(2);
    expect(chunks[1]).toContain("10/10");
  });

  it("formats durations", () => {
    expect(formatDuration(5)).toBe("5s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(Number.NaN)).toBe("?");
  });
});
