/**
 * Worker-thread entry for batch.ts: verifies chunks of (gold, response)
 * pairs sent by the pool and posts the verdicts back in order. verify()
 * bounds every call itself, so a chunk always completes.
 */
import { parentPort } from "node:worker_threads";
import { verify, type Verdict, type VerifyOptions } from "./verify.js";

export interface ChunkRequest {
  readonly id: number;
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly options: VerifyOptions;
}

export interface ChunkResponse {
  readonly id: number;
  readonly verdicts: Verdict[];
}

if (parentPort) {
  const port = parentPort;
  port.on("message", (msg: ChunkRequest) => {
    const verdicts = msg.pairs.map(([gold, response]) => verify(gold, response, msg.options));
    const reply: ChunkResponse = { id: msg.id, verdicts };
    port.postMessage(reply);
  });
}
