/**
 * Backend selection: the reference override, the single warning of a failed
 * native load, the error when native is demanded but missing, environment
 * validation, and the addon inside worker_threads.
 */
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../util/errors.js";
import { Logger } from "../util/log.js";
import { defaultAddonPath, KernelLoadError, loadKernels, nativeInfo, referenceKernels } from "./index.js";

const saved = { ...process.env };
afterEach(() => {
  for (const key of ["GVM_KERNELS", "GVM_THREADS", "GVM_SIMD"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger({ level: "info", sink: (l) => lines.push(l) }), lines };
}

describe("loadKernels", () => {
  it("GVM_KERNELS=reference and backend: 'reference' give the reference backend", () => {
    process.env.GVM_KERNELS = "reference";
    expect(loadKernels()).toBe(referenceKernels);
    delete process.env.GVM_KERNELS;
    expect(loadKernels({ backend: "reference" })).toBe(referenceKernels);
    expect(referenceKernels.info.backend).toBe("reference");
  });

  it("falls back to the reference kernels with one warning naming the reason and the fix", () => {
    const { logger, lines } = capture();
    const missing = "/nonexistent/gvm_kernels.node";
    expect(loadKernels({ addonPath: missing, logger })).toBe(referenceKernels);
    expect(loadKernels({ addonPath: missing, logger })).toBe(referenceKernels);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[warn\].*\/nonexistent\/gvm_kernels\.node does not exist.*reference kernels.*npm run build:native/);
  });

  it("asking for native when it cannot load is an error, not a fallback", () => {
    const { logger, lines } = capture();
    expect(() => loadKernels({ backend: "native", addonPath: "/nonexistent/gvm_kernels.node", logger })).toThrow(KernelLoadError);
    process.env.GVM_KERNELS = "native";
    expect(() => loadKernels({ addonPath: "/nonexistent/gvm_kernels.node", logger })).toThrow(/npm run build:native/);
    expect(lines).toHaveLength(0);
  });

  it("rejects bad environment values by name", () => {
    process.env.GVM_KERNELS = "gpu";
    expect(() => loadKernels()).toThrow(ConfigError);
    expect(() => loadKernels()).toThrow(/GVM_KERNELS/);
    delete process.env.GVM_KERNELS;
    process.env.GVM_THREADS = "0";
    expect(() => loadKernels({ addonPath: "/nonexistent/gvm_kernels.node", logger: capture().logger })).toThrow(/GVM_THREADS/);
    delete process.env.GVM_THREADS;
    process.env.GVM_SIMD = "sse9";
    expect(() => loadKernels({ logger: capture().logger })).toThrow(/GVM_SIMD/);
  });

  it.runIf(process.env.CI)("in CI the native addon is built and loads", () => {
    expect(nativeInfo(), `expected ${defaultAddonPath} to be built by npm ci`).not.toBeNull();
    expect(loadKernels({ backend: "native" }).info.backend).toBe("native");
  });
});

const info = nativeInfo();

describe.skipIf(info === null)(`native backend${info === null ? " (SKIPPED: native addon not built; run `npm run build:native`)" : ""}`, () => {
  it("defaults to the best SIMD level and honours GVM_THREADS, cached per process", () => {
    process.env.GVM_THREADS = "2";
    const k = loadKernels();
    expect(k.info.backend).toBe("native");
    expect(k.info.simd).toBe(info?.best);
    expect(k.info.threads).toBe(2);
    expect(loadKernels()).toBe(k);
  });

  it("an unsupported SIMD level is an error", () => {
    const missing = (["avx512", "avx2"] as const).find((s) => info !== null && !info[s]);
    if (missing === undefined) return; // this CPU has every level
    expect(() => loadKernels({ backend: "native", simd: missing })).toThrow(/does not support SIMD level/);
  });

  it("works inside worker_threads while the main thread runs kernels too", async () => {
    const M = 96, N = 80, K = 70;
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const addon = require(workerData.path);
      const k = addon.kernels(addon.info().best);
      const { M, N, K } = workerData;
      const A = new Float32Array(M * K).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
      const B = new Float32Array(K * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
      const C = new Float32Array(M * N);
      for (let r = 0; r < 50; r++) k.gemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N, 1, 0, 0, 0);
      parentPort.postMessage(C);
    `;
    const A = new Float32Array(M * K).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    const B = new Float32Array(K * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
    const expected = new Float32Array(M * N);
    referenceKernels.gemm(false, false, M, N, K, 1, A, K, B, N, 0, expected, N, 1, 0, 0, 0);
    const k = loadKernels({ backend: "native", threads: 2 });
    const workers = [0, 1].map(
      () =>
        new Promise<Float32Array>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { path: defaultAddonPath, M, N, K } });
          w.once("message", (m: Float32Array) => {
            resolve(m);
            void w.terminate();
          });
          w.once("error", reject);
        }),
    );
    const C = new Float32Array(M * N);
    for (let r = 0; r < 50; r++) k.gemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N, 1, 0, 0, 0);
    for (const result of [C, ...(await Promise.all(workers))])
      for (let i = 0; i < expected.length; i++) expect(Math.abs((result[i] as number) - (expected[i] as number))).toBeLessThan(1e-4);
  });
});
