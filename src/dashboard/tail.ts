/**
 * Following a JSON-lines file another process appends to: each read()
 * returns the lines completed since the last one, reading only the new
 * bytes. A line still being written stays buffered until its newline
 * arrives. A file replaced (new inode: the trainer rewrites its logs
 * atomically when it resumes and cuts them back) or shortened is read
 * again from the start, and the caller is told to drop what it had.
 * Opened read-only, never written.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";

export interface TailLine {
  /** 1-based line number in the file. */
  no: number;
  text: string;
}

export interface TailRead {
  /** The file was replaced, cut back or removed: forget earlier lines (`lines` starts from line 1). */
  reset: boolean;
  lines: TailLine[];
}

const NEWLINE = 0x0a;
const CHUNK = 1 << 22;

export class JsonlTail {
  private offset = 0;
  private ino = -1;
  private lineNo = 0;
  /** Bytes of an unfinished line (a UTF-8 character may be split across reads). */
  private rest: Buffer = Buffer.alloc(0);

  constructor(readonly path: string) {}

  /** Bytes consumed so far (complete lines and the buffered rest). */
  get bytes(): number {
    return this.offset;
  }

  read(): TailRead {
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (st === undefined) {
      const reset = this.offset > 0 || this.ino !== -1;
      this.forget(-1);
      return { reset, lines: [] };
    }
    let reset = false;
    if (st.ino !== this.ino || st.size < this.offset) {
      reset = this.ino !== -1;
      this.forget(st.ino);
    }
    if (st.size === this.offset) return { reset, lines: [] };
    const lines: TailLine[] = [];
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      // Replaced between stat and open: the next event reads the new file.
      return { reset, lines };
    }
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, st.size - this.offset));
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.split(buf.subarray(0, n), lines);
      }
    } finally {
      closeSync(fd);
    }
    return { reset, lines };
  }

  private split(chunk: Buffer, out: TailLine[]): void {
    let start = 0;
    let data = chunk;
    if (this.rest.length > 0) {
      data = Buffer.concat([this.rest, chunk]);
      this.rest = Buffer.alloc(0);
    }
    for (let i = data.indexOf(NEWLINE, start); i !== -1; i = data.indexOf(NEWLINE, start)) {
      this.lineNo++;
      const text = data.toString("utf8", start, i);
      if (text.trim() !== "") out.push({ no: this.lineNo, text });
      start = i + 1;
    }
    if (start < data.length) this.rest = Buffer.from(data.subarray(start));
  }

  private forget(ino: number): void {
    this.offset = 0;
    this.lineNo = 0;
    this.rest = Buffer.alloc(0);
    this.ino = ino;
  }
}
