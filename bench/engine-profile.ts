/**
 * Where an RL iteration's time goes: every kernel call of the `rl` workload
 * timed by phase (sampling, update) and by kernel (GEMMs by shape and
 * transposes, attention by query length), next to each phase's wall-clock;
 * the rest of a phase is TypeScript (sampling, tensor bookkeeping). Each call
 * is timed around the binding, so the figures include the call overhead.
 */
import * as T from "../src/tensor/index.js";
import type { Kernels } from "../src/kernels/index.js";
import { type Preset, type RlPhase, type RlShape, rlIteration } from "./engine-workloads.js";

export interface PhaseProfile {
  phase: RlPhase;
  /** Mean wall-clock per iteration, ms. */
  ms: number;
  /** CPU time of the process over the phase's wall-clock, in % (200 = both cores busy). */
  cpu_pct: number;
  /** Mean time inside kernels per iteration, ms. */
  kernel_ms: number;
  /** The costliest kernels: mean ms and calls per iteration. */
  top: Array<{ kernel: string; ms: number; calls: number; us_per_call: number }>;
}

/** Kernel label: GEMMs by M x N x K and transposes, attention by query length. */
function label(name: string, args: unknown[]): string {
  if (name === "gemm") return `gemm ${args[2]}x${args[3]}x${args[4]} ${args[0] ? "T" : "N"}${args[1] ? "T" : "N"}`;
  if (name === "attentionForward" || name === "attentionBackward") return `${name} Tq=${args[1]}`;
  return name;
}

export function profileRl(preset: Preset, shape: RlShape, iterations: number, top = 12): PhaseProfile[] {
  const rt = T.runtime();
  const inner = rt.kernels;
  const calls = new Map<string, { ms: number; n: number }>();
  const wall: Record<RlPhase, number> = { sampling: 0, update: 0 };
  const cpu: Record<RlPhase, number> = { sampling: 0, update: 0 };
  let cpuSince = process.cpuUsage();
  let phase: RlPhase = "sampling";
  let since = 0;
  const timed: Record<string, unknown> = { info: inner.info };
  for (const [name, fn] of Object.entries(inner)) {
    if (typeof fn !== "function") continue;
    timed[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(inner, args);
      const key = `${phase}\t${label(name, args)}`;
      const e = calls.get(key) ?? { ms: 0, n: 0 };
      e.ms += performance.now() - t0;
      e.n++;
      calls.set(key, e);
      return r;
    };
  }
  const close = () => {
    const now = performance.now();
    const used = process.cpuUsage(cpuSince);
    wall[phase] += now - since;
    cpu[phase] += (used.user + used.system) / 1000;
    since = now;
    cpuSince = process.cpuUsage();
  };
  const switchTo = (next: RlPhase) => {
    close();
    phase = next;
  };
  const iteration = rlIteration(preset, shape, 0, switchTo);
  iteration(); // warm-up, not counted
  return rt.withKernels(timed as unknown as Kernels, () => {
    calls.clear();
    wall.sampling = wall.update = cpu.sampling = cpu.update = 0;
    for (let i = 0; i < iterations; i++) {
      phase = "sampling";
      since = performance.now();
      cpuSince = process.cpuUsage();
      iteration();
      close();
    }
    return (["sampling", "update"] as const).map((p) => {
      const rows = [...calls.entries()].filter(([k]) => k.startsWith(`${p}\t`)).map(([k, e]) => ({ kernel: k.split("\t")[1] as string, ...e }));
      const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
      rows.sort((a, b) => b.ms - a.ms);
      return {
        phase: p,
        ms: round(wall[p] / iterations),
        cpu_pct: Math.round((100 * cpu[p]) / wall[p]),
        kernel_ms: round(kernelMs / iterations),
        top: rows.slice(0, top).map((r) => ({ kernel: r.kernel, ms: round(r.ms / iterations), calls: r.n / iterations, us_per_call: round((1000 * r.ms) / r.n) })),
      };
    });
  });
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
