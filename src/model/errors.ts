import { GvmError } from "../util/errors.js";

/** A model-layer failure: shapes, configs, caches, checkpoints. */
export class ModelError extends GvmError {}
