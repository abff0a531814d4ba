/**
 * GEMM throughput of the native kernels: square 512 / 1024 (NN and NT) and the
 * products of the engine's workloads (training x @ W^T, dX = dY @ W,
 * dW = dY^T @ X; batch-64 decode), against this CPU's fp32 peak and, where
 * /usr/bin/python3 has torch, against torch.mm measured in the same run
 * (interleaved shape by shape, so machine load hits both alike).
 *
 *   npm run bench:gemm [-- --threads N] [--quick] [--no-torch] [--cpu-time]
 *
 * --cpu-time times our kernels by the process's CPU time instead of the
 * clock, and the peak likewise (FLOP per CPU-second of the FMA loop): on a
 * machine shared with other jobs this gives the kernel's efficiency per core
 * independent of the share of the cores it got (no torch comparison then).
 *
 * One JSON object per line: first the peak and how it was computed, then one
 * line per product with GFLOP/s (median of 5 timed trials).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { loadKernels, measureFmaPeak, nativeInfo } from "../src/kernels/index.js";
import { median } from "../src/util/stats.js";

interface Shape {
  name: string;
  op: "NN" | "NT" | "TN";
  M: number;
  N: number;
  K: number;
}

const args = process.argv.slice(2);
const threads = Number(args[args.indexOf("--threads") + 1] ?? "") || Number(process.env.GVM_THREADS) || availableParallelism();
const quick = args.includes("--quick");
const cpuTime = args.includes("--cpu-time");
const withTorch = !args.includes("--no-torch") && !args.includes("--cpu-time");

function shapes(): Shape[] {
  const out: Shape[] = [];
  for (const n of [512, 1024]) for (const op of ["NN", "NT"] as const) out.push({ name: `square-${n}`, op, M: n, N: n, K: n });
  // [preset, dim, ffn, tokens]: training tokens = batch x ctx (16 x 128, 8 x 256)
  const presets = [
    ["tiny", 256, 688, 2048],
    ["small", 512, 1376, 2048],
  ] as const;
  for (const [p, dim, ffn, T] of presets) {
    out.push({ name: `${p}-train-fwd-attn (x @ Wq^T)`, op: "NT", M: T, N: dim, K: dim });
    out.push({ name: `${p}-train-fwd-up (x @ Wup^T)`, op: "NT", M: T, N: ffn, K: dim });
    out.push({ name: `${p}-train-fwd-down (h @ Wdown^T)`, op: "NT", M: T, N: dim, K: ffn });
    out.push({ name: `${p}-train-dx-up (dY @ Wup)`, op: "NN", M: T, N: dim, K: ffn });
    out.push({ name: `${p}-train-dw-up (dY^T @ X)`, op: "TN", M: ffn, N: dim, K: T });
    out.push({ name: `${p}-decode-up (x @ Wup^T, batch 64)`, op: "NT", M: 64, N: ffn, K: dim });
    out.push({ name: `${p}-decode-down (h @ Wdown^T, batch 64)`, op: "NT", M: 64, N: dim, K: ffn });
  }
  return quick ? out.filter((s) => s.name.startsWith("square-512") || s.name.startsWith("tiny")) : out;
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    a[i] = x / 4294967296 - 0.5;
  }
  return a;
}

/** Milliseconds now: of the clock, or of this process's CPU time with --cpu-time. */
function now(): number {
  if (!cpuTime) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** Seconds per call: median of 5 trials, each long enough (~60 ms) to time. */
function timeIt(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) fn();
    if (now() - t0 > 60 || reps > 1 << 20) break;
    reps *= 2;
  }
  const trials: number[] = [];
  for (let t = 0; t < 5; t++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) fn();
    trials.push((now() - t0) / 1e3 / reps);
  }
  return median(trials);
}

/** FLOP per cycle per core for fp32 FMA, from the CPU's vendor, family and flags. */
function flopsPerCycle(): { flops: number; why: string } {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim() ?? "";
  const vendor = field("vendor_id"), family = Number(field("cpu family")), model = Number(field("model"));
  const flags = new Set(field("flags").split(/\s+/));
  if (vendor === "AuthenticAMD" && family === 23 && model < 0x30)
    return { flops: 16, why: "AMD Zen 1 (family 23, model < 0x30): two 128-bit FMA pipes = 8 fp32 FMA/cycle" };
  if (flags.has("avx512f") && vendor === "AuthenticAMD" && family < 26)
    return { flops: 32, why: "AMD Zen 4: AVX-512 on two 256-bit FMA pipes = 16 fp32 FMA/cycle" };
  if (flags.has("avx512f")) return { flops: 64, why: "AVX-512 with two 512-bit FMA units = 32 fp32 FMA/cycle (one-unit SKUs: half)" };
  if (flags.has("avx2") && flags.has("fma")) return { flops: 32, why: "AVX2 with two 256-bit FMA units = 16 fp32 FMA/cycle" };
  return { flops: 8, why: "SSE: one 4-wide multiply and one 4-wide add per cycle" };
}

