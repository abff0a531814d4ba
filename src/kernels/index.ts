/**
 * Kernel selection. `loadKernels()` returns the native backend (the C++ addon
 * built by `npm ci`) when it loads, else the TypeScript reference backend with
 * one warning that says why and how to fix it. Nothing falls back silently:
 * asking for the native backend explicitly when it cannot load is an error.
 *
 * Environment (options win over it):
 *   GVM_KERNELS = native | reference   which backend (default: native if it loads)
 *   GVM_THREADS = n                    threads for threaded kernels (default: os.availableParallelism())
 *   GVM_SIMD    = avx512 | avx2 | scalar  force a SIMD level of the native backend (default: the best this CPU has)
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, errorMessage, GvmError } from "../util/errors.js";
import { defaultLogger, type Logger } from "../util/log.js";
import { referenceKernels } from "./reference/index.js";
import type { BackendName, KernelInfo, Kernels } from "./types.js";

export type { BackendName, KernelInfo, Kernels } from "./types.js";
export { referenceKernels } from "./reference/index.js";
export { LOGIT_WINDOW } from "./reference/draw.js";

export type SimdLevel = "avx512" | "avx2" | "scalar";

export interface LoadKernelsOptions {
  /** Backend to use; "auto" (default) prefers native and falls back with a warning. */
  backend?: BackendName | "auto";
  /** Threads for the native kernels, the caller's included; default GVM_THREADS or all available cores. */
  threads?: number;
  /** SIMD level of the native kernels; default GVM_SIMD or the best the CPU supports. */
  simd?: SimdLevel;
  /** Where the fallback warning goes; default the process logger. */
  logger?: Logger;
  /** Path of the compiled addon; default build/Release/gvm_kernels.node of this package. */
  addonPath?: string;
}

/** The native backend was requested but cannot be used. */
export class KernelLoadError extends GvmError {}

interface NativeInfo {
  best: SimdLevel;
  threads: number;
  avx2: boolean;
  avx512: boolean;
}

interface NativeAddon {
  kernels(simd: SimdLevel): Omit<Kernels, "info">;
  setThreads(n: number): number;
  info(): NativeInfo;
  measurePeak(simd: SimdLevel, seconds: number): number;
}

type Loaded = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIX = "run `npm run build:native` (needs a C++ compiler, make and python3; log in build/native-build.log)";

/** The default location of the compiled addon. */
export const defaultAddonPath = resolve(packageRoot, "build", "Release", "gvm_kernels.node");

const addons = new Map<string, Loaded>();
/** Native backends by addon path and SIMD level ("<path>|<simd>"): two builds never share one. */
const backends = new Map<string, Kernels>();

function loadAddon(path: string): Loaded {
  let loaded = addons.get(path);
  if (loaded) return loaded;
  if (!existsSync(path)) {
    loaded = { ok: false, reason: `the native addon was not built (${path} does not exist)` };
  } else {
    try {
      const addon = createRequire(import.meta.url)(path) as NativeAddon;
      const fns = addon.kernels(addon.info().best) as unknown as Record<string, unknown>;
      const missing = Object.keys(referenceKernels).filter((name) => name !== "info" && typeof fns[name] !== "function");
      loaded =
        missing.length === 0
          ? { ok: true, addon }
          : { ok: false, reason: `the native addon at ${path} is out of date (it lacks ${missing.join(", ")})` };
    } catch (err) {
      loaded = { ok: false, reason: `the native addon at ${path} failed to load: ${errorMessage(err)}` };
    }
  }
  addons.set(path, loaded);
  return loaded;
}

function backendFromEnv(): BackendName | "auto" {
  const v = process.env.GVM_KERNELS;
  if (v === undefined || v === "" || v === "auto") return "auto";
  if (v === "native" || v === "reference") return v;
  throw new ConfigError(`GVM_KERNELS must be "native", "reference" or "auto", got ${JSON.stringify(v)}`);
}

function threadsFromEnv(): number {
  const v = process.env.GVM_THREADS;
  if (v === undefined || v === "") return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ConfigError(`GVM_THREADS must be an integer in [1, 1024], got ${JSON.stringify(v)}`);
  return n;
}

function simdFromEnv(): SimdLevel | undefined {
  const v = process.env.GVM_SIMD;
  if (v === undefined || v === "") return undefined;
  if (v === "avx512" || v === "avx2" || v === "scalar") return v;
  throw new ConfigError(`GVM_SIMD must be "avx512", "avx2" or "scalar", got ${JSON.stringify(v)}`);
}

function nativeBackend(addon: NativeAddon, path: string, simd: SimdLevel): Kernels {
  const key = `${path}|${simd}`;
  let k = backends.get(key);
  if (k) return k;
  const fns = addon.kernels(simd);
  const info: KernelInfo = {
    backend: "native",
    simd,
    // the pool is per process; read it live so a later setThreads shows here
    get threads() {
      return addon.info().threads;
    },
  };
  k = { ...fns, info };
  backends.set(key, k);
  return k;
}

/**
 * The kernels this process should use. Cached: repeated calls return the same
 * backend object; a `threads` option (or GVM_THREADS) resizes the shared pool.
 */
export function loadKernels(options: LoadKernelsOptions = {}): Kernels {
  const backend = options.backend ?? backendFromEnv();
  if (backend === "reference") return referenceKernels;
  const threads = options.threads ?? threadsFromEnv();
  if (!Number.isInteger(threads) || threads < 1) throw new ConfigError(`loadKernels: threads must be a positive integer, got ${threads}`);
  const addonPath = options.addonPath ?? defaultAddonPath;
  const loaded = loadAddon(addonPath);
  if (!loaded.ok) {
    if (backend === "native") throw new KernelLoadError(`native kernels requested but unavailable: ${loaded.reason}. To fix, ${FIX}.`);
    (options.logger ?? defaultLogger()).warnOnce(
      "kernels-native-fallback",
      `gvm: ${loaded.reason}; using the TypeScript reference kernels, which are much slower. To fix, ${FIX}.`,
    );
    return referenceKernels;
  }
  const { addon } = loaded;
  const simd = options.simd ?? simdFromEnv() ?? addon.info().best;
  let kernels: Kernels;
  try {
    kernels = nativeBackend(addon, addonPath, simd);
  } catch (err) {
    throw new KernelLoadError(`native kernels: ${errorMessage(err)}`);
  }
  if (addon.info().threads !== threads) addon.setThreads(threads);
  return kernels;
}

/** What the native addon reports about this machine, or null when it cannot load. */
export function nativeInfo(addonPath = defaultAddonPath): NativeInfo | null {
  const loaded = loadAddon(addonPath);
  return loaded.ok ? loaded.addon.info() : null;
}

/**
 * Benchmark aid: GFLOP/s of independent FMAs in registers on every pool thread
 * at once, i.e. the fp32 peak this machine delivers now (turbo included).
 */
export function measureFmaPeak(seconds: number, simd?: SimdLevel, addonPath = defaultAddonPath): number {
  const loaded = loadAddon(addonPath);
  if (!loaded.ok) throw new KernelLoadError(`measureFmaPeak: ${loaded.reason}. To fix, ${FIX}.`);
  return loaded.addon.measurePeak(simd ?? loaded.addon.info().best, seconds);
}
