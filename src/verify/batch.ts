/**
 * Verification on all cores: a pool of worker threads, each running
 * verify() on chunks of pairs. Results come back in input order. The worker
 * script sits next to this module: worker.js when running compiled code
 * from dist/, worker.ts when running TypeScript through tsx (the tsx loader
 * is then passed to the worker through execArgv).
 *
 * A watchdog per chunk (pairs x timeout + 5 s) terminates a worker that
 * stops answering and reports its pairs as "timeout" verdicts, so a batch
 * always completes.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { errorMessage, GvmError } from "../util/errors.js";
import { DEFAULT_TIMEOUT_MS, verify, type Verdict, type VerifyOptions } from "./verify.js";
import type { ChunkRequest, ChunkResponse } from "./worker.js";

export class VerifierPoolError extends GvmError {}

export interface PoolOptions {
  /** Worker threads (default: the machine's available parallelism). */
  readonly workers?: number;
  /** Pairs per message to a worker (default 32). */
  readonly chunkSize?: number;
}

export interface Pair {
  readonly gold: string;
  readonly response: string;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * How to start a worker running worker.ts/worker.js. Compiled code starts
 * worker.js directly; TypeScript run through tsx starts a two-line
 * bootstrap that loads worker.ts with tsx's tsImport (module hooks given to
 * the parent are not inherited by worker threads on Node 20).
 */
function workerSpec(): { entry: string | URL; options: WorkerOptions } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const require = createRequire(here);
    // the ESM build of tsx's API, found through the package's own exports map
    const pkgPath = require.resolve("tsx/package.json");
    const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { exports: Record<string, { import?: { default?: string } }> };
    const rel = pkg.exports["./esm/api"]?.import?.default;
    if (rel === undefined) throw new VerifierPoolError(`tsx at ${pkgPath} has no ESM API export; cannot start a TypeScript worker`);
    const tsxApi = new URL(rel, pathToFileURL(pkgPath)).href;
    const entry = new URL("./worker.ts", here).href;
    const code = [
      'const { workerData } = require("node:worker_threads");',
      "import(workerData.tsxApi).then((m) => m.tsImport(workerData.entry, workerData.entry)).catch((e) => setImmediate(() => { throw e; }));",
    ].join("\n");
    return { entry: code, options: { eval: true, workerData: { tsxApi, entry } } };
  }
  return { entry: new URL("./worker.js", here), options: {} };
}

function timeoutVerdict(): Verdict {
  return { correct: false, extracted: null, normalizedGold: null, normalizedPred: null, reason: "timeout" };
}

/** A reusable pool of verifier threads. Call close() when done. */
export class VerifierPool {
  readonly size: number;
  private readonly chunkSize: number;
  private slots: Slot[] = [];
  private closed = false;

  constructor(options: PoolOptions = {}) {
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new VerifierPoolError(`VerifierPool: workers must be a positive integer, got ${n}`);
    const c = options.chunkSize ?? 32;
    if (!Number.isInteger(c) || c < 1) throw new VerifierPoolError(`VerifierPool: chunkSize must be a positive integer, got ${c}`);
    this.size = n;
    this.chunkSize = c;
  }

  private spawn(): Slot {
    const spec = workerSpec();
    const worker = new Worker(spec.entry, spec.options);
    worker.unref();
    return { worker, busy: false };
  }

  /** Verifies all pairs; verdicts are in input order. */
  async verifyAll(pairs: readonly Pair[], options: VerifyOptions = {}): Promise<Verdict[]> {
    if (this.closed) throw new VerifierPoolError("VerifierPool: verifyAll called after close()");
    const out = new Array<Verdict>(pairs.length);
    if (pairs.length === 0) return out;
    const chunks: Array<{ start: number; end: number }> = [];
    for (let s = 0; s < pairs.length; s += this.chunkSize) chunks.push({ start: s, end: Math.min(pairs.length, s + this.chunkSize) });
    while (this.slots.length < Math.min(this.size, chunks.length)) this.slots.push(this.spawn());
    const perPairMs = (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + 50;
    let next = 0;
    let nextId = 0;
    const runOn = (slotIndex: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const step = (): void => {
          if (next >= chunks.length) {
            resolve();
            return;
          }
          const chunk = chunks[next++] as { start: number; end: number };
          const slot = this.slots[slotIndex] as Slot;
          const id = nextId++;
          const request: ChunkRequest = {
            id,
            pairs: pairs.slice(chunk.start, chunk.end).map((p) => [String(p.gold), String(p.response)] as const),
            options,
          };
          slot.busy = true;
          const cleanup = (): void => {
            clearTimeout(timer);
            slot.worker.off("message", onMessage);
            slot.worker.off("error", onError);
            slot.busy = false;
          };
          const onMessage = (msg: ChunkResponse): void => {
            if (msg.id !== id) return;
            cleanup();
            msg.verdicts.forEach((v, k) => {
              out[chunk.start + k] = v;
            });
            step();
          };
          const onError = (err: unknown): void => {
            cleanup();
            reject(new VerifierPoolError(`verifier worker failed on pairs ${chunk.start}-${chunk.end - 1}: ${errorMessage(err)}`, { cause: err }));
          };
          const timer = setTimeout(
            () => {
              cleanup();
              void slot.worker.terminate();
              this.slots[slotIndex] = this.spawn();
              for (let k = chunk.start; k < chunk.end; k++) out[k] = timeoutVerdict();
              step();
            },
            (chunk.end - chunk.start) * perPairMs + 5000,
          );
          slot.worker.on("message", onMessage);
          slot.worker.on("error", onError);
          slot.worker.postMessage(request);
        };
        step();
      });
    await Promise.all(this.slots.map((_, i) => runOn(i)));
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** One-shot batch verification on all cores (a pool is created and closed). */
export async function verifyBatch(pairs: readonly Pair[], options: VerifyOptions & PoolOptions = {}): Promise<Verdict[]> {
  if (pairs.length <= 1 || (options.workers ?? availableParallelism()) === 1) {
    return pairs.map((p) => verify(p.gold, p.response, options));
  }
  const pool = new VerifierPool(options);
  try {
    return await pool.verifyAll(pairs, options);
  } finally {
    await pool.close();
  }
}

/** The trainer's reward shape, (responses, golds) => 0/1 rewards, computed on a pool. */
export function makePooledRewardFunction(pool: VerifierPool, options: VerifyOptions = {}): (responses: readonly string[], golds: readonly string[]) => Promise<number[]> {
  return async (responses, golds) => {
    if (responses.length !== golds.length) {
      throw new VerifierPoolError(`reward: ${responses.length} responses but ${golds.length} golds; they must pair up one to one`);
    }
    const verdicts = await pool.verifyAll(
      responses.map((response, i) => ({ gold: golds[i] as string, response })),
      options,
    );
    return verdicts.map((v) => (v.correct ? 1 : 0));
  };
}
