/**
 * The contract between `wn-export` and the runtimes (the twin of runtime/contract.py): the ONNX
 * `metadata_props` keys, read and validated into one ModelMetadata object. docs/format.md is the
 * specification (every `wavenet_edge.*` key, the vocabulary's ids, the step and window protocols, scoring,
 * generation and the sampler); tests/conformance/ holds the numbers an implementation must reproduce.
 *
 *     const meta = parseMetadata(readOnnxProps(bytes, "m.onnx"), "m.onnx");
 *     meta.graph, meta.io.inputs[1].shape, meta.initialState   // everything the runtime needs
 *
 * Every check of ModelMetadata.from_props in runtime/contract.py, in its order and with its words: the config
 * (config.js), the vocabulary, the receptive field and `wavenet_edge.io` against the config, the start state.
 * The graph's input and output names and the state layout follow from the config (`ioDescription`, as
 * io_description in Python). graphs.js keeps each format-2 queue as a ring of slots (RingRows).
 */
import { configFromDict, layerDilations, receptiveField } from "./config.js";
import { ConfigError, ModelFileError, VocabError, pyRepr } from "./errors.js";
import { loads, pyEquals, pyTypeName, toPlain } from "./pyjson.js";
import { Vocab } from "./vocab.js";

/** The `wavenet_edge.format_version` values this runtime reads. */
export const FORMAT_VERSIONS = Object.freeze([1, 2]);
export const FORMAT_VERSION = 2; // what wn-export writes
export const METADATA_PREFIX = "wavenet_edge.";
export const GRAPH_STEP = "step";
export const GRAPH_WINDOW = "window";
export const GRAPH_KINDS = Object.freeze([GRAPH_STEP, GRAPH_WINDOW]);
export const INPUT_TOKENS = "tokens";
export const INPUT_STATE = "state"; // format 1
export const OUTPUT_LOGITS = "logits";
export const OUTPUT_STATE = "next_state"; // format 1

/** Step graph input (format 2): layer `layer`'s input from `dilation` steps ago. @param {number} layer */
export const oldestName = (layer) => `oldest_${layer}`;
/** Step graph output (format 2): layer `layer`'s input at this step. @param {number} layer */
export const newestName = (layer) => `newest_${layer}`;

/**
 * @typedef {import("./config.js").ModelConfig} ModelConfig
 * @typedef {{ name: string, dtype: string, shape: (string | number)[] }} TensorSpec
 * @typedef {{ inputs: TensorSpec[], outputs: TensorSpec[], [key: string]: any }} GraphIO
 * @typedef {{
 *   formatVersion: number, graph: "step" | "window", config: ModelConfig, vocab: Vocab,
 *   receptiveField: number, io: GraphIO, metrics: Record<string, any>, data: Record<string, any>,
 *   packageVersion: string, parameters: number, stateSize: number, initialState: Float32Array | null
 * }} ModelMetadata
 */

/**
 * Where each wavenet layer's queue lives in the flat step-graph state (offsets in floats).
 * @param {ModelConfig} config
 */
export function stateLayout(config) {
  let offset = 0;
  return layerDilations(config).map((dilation, layer) => {
    const size = dilation * config.channels;
    const entry = { layer, dilation, offset, size };
    offset += size;
    return entry;
  });
}

/**
 * Names, dtypes and shapes of a graph's inputs and outputs ("batch" is the dynamic axis), as io_description
 * in Python: what `wavenet_edge.io` must hold.
 * @param {ModelConfig} config @param {string} graph @param {number} [version]
 * @returns {GraphIO}
 */
