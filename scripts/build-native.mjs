#!/usr/bin/env node
// Builds the native kernels (binding.gyp -> build/Release/gvm_kernels.node).
//
// Runs as the package's `install` script during `npm ci`, and as
// `npm run build:native` (--strict). Uses the node-gyp bundled with npm and
// the Node headers already on the machine; it never downloads anything.
// Without --strict a failed build is not fatal: gvm then runs on its
// TypeScript kernels and says so when it starts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const strict = process.argv.includes("--strict");
const logPath = join(root, "build", "native-build.log");
const addonPath = join(root, "build", "Release", "gvm_kernels.node");

/** npm's own node-gyp: npm exports its path to scripts; else find it beside npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const prefix = resolve(dirname(process.execPath), "..");
  candidates.push(join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(prefix, "share", "nodejs", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"));
  return candidates.find((p) => existsSync(p));
}

/** Local Node headers, so node-gyp never fetches a tarball. */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;
}

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: process.env, maxBuffer: 64 << 20 });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function fail(what, detail) {
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, `${what}\n\n${detail}\n`);
  } catch {
    // the warning below still says what failed
  }
  const tail = detail.trim().split("\n").slice(-25).join("\n");
  process.stderr.write(
    [
      "",
      "=".repeat(78),
      `gvm: the native kernels were NOT built: ${what}`,
      "",
      tail,
      "",
      `Full log: ${logPath}`,
      strict
        ? "This is an error because --strict was given."
        : "gvm will still work, on its TypeScript reference kernels, which are much slower.",
      "To retry: install a C++ compiler (g++ or clang++), make and python3, then run",
      "  npm run build:native",
      "=".repeat(78),
      "",
    ].join("\n"),
  );
  process.exit(strict ? 1 : 0);
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail("node-gyp was not found (it ships with npm)", "Looked beside npm and in node_modules.");

const nodeDir = findNodeDir();
const args = [nodeGyp, "rebuild", "--release", "--jobs=max"];
if (nodeDir) args.push(`--nodedir=${nodeDir}`);
process.stderr.write(`gvm: building native kernels (node-gyp ${args.slice(1).join(" ")})\n`);
const build = run(args);
if (!build.ok || !existsSync(addonPath)) fail("node-gyp rebuild failed", build.output);

// A build that links but cannot load (wrong ABI, missing symbol) is a failure too.
const load = run(["-e", `const a = require(${JSON.stringify(addonPath)}); const i = a.info(); a.kernels(i.best); console.log(JSON.stringify(i));`]);
if (!load.ok) fail("the built addon does not load", load.output);
process.stderr.write(`gvm: native kernels built (${load.output.trim()})\n`);
