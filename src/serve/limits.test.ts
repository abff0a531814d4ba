import { describe, expect, it } from "vitest";
import { isLoopback, rawResponse } from "./limits.js";
import { ApiError, chatSchema, completionSchema, DEFAULT_LIMITS, got, parseRequest } from "./protocol.js";

describe("isLoopback", () => {
  it.each(["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "api.localhost", "::ffff:127.0.0.1"])("%s is loopback", (h) => expect(isLoopback(h)).toBe(true));
  it.each(["0.0.0.0", "::", "192.168.1.4", "10.0.0.1", "example.com", "128.0.0.1", "::ffff:10.0.0.1", "127.0.0.1.example.com"])("%s is not", (h) => expect(isLoopback(h)).toBe(false));
});

/** The message of the 400 ApiError fn throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) return err.message;
    throw err;
  }
  throw new Error("expected a 400 ApiError, nothing was thrown");
}

describe("request type errors say what was expected and what came", () => {
  it("describes values the way a client can recognise them", () => {
    expect([got(1.5), got("5"), got({}), got([1]), got([]), got(null), got(true)]).toEqual(["the number 1.5", 'a string ("5")', "an object", "a list", "an empty list", "null", "true"]);
    expect(got("x".repeat(1000)).length).toBeLessThan(100);
  });

  it.each([
    [{ model: "m", prompt: "p", top_k: "3" }, "top_k must be a number, got a string (\"3\")"],
    [{ model: "m", prompt: "p", seed: 0.5 }, "seed must be an integer, got the number 0.5"],
    [{ model: "m", prompt: "p", stream_options: { include_usage: "yes" } }, 'stream_options.include_usage must be a boolean (true or false), got a string ("yes")'],
    [{ model: "m", prompt: "p", stop: 7 }, "stop must be a string or a list of strings, got the number 7"],
    [{ model: "m", prompt: ["a", 1] }, "prompt must be a string or a list of strings (token id prompts are not supported), got a list"],
    [{ model: "m" }, "prompt is required (a string or a list of strings)"],
    [{ model: "m", prompt: "p", logprobs: -1 }, "logprobs must be >= 0"],
    [{ model: "m", prompt: Array(17).fill("a") }, "prompt: at most 16 prompts per request"],
    [{ model: "m", prompt: "p", stop: Array(17).fill("a") }, "stop: at most 16 stop strings"],
    [{ model: "m", prompt: "p", stop: [""] }, "stop.0: stop strings must not be empty"],
  ])("completions %j", (body, message) => {
    expect(messageOf(() => parseRequest(completionSchema(DEFAULT_LIMITS), body))).toBe(message);
  });

  it.each([
    [{ model: "m", messages: { role: "user" } }, "messages must be a list of {role, content}, got an object"],
    [{ model: "m", messages: [{ role: 1, content: "x" }] }, "messages.0.role: role must be system, developer, user or assistant, got the number 1"],
    [{ model: "m", messages: [{ role: "user" }] }, "messages.0.content: content is required (a string or a list of text parts)"],
    [{ model: "m", messages: [{ role: "user", content: [{ type: "image_url", text: "" }] }] }, 'messages.0.content.0.type: only text content parts are supported, got a string ("image_url")'],
    [{ model: "m", messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] }, "messages.0.content: content must be a string or a list of text parts, got a list"],
  ])("chat %j", (body, message) => {
    expect(messageOf(() => parseRequest(chatSchema(DEFAULT_LIMITS), body))).toBe(message);
  });
});

describe("rawResponse", () => {
  it("is a complete HTTP response whose length matches its body", () => {
    const text = rawResponse(503, "Service Unavailable", new ApiError(503, "too many connections: ü", "server_error"), { "retry-after": "1" });
    const [head, body] = text.split("\r\n\r\n") as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(head).toMatch(/\r\nretry-after: 1$/);
    expect(head).toContain(`content-length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ error: { message: "too many connections: ü", type: "server_error", param: null, code: null } });
  });
});
