/**
 * wavenet-edge for JavaScript: run exported wavenet-edge models with onnxruntime-node or onnxruntime-web.
 *
 *     import * as ort from "onnxruntime-node";
 *     import { loadModel } from "wavenet-edge";
 *     const model = await loadModel("models/wavenet.onnx", { ort });
 *     for await (const name of model.generate(10, { seed: 1 })) console.log(name);
 *     for await (const name of model.generate(10, { seed: 1, minLen: 5, maxLen: 7, suffix: "a" })) console.log(name);
 *     for (const { name, probability } of await model.complete("ka", 8)) console.log(name, probability);
 */
export { FORMAT_VERSIONS, GRAPH_STEP, GRAPH_WINDOW, METADATA_PREFIX, ioDescription, parseMetadata } from "./contract.js";
export { CompletionError, DEFAULT_MAX_NODES, MAX_K, MAX_NODES } from "./complete.js";
export { LIMITS } from "./config.js";
export { ConstraintError } from "./constraints.js";
export { ConfigError, ModelFileError, VocabError, WavenetEdgeError } from "./errors.js";
export { DEFAULT_BATCH_SIZE, DEFAULT_PATIENCE, MAX_BATCH_SIZE } from "./generation.js";
export { MAX_THREADS, WavenetModel, loadModel } from "./model.js";
export { readOnnxProps } from "./modelfile.js";
export { SHIPPED_MODELS, shippedModel } from "./shipped.js";
export { UniformSource, checkSampling, makeSampler } from "./sampling.js";
export { BOUNDARY_ID, Vocab } from "./vocab.js";
