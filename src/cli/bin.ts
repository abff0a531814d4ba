#!/usr/bin/env node
import { main } from "./main.js";
import { errorMessage } from "../util/errors.js";

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gvm: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
