/**
 * Polls `cond` until it holds; rejects after `timeoutMs`, or as soon as
 * `gaveUp()` says waiting is pointless (a child process that exited), naming
 * what it waited for.
 */
export async function until(cond: () => boolean, timeoutMs: number, what: string, gaveUp: () => boolean = () => false): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (gaveUp()) throw new Error(`gave up waiting for ${what}`);
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