function clockMHz(): { mhz: number; source: string } {
  const lscpu = spawnSyncText("lscpu");
  const max = /CPU max MHz:\s*([\d.]+)/.exec(lscpu)?.[1];
  if (max) return { mhz: Number(max), source: "lscpu CPU max MHz" };
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const cur = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1];
  return { mhz: Number(cur ?? Number.NaN), source: "/proc/cpuinfo cpu MHz (nominal; no max reported, turbo may exceed it)" };
}

function spawnSyncText(cmd: string): string {
  try {
    return execFileSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

const TORCH_SCRIPT = `
import json, sys, time, statistics
import torch
torch.set_num_threads(int(sys.argv[1]))
print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
for line in sys.stdin:
    q = json.loads(line)
    M, N, K, op = q["M"], q["N"], q["K"], q["op"]
    A = torch.randn(K, M) if op[0] == "T" else torch.randn(M, K)
    B = torch.randn(N, K) if op[1] == "T" else torch.randn(K, N)
    a = A.t() if op[0] == "T" else A
    b = B.t() if op[1] == "T" else B
    C = torch.empty(M, N)
    f = lambda: torch.mm(a, b, out=C)
    for _ in range(3): f()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps): f()
        if time.perf_counter() - t0 > 0.06 or reps > (1 << 20): break
        reps *= 2
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps): f()
        ts.append((time.perf_counter() - t0) / reps)
    print(json.dumps({"gflops": 2 * M * N * K / statistics.median(ts) / 1e9}), flush=True)
`;

/** A persistent torch process answering one shape per line, or null without torch. */
async function startTorch(): Promise<((s: Shape) => Promise<number>) | null> {
  if (!withTorch || !existsSync("/usr/bin/python3")) return null;
  // the anchor's best threading on this machine: torch 1 thread, OpenBLAS 2 threads
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  const py = spawn("/usr/bin/python3", ["-c", TORCH_SCRIPT, "1"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  py.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) {
    process.stderr.write(`bench:gemm: no torch comparison (${stderr.trim().split("\n").pop() ?? "python3 exited"})\n`);
    return null;
  }
  process.on("exit", () => py.kill());
  return async (s) => {
    py.stdin.write(`${JSON.stringify(s)}\n`);
    const r = await lines.next();
    if (r.done) throw new Error(`torch process ended: ${stderr}`);
    return (JSON.parse(r.value) as { gflops: number }).gflops;
  };
}

async function main(): Promise<void> {
  const native = nativeInfo();
  if (native === null) throw new Error("bench:gemm needs the native addon; run `npm run build:native`");
  const k = loadKernels({ backend: "native", threads });
  const cores = availableParallelism();
  const { flops, why } = flopsPerCycle();
  const { mhz, source } = clockMHz();
  // with --cpu-time every figure is per CPU-second, i.e. per core
  const peakCores = cpuTime ? 1 : Math.min(threads, cores);
  const nominal = (peakCores * mhz * flops) / 1e3;
  const t0 = now(), w0 = performance.now();
  const peakWall = measureFmaPeak(1.0);
  // per CPU-second: the loop's FLOP over the CPU time it took
  const measured = cpuTime ? (peakWall * (performance.now() - w0)) / (now() - t0) : peakWall;
  console.log(
    JSON.stringify({
      bench: "gemm-peak",
      simd: k.info.simd,
      threads,
      cores,
      mhz,
      mhz_source: source,
      flops_per_cycle: flops,
      flops_per_cycle_why: why,
      peak_nominal_gflops: round(nominal),
      peak_nominal_how: `${peakCores} core${peakCores > 1 ? "s" : ""} x ${mhz} MHz x ${flops} FLOP/cycle`,
      peak_measured_gflops: round(measured),
      peak_measured_how: cpuTime
        ? "independent FMAs in registers on every thread, FLOP per CPU-second (one core's peak, whatever share of the cores the process got)"
        : "independent FMAs in registers on every thread (what the silicon delivers now, turbo and load included)",
      timing: cpuTime ? "cpu (GFLOP per CPU-second, i.e. per core)" : "wall",
    }),
  );
  const torch = await startTorch();
  for (const s of shapes()) {
    const ta = s.op[0] === "T", tb = s.op[1] === "T";
    const A = rand(s.M * s.K), B = rand(s.K * s.N), C = new Float32Array(s.M * s.N);
    const lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
    const sec = timeIt(() => k.gemm(ta, tb, s.M, s.N, s.K, 1, A, lda, B, ldb, 0, C, s.N, 1, 0, 0, 0));
    const gflops = (2 * s.M * s.N * s.K) / sec / 1e9;
    const line: Record<string, unknown> = {
      bench: "gemm",
      shape: s.name,
      op: s.op,
      M: s.M,
      N: s.N,
      K: s.K,
      threads,
      gflops: round(gflops),
      of_nominal_peak: round(gflops / nominal, 3),
      of_measured_peak: round(gflops / measured, 3),
    };
    if (torch) {
      const t = await torch(s);
      line.torch_gflops = round(t);
      line.ratio = round(gflops / t, 2);
    }
    console.log(JSON.stringify(line));
  }
  process.exit(0);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

await main();
