/** Hugging Face model directories: tokenizers, chat templates, loading and saving, GGUF export. */
export { ModelDirError, COMPANION_FILES, readJsonFile } from "./files.js";
export { writeGguf, byteToUnicode, GgufError, type GgufDtype, type GgufOptions, type GgufTokenizer } from "../gguf.js";
export { buildTokenizerCore, HfTokenizer, loadHfTokenizer, specialTokenText, type HfTokenizerSource, type TokenizerCore } from "./tokenizer.js";
export { ChatTemplate, loadChatTemplate, type RenderOptions, type TemplateMessage } from "./chat-template.js";
export { companionFiles, isByteLevelConfig, loadModelDir, loadTokenizerDir, saveModelDir, type ModelDir, type SaveModelDirOptions, type TokenizerDir, type TokenizerKind } from "./modeldir.js";
