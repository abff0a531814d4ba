/**
 * `gvm train` as the crash-resume trials of bench/reliability.ts run it: the
 * CLI's own main() (argv as for `gvm`), with probes that know which phase
 * the run is in. The phase is appended to $GVM_PHASE_FILE with a
 * synchronous write each time it changes, so the last line read after a
 * SIGKILL is the phase the process died in. With GVM_KILL_AT=PHASE:N the
 * process sends itself SIGKILL at the N-th tick of PHASE (a forward pass
 * while sampling, a backward pass of gradient norms or of an update, a
 * write into a checkpoint being written, a rename), which lands kills in
 * phases too short for a timer to hit. At a normal exit the tick counts per
 * phase are appended as one "ticks {...}" line, for choosing N.
 *
 * The probes wrap class prototypes and node:fs (made visible to the
 * modules' named imports by syncBuiltinESMExports); library code knows
 * nothing of them.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { basename } from "node:path";
import { main } from "../../src/cli/main.js";
import { LlamaModel } from "../../src/model/index.js";
import { LocalSampler } from "../../src/rollout/index.js";
import * as T from "../../src/tensor/index.js";

const PHASES = ["sampling", "scoring", "gradnorms", "update", "checkpoint-write", "checkpoint-rename", "eval", "mark-latest"] as const;
type Phase = (typeof PHASES)[number] | "startup" | "between";

const phaseFile = process.env.GVM_PHASE_FILE;
const killAt = process.env.GVM_KILL_AT?.split(":");
const killPhase = killAt?.[0];
const killTick = Number(killAt?.[1] ?? Number.NaN);

const write = fs.writeSync;
const open = fs.openSync;
const rename = fs.renameSync;
const phaseFd = phaseFile ? open(phaseFile, "a") : null;
const ticks: Record<string, number> = {};
let phase: Phase = "startup";
// A checkpoint directory renamed into place but not yet `latest`: the run is evaluating it.
let evalPending = false;

function enter(p: Phase): void {
  if (p === phase) return;
  phase = p;
  if (phaseFd !== null) write(phaseFd, `${p}\n`);
}

function tick(p: Phase): void {
  enter(p);
  const n = (ticks[p] = (ticks[p] ?? 0) + 1);
  if (p === killPhase && n === killTick) process.kill(process.pid, "SIGKILL");
}

const sample = LocalSampler.prototype.sample;
LocalSampler.prototype.sample = function (this: LocalSampler, ...args: Parameters<LocalSampler["sample"]>) {
  enter(evalPending ? "eval" : "sampling");
  return sample.apply(this, args).finally(() => enter(evalPending ? "eval" : "scoring"));
};

const forward = LlamaModel.prototype.forward;
LlamaModel.prototype.forward = function (this: LlamaModel, ...args: Parameters<LlamaModel["forward"]>) {
  if (phase === "sampling" || phase === "eval" || phase === "scoring") tick(phase);
  return forward.apply(this, args);
};

const backward = T.Tensor.prototype.backward;
T.Tensor.prototype.backward = function (this: T.Tensor, ...args: Parameters<T.Tensor["backward"]>) {
  tick(T.runtime().perSample ? "gradnorms" : "update");
  return backward.apply(this, args);
};

const tmpCheckpoint = /^\.iter-\d+\.tmp-\d+$/;
const checkpointFds = new Set<number>();
const fsw = fs as unknown as Record<string, unknown>;
fsw.openSync = (...args: Parameters<typeof fs.openSync>) => {
  const fd = open(...args);
  const path = String(args[0]);
  if (path.split("/").some((part) => tmpCheckpoint.test(part))) {
    checkpointFds.add(fd);
    tick("checkpoint-write");
  }
  return fd;
};
fsw.writeSync = (...args: Parameters<typeof fs.writeSync>) => {
  if (checkpointFds.has(args[0])) tick("checkpoint-write");
  return (write as (...a: unknown[]) => number)(...args);
};
fsw.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
  const src = basename(String(from));
  const dst = basename(String(to));
  if (tmpCheckpoint.test(src) || /^\.iter-\d+\.old-\d+$/.test(dst)) {
    tick("checkpoint-rename");
    rename(from, to);
    if (tmpCheckpoint.test(src)) {
      evalPending = true;
      enter("eval");
    }
    return;
  }
  if (dst === "latest") {
    tick("mark-latest");
    rename(from, to);
    evalPending = false;
    enter("between");
    return;
  }
  rename(from, to);
};
syncBuiltinESMExports();

process.on("exit", () => {
  if (phaseFd !== null) write(phaseFd, `ticks ${JSON.stringify(ticks)}\n`);
});

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gvm: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
