/**
 * The contract between `wn-export` and the runtimes (the twin of runtime/contract.py): the ONNX
 * `metadata_props` keys, read and validated into one ModelMetadata object.
 *
 *     const meta = parseMetadata(readOnnxProps(bytes, "m.onnx"), "m.onnx");
 *     meta.graph, meta.io.inputs[1].shape, meta.initialState   // everything the runtime needs
 *
 * The step graph's state is opaque: its size and the graph's input and output names come from
 * `wavenet_edge.io`, the start state from `wavenet_edge.initial_state`. Format 2 moves the per-layer queues
 * out of the graph (inputs oldest_l, outputs newest_l; `io.queues` gives each layer's offset and size in
 * the flat state): graphs.js keeps each queue as a ring of slots (RingRows). Nothing about the layout is
 * hard-coded here, so a new format version that keeps these keys needs only FORMAT_VERSIONS extended.
 */
import { ModelFileError, VocabError, pyRepr } from "./errors.js";
import { Vocab } from "./vocab.js";

/** The `wavenet_edge.format_version` values this runtime reads. */
export const FORMAT_VERSIONS = Object.freeze([1, 2]);
export const METADATA_PREFIX = "wavenet_edge.";
export const GRAPH_STEP = "step";
export const GRAPH_WINDOW = "window";
export const GRAPH_KINDS = Object.freeze([GRAPH_STEP, GRAPH_WINDOW]);

/**
 * @typedef {{ name: string, dtype: string, shape: (string | number)[] }} TensorSpec
 * @typedef {{ inputs: TensorSpec[], outputs: TensorSpec[], [key: string]: any }} GraphIO
 * @typedef {{
 *   formatVersion: number, graph: "step" | "window", config: Record<string, any>, vocab: Vocab,
 *   receptiveField: number, io: GraphIO, metrics: Record<string, any>, data: Record<string, any>,
 *   packageVersion: string, parameters: number, stateSize: number, initialState: Float32Array | null
 * }} ModelMetadata
 */

/**
 * @param {string} text
 * @param {string} key
 * @param {string} where
 */
function parseJson(text, key, where) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelFileError(`${where}: malformed wavenet_edge metadata: ${key}: ${/** @type {Error} */ (err).message}`);
  }
}

/**
 * @param {string} text base64
 * @returns {Uint8Array | null} null when malformed
 */
function base64Bytes(text) {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * @param {GraphIO} io
 * @param {string} graph
 * @param {string} where
 */
function checkIo(io, graph, where) {
  // format 2 step graphs: tokens and one queue input per layer in, logits and one queue output per layer out
  const layers = graph === GRAPH_STEP && io && Array.isArray(io.queues) ? io.queues.length : 1;
  const want = graph === GRAPH_STEP ? [1 + layers, 1 + layers] : [1, 1];
  const ok = io && Array.isArray(io.inputs) && Array.isArray(io.outputs) && io.inputs.length === want[0]
    && io.outputs.length === want[1] && [...io.inputs, ...io.outputs].every((t) => t && typeof t.name === "string"
      && Array.isArray(t.shape));
  if (!ok) throw new ModelFileError(`${where}: metadata wavenet_edge.io does not describe a ${graph} graph`);
}

/**
 * Parse and validate `metadata_props`; ModelFileError names what is missing or wrong.
 * @param {Record<string, string>} props
 * @param {string} [where]
 * @returns {ModelMetadata}
 */
export function parseMetadata(props, where = "model") {
  /** @type {Record<string, string>} */
  const ours = {};
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith(METADATA_PREFIX)) ours[key.slice(METADATA_PREFIX.length)] = value;
  }
  if (!Object.keys(ours).length) {
    throw new ModelFileError(`${where}: not a wavenet-edge model (no wavenet_edge.* metadata)`);
  }
  const versionText = (ours.format_version ?? "").trim();
  if (!/^[+-]?\d+$/.test(versionText)) {
    throw new ModelFileError(`${where}: missing or malformed wavenet_edge.format_version`);
  }
  const version = Number(versionText);
  if (!FORMAT_VERSIONS.includes(version)) {
    throw new ModelFileError(
      `${where}: unsupported format version ${version} (this runtime reads version ${FORMAT_VERSIONS.join(", ")})`,
    );
  }
  for (const key of ["graph", "config", "vocab", "io"]) {
    if (!(key in ours)) throw new ModelFileError(`${where}: metadata wavenet_edge.${key} is missing`);
  }
  const graph = ours.graph;
  if (!GRAPH_KINDS.includes(graph)) {
    throw new ModelFileError(`${where}: unknown graph kind ${pyRepr(graph)} (expected step or window)`);
  }
  const config = parseJson(ours.config, "config", where);
  if (config === null || typeof config !== "object" || !Number.isInteger(config.vocab_size)
    || !Number.isInteger(config.max_len) || config.max_len < 1) {
    throw new ModelFileError(`${where}: malformed wavenet_edge metadata: config needs vocab_size and max_len`);
  }
  let vocab;
  try {
    vocab = Vocab.fromDict(parseJson(ours.vocab, "vocab", where));
  } catch (err) {
    if (err instanceof VocabError) throw new ModelFileError(`${where}: malformed wavenet_edge metadata: ${err.message}`);
    throw err;
  }
  if (vocab.size !== config.vocab_size) {
    throw new ModelFileError(
      `${where}: vocabulary of ${vocab.size} ids does not match config vocab_size ${config.vocab_size}`,
    );
  }
  const io = parseJson(ours.io, "io", where);
  checkIo(io, graph, where);
  const receptiveField = Number(ours.receptive_field ?? io.inputs[0].shape[1]);
  const meta = {
    formatVersion: version,
    graph: /** @type {"step" | "window"} */ (graph),
    config,
    vocab,
    receptiveField,
    io,
    metrics: parseJson(ours.metrics ?? "{}", "metrics", where),
    data: parseJson(ours.data ?? "{}", "data", where),
    packageVersion: ours.package_version ?? "unknown",
    parameters: Number(ours.parameters ?? "0"),
    stateSize: 0,
    initialState: /** @type {Float32Array | null} */ (null),
  };
  if (graph === GRAPH_WINDOW) {
    if (!Number.isInteger(receptiveField) || receptiveField < 1) {
      throw new ModelFileError(`${where}: metadata wavenet_edge.receptive_field is missing or malformed`);
    }
    return meta;
  }
  // format 1: the state input's width; format 2: the queues' sizes (io.queues), kept here as one flat state
  const stateSize = Array.isArray(io.queues)
    ? io.queues.reduce((sum, q) => sum + (Number.isInteger(q.size) ? q.size : NaN), 0)
    : io.inputs[1].shape[1];
  if (!Number.isInteger(stateSize) || stateSize < 1) {
    throw new ModelFileError(`${where}: metadata wavenet_edge.io gives no state size`);
  }
  const raw = ours.initial_state === undefined ? null : base64Bytes(ours.initial_state);
  if (raw === null || raw.length % 4 !== 0) {
    throw new ModelFileError(`${where}: metadata wavenet_edge.initial_state is missing or malformed`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const state = new Float32Array(raw.length / 4);
  for (let i = 0; i < state.length; i++) state[i] = view.getFloat32(4 * i, true);
  if (state.length !== stateSize) {
    throw new ModelFileError(`${where}: initial state holds ${state.length} values, the config needs ${stateSize}`);
  }
  meta.stateSize = stateSize;
  meta.initialState = state;
  return meta;
}