export function ioDescription(config, graph, version = FORMAT_VERSION) {
  const vocab = config.vocab_size;
  if (graph === GRAPH_STEP && version >= 2) {
    const c = config.channels;
    const layout = stateLayout(config);
    return {
      inputs: [{ name: INPUT_TOKENS, dtype: "int64", shape: ["batch"] },
        ...layout.map((e) => ({ name: oldestName(e.layer), dtype: "float32", shape: ["batch", c] }))],
      outputs: [{ name: OUTPUT_LOGITS, dtype: "float32", shape: ["batch", vocab] },
        ...layout.map((e) => ({ name: newestName(e.layer), dtype: "float32", shape: ["batch", c] }))],
      queues: layout.map((e) => ({ ...e, input: oldestName(e.layer), output: newestName(e.layer) })),
    };
  }
  if (graph === GRAPH_STEP) {
    const size = layerDilations(config).reduce((sum, d) => sum + d, 0) * config.channels;
    return {
      inputs: [{ name: INPUT_TOKENS, dtype: "int64", shape: ["batch"] },
        { name: INPUT_STATE, dtype: "float32", shape: ["batch", size] }],
      outputs: [{ name: OUTPUT_LOGITS, dtype: "float32", shape: ["batch", vocab] },
        { name: OUTPUT_STATE, dtype: "float32", shape: ["batch", size] }],
      state_layout: stateLayout(config),
    };
  }
  return {
    inputs: [{ name: INPUT_TOKENS, dtype: "int64", shape: ["batch", receptiveField(config)] }],
    outputs: [{ name: OUTPUT_LOGITS, dtype: "float32", shape: ["batch", vocab] }],
  };
}

/** A metadata field of the wrong type or value (worded by parseMetadata). */
class BadField extends Error {}

/** The first 40 characters of `text` (Python's text[:40]). @param {string} text */
const head40 = (text) => [...text].slice(0, 40).join("");

/**
 * The JSON object of metadata field `key` (a loads() Map).
 * @param {Map<string, string>} fields @param {string} key @param {string} [fallback]
 */
function jsonObject(fields, key, fallback) {
  const text = fields.get(key) ?? fallback;
  if (text === undefined) throw new BadField(`metadata wavenet_edge.${key} is missing`);
  let value;
  try {
    value = loads(text);
  } catch {
    throw new BadField(`metadata wavenet_edge.${key} is not valid JSON`);
  }
  if (!(value instanceof Map)) {
    throw new BadField(`metadata wavenet_edge.${key} must be a JSON object, got ${pyTypeName(value)}: ${head40(text)}`);
  }
  return value;
}

/**
 * A non-negative integer metadata field written in decimal digits.
 * @param {Map<string, string>} fields @param {string} key
 */
function count(fields, key) {
  const text = fields.get(key) ?? "0";
  if (!/^[0-9]+$/.test(text)) {
    throw new BadField(`metadata wavenet_edge.${key} must be a non-negative integer, got ${pyRepr(head40(text))}`);
  }
  return BigInt(text);
}

/**
 * Python's int() of a format version: digits with an optional sign, underscores between digits, spaces around.
 * @param {string | undefined} text
 * @returns {bigint | null}
 */
function pyInt(text) {
  const t = (text ?? "").trim();
  return /^[+-]?[0-9]+(_[0-9]+)*$/.test(t) ? BigInt(t.replaceAll("_", "")) : null;
}

/**
 * Base64 as Python's b64decode(text, validate=True) reads it; null where it raises.
 * @param {string} text
 * @returns {Uint8Array | null}
 */
