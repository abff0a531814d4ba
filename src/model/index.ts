/**
 * The model layer's public surface: the network and its decoding (config,
 * llama, kvcache, generate, sampling, batch, gradnorms, the byte tokenizer)
 * here, and every on-disk format in formats/ (safetensors, gvm checkpoints,
 * GGUF, and Hugging Face model directories with their tokenizer and chat
 * template in formats/hf/).
 */
export { parseModelConfig, configJson, ModelConfigError, type ModelConfig, type ModelConfigInput, type ModelType } from "./config.js";
export { ModelError } from "./errors.js";
export { LlamaModel, parameterShapes, type ForwardOptions } from "./llama.js";
export { KVCache } from "./kvcache.js";
export { Decoder, generate, SamplingLoop, type GenerateOptions, type Generation, type FinishReason, type RowDraw } from "./generate.js";
export { sampleToken, sampleRowsWithLogprob, validateSampling, logSoftmaxNorm, DEFAULT_SAMPLING, type SamplingParams } from "./sampling.js";
export { saveCheckpoint, loadModel, loadModelConfig, loadOptimizerState, verifyCheckpointFiles, CheckpointError, type SaveOptions } from "./formats/checkpoint.js";
export { readSafetensors, writeSafetensors, readHeader, SafetensorsError, type StDtype, type StTensor } from "./formats/safetensors.js";
export { ByteTokenizer, TokenizerError, type Tokenizer } from "./tokenizer.js";
export { packSequences, packShared, type PackedBatch, type PromptResponse, type SharedBatch } from "./batch.js";
export { perSampleGradNorms, subsetParams, GRAD_SUBSETS, type GradSubset, type GradNormOptions } from "./gradnorms.js";
export * from "./formats/hf/index.js";
