/**
 * The PyTorch anchor as a server, so the benchmark can interleave it with
 * ours step by step. It imports ../shared/anchors/torch_llama_bench.py (its
 * presets and model, unchanged), builds the model, batch and optimizer as
 * the anchor's main() does, runs with the threading the anchor's header
 * recommends (torch 1 thread, OpenBLAS 2 threads, OPENBLAS_CORETYPE unset),
 * and times the same step bodies: the train step and the no-grad decode step
 * of main(), each measured around the call with perf_counter as main() does.
 *
 * Protocol: one command per line on stdin ("train N", "decode-reset",
 * "decode N", "rl N"), one JSON line back with the milliseconds of each step.
 * "rl" runs the anchor's own run_rl iteration with the --rl-* settings
 * given, taken from run_rl so each iteration can be timed between ours.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { RlShape } from "./engine-workloads.js";

const here = dirname(fileURLToPath(import.meta.url));
export const ANCHOR = join(here, "..", "..", "shared", "anchors", "torch_llama_bench.py");

const SERVER = `
import argparse, json, sys, time
import torch
import torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
import torch_llama_bench as tb

preset, dec_batch, prefill = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
torch.manual_seed(0)
c = tb.PRESETS[preset]
m = tb.Llama(c)
opt = torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.1)
idx = torch.randint(0, c["vocab"], (c["batch"], c["ctx"]))
tgt = torch.randint(0, c["vocab"], (c["batch"], c["ctx"]))

def train():
    loss = F.cross_entropy(m(idx).view(-1, c["vocab"]), tgt.view(-1))
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

state = {}
def decode_reset():
    with torch.no_grad():
        state["caches"] = [{} for _ in range(c["layers"])]
        m(torch.randint(0, c["vocab"], (dec_batch, prefill)), state["caches"], 0)
    state["pos"] = prefill

def decode():
    logits = m(torch.randint(0, c["vocab"], (dec_batch, 1)), state["caches"], state["pos"])
    torch.multinomial(logits[:, -1].softmax(-1), 1)
    state["pos"] += 1

# The anchor's own rl iteration: run_rl builds it as a closure and hands it
# to median_time, which is swapped here for a hook that keeps the closure
# instead of timing it (run_rl has already run it once, as its warm-up).
class _Captured(Exception):
    pass
_rl = {}
def _capture(fn, runs):
    _rl["iteration"] = fn
    raise _Captured
tb.median_time = _capture
def rl_setup():
    r = json.loads(sys.argv[5])
    args = argparse.Namespace(runs=7, rl_prompts=r["prompts"], rl_n=r["n"], rl_prompt_len=r["promptLen"],
                              rl_new_tokens=r["newTokens"], rl_decode_batch=r["decodeBatch"], rl_train_batch=r["trainBatch"])
    try:
        tb.run_rl(m, c, args, {})
    except _Captured:
        pass

def timed(fn, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
    return ts

print(json.dumps({"ready": True, "torch": torch.__version__, "params": sum(p.numel() for p in m.parameters())}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "train":
        ms = timed(train, int(cmd[1]))
    elif cmd[0] == "rl":
        if "iteration" not in _rl:
            rl_setup()
        ms = timed(_rl["iteration"], int(cmd[1]))
    elif cmd[0] == "decode-reset":
        decode_reset(); ms = []
    elif cmd[0] == "decode":
        with torch.no_grad():
            ms = timed(decode, int(cmd[1]))
    else:
        raise SystemExit("unknown command " + line)
    print(json.dumps({"ms": ms}), flush=True)
`;

export interface Anchor {
  readonly torch: string;
  /** ms of each of n train steps. */
  train(n: number): Promise<number[]>;
  /** A fresh KV cache and prefill (untimed). */
  decodeReset(): Promise<void>;
  /** ms of each of n decode steps. */
  decode(n: number): Promise<number[]>;
  /** ms of each of n RL iterations. */
  rl(n: number): Promise<number[]>;
  close(): void;
}

/** Whether /usr/bin/python3 has torch and the anchor file exists. */
export function anchorAvailable(): boolean {
  if (!existsSync(ANCHOR) || !existsSync("/usr/bin/python3")) return false;
  return spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" }).status === 0;
}

export async function startAnchor(preset: string, decodeBatch: number, prefill: number, rl: RlShape): Promise<Anchor> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "2" };
  delete env.OPENBLAS_CORETYPE;
  const py: ChildProcessWithoutNullStreams = spawn("/usr/bin/python3", ["-c", SERVER, dirname(ANCHOR), preset, String(decodeBatch), String(prefill), JSON.stringify(rl)], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  py.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error(`bench:engine: the torch anchor exited: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const hello = await next();
  const ask = async (cmd: string): Promise<number[]> => {
    py.stdin.write(`${cmd}\n`);
    return (await next()).ms as number[];
  };
  const kill = () => py.kill();
  process.on("exit", kill);
  return {
    torch: String(hello.torch),
    train: (n) => ask(`train ${n}`),
    decodeReset: async () => {
      await ask("decode-reset");
    },
    decode: (n) => ask(`decode ${n}`),
    rl: (n) => ask(`rl ${n}`),
    close: () => {
      process.off("exit", kill);
      py.stdin.end();
      py.kill();
    },
  };
}
