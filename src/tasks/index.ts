/** The built-in arithmetic chain-of-thought suite. */
export * from "./arith.js";
export * from "./check.js";
export * from "./suite.js";
export * from "./demos.js";
