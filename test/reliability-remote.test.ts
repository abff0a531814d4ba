/**
 * Reliability (issue #14 s5): the remote sampler against a flaky
 * OpenAI-compatible server (500, 429 with Retry-After, silence, bodies cut
 * short, garbage in a 200, connections reset) ends with every requested
 * response, none duplicated, none lost, and a sampler killed with SIGKILL
 * resumes from its cache. bench/reliability.ts runs the same at a larger
 * scale.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RemoteSampler, type SamplerOptions } from "../src/rollout/index.js";
import { Logger } from "../src/util/log.js";
import { checkResults, FAULTS, flakyRequests, startFlakyServer } from "./reliability/flaky-server.js";
import { killedSampler } from "./reliability/remote-trials.js";

const tmp = mkdtempSync(join(tmpdir(), "gvm-rel-remote-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const OPTS: SamplerOptions = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 16 };
const sampler = (baseUrl: string) => new RemoteSampler({ baseUrl, model: "flaky", concurrency: 4, maxNPerRequest: 4, maxRetries: 30, retryDelayMs: 2, maxRetryDelayMs: 20, timeoutMs: 300, logger: new Logger({ level: "silent" }) });

describe("the remote sampler against a flaky server", () => {
  it("ends with every requested response, in place, and the same as from a faultless server, with 40% of calls failing", async () => {
    const requests = flakyRequests(80);
    const clean = await startFlakyServer({ failRate: 0 });
    const flaky = await startFlakyServer({ failRate: 0.4, seed: 7 });
    try {
      const want = await sampler(clean.url).sample(requests, OPTS);
      expect(checkResults(requests, want)).toEqual([]);
      const got = await sampler(flaky.url).sample(requests, OPTS);
      expect(checkResults(requests, got)).toEqual([]);
      expect(got).toEqual(want);
      for (const f of FAULTS) expect(flaky.counts[f], f).toBeGreaterThan(0);
    } finally {
      await clean.close();
      await flaky.close();
    }
  }, 120_000);

  it("killed with SIGKILL twice, resumes from its cache: every response once, nothing stored twice", async () => {
    const server = await startFlakyServer({ failRate: 0.3, seed: 11, latencyMs: 20 });
    try {
      const r = await killedSampler({ url: server.url, dir: tmp, count: 120, kills: 2, seed: 3, growth: 15 });
      expect(r.problems).toEqual([]);
      expect(r.kills).toBe(2);
      expect(r.cacheKeys).toBe(r.cacheLines);
      expect(r.responses).toBe(flakyRequests(120).reduce((a, q) => a + q.n, 0));
    } finally {
      await server.close();
    }
  }, 180_000);
});
