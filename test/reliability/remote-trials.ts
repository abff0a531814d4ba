/**
 * SIGKILL trials of the remote sampler: sampler-child.ts is started against
 * a flaky server, killed once the response cache has grown by a random
 * number of lines, started again, and so on until a run finishes; then the
 * results are checked slot by slot and the cache for keys written twice.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/util/rng.js";
import { checkResults, flakyRequests } from "./flaky-server.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHILD = join(ROOT, "test", "reliability", "sampler-child.ts");

export interface KilledSamplerResult {
  /** Processes started (kills + 1 when it finished). */
  runs: number;
  kills: number;
  finished: boolean;
  /** Lines of the cache file, and distinct keys among them (equal: nothing was asked for twice and stored twice). */
  cacheLines: number;
  cacheKeys: number;
  /** Slot-by-slot problems of the final results ([] = every response there, once, in place). */
  problems: string[];
  responses: number;
  seconds: number;
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
}

/**
 * Runs the sampler for flakyRequests(count) against `url`, killing it
 * `kills` times (each once the cache has grown by 1..growth lines), then
 * lets it finish. `dir` holds the cache and the results.
 */
export async function killedSampler(o: { url: string; dir: string; count: number; kills: number; seed: number; growth?: number; timeoutMs?: number }): Promise<KilledSamplerResult> {
  const rng = new Rng(o.seed);
  const cache = join(o.dir, "responses.jsonl");
  const out = join(o.dir, "results.json");
  const t0 = performance.now();
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  let runs = 0;
  let kills = 0;
  while (!existsSync(out) && Date.now() < deadline) {
    runs++;
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, o.url, cache, out, String(o.count)], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += String(c)));
    const done = exited(child);
    if (kills < o.kills) {
      const target = lines(cache).length + 1 + rng.int(o.growth ?? 20);
      let ended = false;
      void done.then(() => (ended = true));
      while (!ended && lines(cache).length < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (!ended) {
        child.kill("SIGKILL");
        kills++;
      }
    }
    const { code, signal } = await done;
    if (signal === null && code !== 0) throw new Error(`sampler-child exited with ${code}: ${err.slice(-2000)}`);
  }
  const finished = existsSync(out);
  const all = lines(cache);
  const keys = new Set(all.map((l) => { try { return (JSON.parse(l) as { key: string }).key; } catch { return `torn: ${l}`; } }));
  const requests = flakyRequests(o.count);
  const results = finished ? (JSON.parse(readFileSync(out, "utf8")) as Array<Array<{ text: string; tokens: number[] }>>) : [];
  return {
    runs,
    kills,
    finished,
    cacheLines: all.length,
    cacheKeys: keys.size,
    problems: finished ? checkResults(requests, results) : ["the sampler never finished"],
    responses: results.reduce((a, r) => a + r.length, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}
