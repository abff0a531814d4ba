/** Running the `gvm` CLI in-process from end-to-end tests, capturing its output. */
import { Writable } from "node:stream";
import { main } from "../src/cli/main.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** A writable that keeps everything written to it in `text`. */
export function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = "";
  return w;
}

/** `gvm ...argv` in this process: exit code, stdout and stderr. */
export async function gvm(...argv: string[]): Promise<CliResult> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}
