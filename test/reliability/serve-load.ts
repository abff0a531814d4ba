/**
 * `gvm serve` under load (issue #14 s5), for bench/reliability.ts: the real
 * CLI in a child process on 127.0.0.1 with its default limits, a bounded
 * loop of clients per concurrency level (each sends a completion, waits for
 * the answer, and sends the next, honouring Retry-After when shed), the
 * server's RSS sampled from /proc, and oversized requests (a body past
 * --max-body-bytes, a prompt past --max-prompt-chars) timed from the first
 * byte sent to the answer, at rest and under the heaviest load.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface LevelResult {
  clients: number;
  seconds: number;
  /** Completions answered 200, per second. */
  throughput: number;
  tokensPerSec: number;
  ok: number;
  /** Answered 429 (queue full) or 503 (too many connections): shed, with Retry-After. */
  shed: number;
  /** Anything else: errors and failed connections. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of the shed answers: how fast a full server says no. */
  shedP99Ms: number | null;
  rssMaxMb: number;
}

export interface ShedResult {
  what: string;
  under: string;
  status: number[];
  p50Ms: number;
  maxMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** Resident set size of a process in MB (Linux /proc), or NaN. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface ServeHandle {
  base: string;
  child: ChildProcess;
  /** Exit code after SIGTERM (0 for a clean stop). */
  stop(): Promise<number | null>;
}

/** Starts `gvm serve --model DIR --port 0` and waits for "listening on". */
export async function startServe(modelDir: string): Promise<ServeHandle> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), "serve", "--model", modelDir, "--port", "0", "--name", "tiny"], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, GVM_LOG_LEVEL: "warn" } });
  let err = "";
  const base = await new Promise<string>((res, rej) => {
    child.stderr?.on("data", (c: Buffer) => {
      err += String(c);
      const hit = /listening on (http:\/\/\S+)\/v1/.exec(err);
      if (hit) res(hit[1] as string);
    });
    child.once("exit", (code) => rej(new Error(`gvm serve exited with ${code}: ${err}`)));
  });
  return {
    base,
    child,
    stop: () =>
      new Promise((res) => {
        if (child.exitCode !== null) return res(child.exitCode);
        child.once("exit", (code) => res(code));
        child.kill("SIGTERM");
      }),
  };
}

/** One POST with a body written as given; resolves at the answer's status line (the body is drained), with the milliseconds it took. */
function post(base: string, path: string, body: string | Buffer): Promise<{ status: number; ms: number; body: string; retryAfter: number }> {
  const u = new URL(path, base);
  return new Promise((res) => {
    const t0 = performance.now();
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (r) => {
      const ms = performance.now() - t0;
      let text = "";
      r.on("data", (c: Buffer) => (text += String(c)));
      r.on("end", () => res({ status: r.statusCode ?? 0, ms, body: text, retryAfter: Number(r.headers["retry-after"] ?? 0) }));
      r.on("error", () => res({ status: r.statusCode ?? 0, ms, body: text, retryAfter: 0 }));
    });
    // A server that answers 413 mid-body closes the connection: the write errors, the answer came first.
    req.on("error", () => res({ status: -1, ms: performance.now() - t0, body: "", retryAfter: 0 }));
    req.end(body);
  });
}

/** `clients` loops of completions for `seconds`; RSS of `pid` sampled every 100 ms. */
export async function loadLevel(base: string, pid: number, clients: number, seconds: number, maxTokens = 16): Promise<LevelResult> {
  const lat: number[] = [];
  const shedLat: number[] = [];
  let ok = 0;
  let shed = 0;
  let errors = 0;
  let tokens = 0;
  let rssMax = rssMb(pid);
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 100);
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let seq = 0;
  const loop = async (c: number): Promise<void> => {
    while (performance.now() < end) {
      const body = JSON.stringify({ model: "tiny", prompt: `Q: ${c % 9}+${seq % 7}\n`, max_tokens: maxTokens, temperature: 1, seed: seq++ });
      const r = await post(base, "/v1/completions", body);
      if (r.status === 200) {
        ok++;
        lat.push(r.ms);
        tokens += (JSON.parse(r.body) as { usage?: { completion_tokens?: number } }).usage?.completion_tokens ?? 0;
      } else if (r.status === 429 || r.status === 503) {
        shed++;
        shedLat.push(r.ms);
        await sleep(Math.min(Math.max(1, r.retryAfter) * 1000, Math.max(0, end - performance.now())));
      } else {
        errors++;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  clearInterval(sampler);
  const wall = (performance.now() - t0) / 1000;
  return { clients, seconds: wall, throughput: ok / wall, tokensPerSec: tokens / wall, ok, shed, errors, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: Math.max(0, ...lat), shedP99Ms: shedLat.length > 0 ? quantile(shedLat, 0.99) : null, rssMaxMb: rssMax };
}

const PROMPT_CHARS = 1_000_000;
/** A ~1 MB body (under the 1 MiB body limit) whose prompt is past the 262,144-character prompt limit: the probe. */
const PROMPT_BODY = Buffer.from(JSON.stringify({ model: "tiny", prompt: "x".repeat(PROMPT_CHARS), max_tokens: 4 }));
const CHUNK = 64 << 10;
const CHUNK_FRAME = Buffer.concat([Buffer.from(`${CHUNK.toString(16)}\r\n`), Buffer.alloc(CHUNK, 0x78), Buffer.from("\r\n")]);

export type Oversized = "declared" | "streamed" | "prompt";
export const OVERSIZED: Record<Oversized, string> = {
  declared: "Content-Length 4 MiB (limit 1 MiB), body not sent",
  streamed: "chunked body sent until the answer (limit 1 MiB)",
  prompt: `${PROMPT_CHARS.toLocaleString("en")}-character prompt in a ~1 MB body (limit 262,144 characters)`,
};

/**
 * One oversized request on a raw connection: milliseconds from the first
 * byte sent to the answer's status line (status -1: the connection closed
 * first).
 */
export function oversizedOnce(base: string, kind: Oversized): Promise<{ status: number; ms: number }> {
  const u = new URL(base);
  const head = (extra: string) => `POST /v1/completions HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n${extra}\r\n`;
  return new Promise((res) => {
    const sock = connect(Number(u.port), u.hostname);
    let text = "";
    let t0 = performance.now();
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      res({ status, ms: performance.now() - t0 });
      sock.destroy();
    };
    sock.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) finish(Number(m[1]));
    });
    sock.on("error", () => finish(-1));
    sock.on("close", () => finish(-1));
    sock.once("connect", () => {
      t0 = performance.now();
      if (kind === "declared") sock.write(head(`Content-Length: ${4 << 20}\r\n`));
      else if (kind === "prompt") {
        sock.write(head(`Content-Length: ${PROMPT_BODY.length}\r\n`));
        sock.write(PROMPT_BODY);
      } else {
        sock.write(head("Transfer-Encoding: chunked\r\n"));
        const pump = (): void => {
          while (!done && sock.write(CHUNK_FRAME)) {
            // keep writing until the socket pushes back
          }
          if (!done) sock.once("drain", pump);
        };
        pump();
      }
    });
  });
}

/** `count` oversized requests of one kind, one after another. */
export async function oversized(base: string, kind: Oversized, count: number, under: string): Promise<ShedResult> {
  const ms: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await oversizedOnce(base, kind);
    ms.push(r.ms);
    if (!status.includes(r.status)) status.push(r.status);
  }
  return { what: OVERSIZED[kind], under, status, p50Ms: quantile(ms, 0.5), maxMs: Math.max(...ms) };
}
