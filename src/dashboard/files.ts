/**
 * Paths a request may read: inside one run directory and nowhere else.
 * The decoded path is resolved against the run directory and must stay
 * inside it, and so must its real path once symbolic links are followed
 * (a link in a run directory pointing at /etc is refused like `../`).
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";

export type Resolved = { kind: "file" | "dir"; path: string } | { kind: "outside"; reason: string } | { kind: "missing" };

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * `rel` (already percent-decoded, '/'-separated) under `root`. Absolute
 * paths, NUL bytes and anything that leaves `root` before or after
 * following links are "outside"; a path inside that does not exist is
 * "missing".
 */
export function resolveInside(root: string, rel: string): Resolved {
  if (rel.includes("\0")) return { kind: "outside", reason: "NUL byte in the path" };
  if (isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.startsWith("\\")) return { kind: "outside", reason: "absolute path" };
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return { kind: "missing" };
  }
  const target = resolve(realRoot, rel);
  if (!inside(realRoot, target)) return { kind: "outside", reason: "the path leaves the run directory" };
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    return { kind: "missing" };
  }
  if (!inside(realRoot, real)) return { kind: "outside", reason: "a symbolic link leads out of the run directory" };
  const st = statSync(real, { throwIfNoEntry: false });
  if (st === undefined) return { kind: "missing" };
  return { kind: st.isDirectory() ? "dir" : "file", path: real };
}