function base64Bytes(text) {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Parse and validate `metadata_props`, as ModelMetadata.from_props in runtime/contract.py: the same checks in
 * the same order, ModelFileError in the same words.
 * @param {Record<string, string>} props
 * @param {string} [where]
 * @returns {ModelMetadata}
 */
export function parseMetadata(props, where = "model") {
  /** @type {Map<string, string>} */
  const ours = new Map();
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith(METADATA_PREFIX)) ours.set(key.slice(METADATA_PREFIX.length), value);
  }
  if (!ours.size) throw new ModelFileError(`${where}: not a wavenet-edge model (no wavenet_edge.* metadata)`);
  const bigVersion = pyInt(ours.get("format_version"));
  if (bigVersion === null) throw new ModelFileError(`${where}: missing or malformed wavenet_edge.format_version`);
  const version = Number(bigVersion);
  if (!FORMAT_VERSIONS.some((v) => BigInt(v) === bigVersion)) {
    throw new ModelFileError(
      `${where}: unsupported format version ${bigVersion} (this runtime reads versions ${FORMAT_VERSIONS.join(", ")})`,
    );
  }
  for (const key of ["graph", "config", "vocab"]) {
    if (!ours.has(key)) throw new ModelFileError(`${where}: metadata wavenet_edge.${key} is missing`);
  }
  const graph = /** @type {string} */ (ours.get("graph"));
  if (!GRAPH_KINDS.includes(graph)) {
    throw new ModelFileError(`${where}: unknown graph kind ${pyRepr(graph)} (expected step or window)`);
  }
  let config;
  let vocab;
  try {
    config = configFromDict(jsonObject(ours, "config"));
    vocab = Vocab.fromDict(jsonObject(ours, "vocab"));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof VocabError) {
      throw new ModelFileError(`${where}: malformed wavenet_edge metadata: ${err.message}`);
    }
    if (err instanceof BadField) throw new ModelFileError(`${where}: ${err.message}`);
    throw err;
  }
  const field = receptiveField(config);
  const io = ioDescription(config, graph, version);
  let metrics;
  let data;
  let parameters;
  try {
    metrics = jsonObject(ours, "metrics", "{}");
    data = jsonObject(ours, "data", "{}");
    parameters = count(ours, "parameters");
    if (ours.has("receptive_field") && count(ours, "receptive_field") !== BigInt(field)) {
      throw new BadField(`metadata wavenet_edge.receptive_field ${ours.get("receptive_field")} does not match the `
        + `config's ${field}`);
    }
    if (ours.has("io") && !pyEquals(jsonObject(ours, "io"), io)) {
      throw new BadField("metadata wavenet_edge.io does not match the config (the graph's inputs, outputs and state "
        + "layout follow from it)");
    }
  } catch (err) {
    if (err instanceof BadField) throw new ModelFileError(`${where}: ${err.message}`);
    throw err;
  }
  if (vocab.size !== config.vocab_size) {
    throw new ModelFileError(
      `${where}: vocabulary of ${vocab.size} ids does not match config vocab_size ${config.vocab_size}`,
    );
  }
  if (graph === GRAPH_STEP && config.arch !== "wavenet") {
    throw new ModelFileError(`${where}: a step graph needs the wavenet architecture, not ${pyRepr(config.arch)}`);
  }
  const stateSize = graph === GRAPH_STEP ? layerDilations(config).reduce((sum, d) => sum + d, 0) * config.channels : 0;
  const meta = {
    formatVersion: version,
    graph: /** @type {"step" | "window"} */ (graph),
    config,
    vocab,
    receptiveField: field,
    io,
    metrics: toPlain(metrics),
    data: toPlain(data),
    packageVersion: ours.get("package_version") ?? "unknown",
    parameters: Number(parameters),
    stateSize,
    initialState: /** @type {Float32Array | null} */ (null),
  };
  if (graph === GRAPH_STEP) meta.initialState = initialState(ours.get("initial_state"), stateSize, where);
  return meta;
}

/**
 * The step graph's start state from `wavenet_edge.initial_state` (base64 of float32 little-endian).
 * @param {string | undefined} text @param {number} stateSize @param {string} where
 */
function initialState(text, stateSize, where) {
  const raw = text === undefined ? null : base64Bytes(text);
  if (raw === null) throw new ModelFileError(`${where}: metadata wavenet_edge.initial_state is missing or malformed`);
  if (raw.length % 4) {
    throw new ModelFileError(`${where}: metadata wavenet_edge.initial_state holds ${raw.length} bytes, not a whole `
      + "number of float32 values");
  }
  if (raw.length / 4 !== stateSize) {
    throw new ModelFileError(`${where}: initial state holds ${raw.length / 4} values, the config needs ${stateSize}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const state = new Float32Array(stateSize);
  for (let i = 0; i < state.length; i++) state[i] = view.getFloat32(4 * i, true);
  if (!state.every(Number.isFinite)) {
    throw new ModelFileError(`${where}: metadata wavenet_edge.initial_state holds NaN or infinite values`);
  }
  return state;
}
