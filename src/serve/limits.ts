/**
 * What keeps `gvm serve` answering under load: a request body read against
 * a byte limit and a deadline, connections refused with 503 past a limit,
 * and the check that an open (keyless) server stays on loopback.
 *
 * Everything here refuses as early as it can, before JSON parsing or
 * tokenizing, because those run on the one thread that also answers
 * /health and drives generation: fifty 1 MB prompts parsed and tokenized
 * at once stalled the server for seconds.
 */
import type { IncomingMessage } from "node:http";
import { isIP, type Socket } from "node:net";
import { ApiError } from "./protocol.js";

/** Seconds a client told to come back (429, 503) should wait. */
export const RETRY_AFTER_S = 1;

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * The request body as a JSON object, at most `limit` bytes, all of it
 * within `timeoutMs` of the call.
 *
 * Too large: rejects with 413 as soon as that is known (a declared
 * content-length, or the byte that crosses the limit of a chunked body),
 * and keeps discarding the rest so the client reads the answer instead of
 * a reset. Too slow: rejects with 408 and Connection: close. A body still
 * being discarded when the deadline passes has its connection destroyed,
 * so no client holds a socket open by trickling bytes.
 */
export function readJson(req: IncomingMessage, limit: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: ApiError) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const timer = setTimeout(() => {
      if (settled) req.socket.destroy();
      else fail(new ApiError(408, `the request was not received within ${timeoutMs} ms (this server's limit); send the body at once`, "invalid_request_error", null, null, { connection: "close" }));
    }, timeoutMs);
    req.once("end", () => clearTimeout(timer));
    req.once("close", () => {
      clearTimeout(timer);
      if (!req.complete) fail(new ApiError(400, "the client closed the connection before sending the whole request"));
    });

    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return fail(new ApiError(413, `request body of ${declared} bytes exceeds this server's limit of ${limit}`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        return fail(new ApiError(413, `request body exceeds this server's limit of ${limit} bytes`));
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return reject(new ApiError(400, "the request body is empty; expected a JSON object"));
      try {
        const json: unknown = JSON.parse(text);
        if (json === null || typeof json !== "object" || Array.isArray(json)) return reject(new ApiError(400, "the request body must be a JSON object"));
        resolve(json);
      } catch (err) {
        reject(new ApiError(400, `the request body is not valid JSON (${(err as Error).message})`));
      }
    });
    req.on("error", (err) => fail(new ApiError(400, `reading the request failed (${err.message})`)));
  });
}

/** A whole HTTP response written straight to a socket, for answers given before (or instead of) the HTTP parser. */
export function rawResponse(status: number, reason: string, err: ApiError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(err.body());
  const lines = [`HTTP/1.1 ${status} ${reason}`, "content-type: application/json", `content-length: ${Buffer.byteLength(body)}`, "connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

/** Answers a connection past the limit with 503 and closes it, leaving the client time to read the answer first. */
export function refuseConnection(socket: Socket, limit: number): void {
  const err = new ApiError(503, `too many connections (this server's limit is ${limit}); retry after ${RETRY_AFTER_S} s`, "server_error");
  socket.on("error", () => undefined);
  socket.end(rawResponse(503, "Service Unavailable", err, { "retry-after": String(RETRY_AFTER_S) }));
  // Closing at once could reset the connection under a client still sending
  // its request, and a reset can discard the answer before it is read.
  setTimeout(() => socket.destroy(), 1000).unref();
}
