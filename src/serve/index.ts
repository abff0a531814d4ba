/** `gvm serve`: an OpenAI-compatible server over the in-process engine. */
export { GvmServer, type ChatRenderer, type ChatRole, type ServeOptions } from "./server.js";
export { ApiError, DEFAULT_LIMITS, type ServeLimits } from "./protocol.js";
export { isLoopback } from "./limits.js";
export { runJob, IncrementalText, type GenerationJob, type JobResult, type TokenEvent } from "./engine.js";
