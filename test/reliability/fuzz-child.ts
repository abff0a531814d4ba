/**
 * A range of verifier fuzz cases in a process of its own, so the benchmark
 * can tell a hang from a slow case: prints {"done": i} every 200 cases and
 * then {"stats": FuzzStats}. A parent that hears nothing for its watchdog
 * period kills it and knows the hanging case lies after the last "done".
 *
 * Usage: node --import tsx test/reliability/fuzz-child.ts SEED FROM TO TIMEOUT_MS
 */
import { addOutcome, emptyStats, runCase } from "./verifier-fuzz.js";

const [seed, from, to, timeoutMs] = process.argv.slice(2).map(Number) as [number, number, number, number];
const stats = emptyStats();
for (let i = from; i < to; i++) {
  addOutcome(stats, runCase(seed, i, timeoutMs), timeoutMs);
  if ((i - from) % 200 === 199) process.stdout.write(`${JSON.stringify({ done: i + 1 })}\n`);
}
process.stdout.write(`${JSON.stringify({ stats })}\n`);
