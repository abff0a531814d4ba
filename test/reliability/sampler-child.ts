/**
 * The remote sampler as a process of its own, for the SIGKILL trials of the
 * reliability suite: samples flakyRequests(COUNT) from URL with the
 * response cache CACHE, then writes the results to OUT (renamed into place,
 * so OUT exists only when the sampler finished). A kill at any moment
 * leaves the cache as the sampler left it; rerunning the same command asks
 * only for what is missing.
 *
 * Usage: node --import tsx test/reliability/sampler-child.ts URL CACHE OUT COUNT
 */
import { renameSync, writeFileSync } from "node:fs";
import { RemoteSampler } from "../../src/rollout/index.js";
import { Logger } from "../../src/util/log.js";
import { flakyRequests } from "./flaky-server.js";

const [url, cache, out, count] = process.argv.slice(2);
if (url === undefined || cache === undefined || out === undefined || count === undefined) {
  process.stderr.write("usage: sampler-child.ts URL CACHE OUT COUNT\n");
  process.exit(2);
}
const sampler = new RemoteSampler({ baseUrl: url, model: "flaky", cache, concurrency: 4, maxNPerRequest: 4, maxRetries: 30, retryDelayMs: 5, maxRetryDelayMs: 50, timeoutMs: 400, logger: new Logger({ level: "silent" }) });
const results = await sampler.sample(flakyRequests(Number(count)), { temperature: 1, topP: 1, topK: 0, maxNewTokens: 16 });
writeFileSync(`${out}.tmp`, JSON.stringify(results));
renameSync(`${out}.tmp`, out);
