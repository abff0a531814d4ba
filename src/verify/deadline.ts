/**
 * The time bound of one verification. JavaScript runs one call at a time per
 * thread, so the active deadline is module state: verify() arms it, the
 * parser and evaluator call checkDeadline() inside every loop that can grow
 * with the input, and an expired deadline unwinds the stack with a
 * DeadlineExceeded that verify() turns into a "timeout" verdict.
 */

export class DeadlineExceeded extends Error {
  constructor() {
    super("verification deadline exceeded");
    this.name = "DeadlineExceeded";
  }
}

let deadlineAt = Infinity;
let counter = 0;

/** Arms the deadline `ms` milliseconds from now and returns the previous one, for restoring. */
export function armDeadline(ms: number): number {
  const previous = deadlineAt;
  deadlineAt = performance.now() + ms;
  counter = 0;
  return previous;
}

export function restoreDeadline(previous: number): void {
  deadlineAt = previous;
}

/** Cheap enough for inner loops: reads the clock once every 64 calls. */
export function checkDeadline(): void {
  counter = (counter + 1) & 63;
  if (counter === 0 && performance.now() > deadlineAt) throw new DeadlineExceeded();
}

/** Reads the clock now (for coarse steps such as a whole parse). */
export function checkDeadlineNow(): void {
  if (performance.now() > deadlineAt) throw new DeadlineExceeded();
}
