/** `gvm dashboard`: a live page over run directories, read-only. */
export { DashboardError, DashboardServer, type DashboardOptions } from "./server.js";
export { RunSet, type ChartPayload, type DashboardState, type DashboardUpdate, type RunSetOptions } from "./runset.js";
export { RunState, type RunSummary, type SampleRecord } from "./run.js";
export { runStatus, stallAfter, type Heartbeat, type LockHolder, type RunStatus, type StatusInput } from "./status.js";
export { resolveInside, type Resolved } from "./files.js";
export { JsonlTail, type TailLine, type TailRead } from "./tail.js";
