/**
 * Check a loaded graph against what its metadata says, before the first name is generated (the twin of
 * runtime/graph_check.py and of check_graph_shapes and _check_io in runtime/contract.py and model.py).
 *
 *     checkIo(session, metadata, "model.onnx");                 // input and output names and dtypes
 *     await checkGraph(ort, session, metadata, "model.onnx");   // widths, then one step of one row
 *
 * ModelFileError in one line, worded as in Python: a hand-edited file whose vocabulary, state or receptive
 * field disagrees with its graph is refused here, not turned into wrong names later.
 */
import {
  GRAPH_STEP, GRAPH_WINDOW, INPUT_STATE, INPUT_TOKENS, OUTPUT_LOGITS, OUTPUT_STATE, newestName, oldestName,
} from "./contract.js";
import { layerDilations } from "./config.js";
import { ModelFileError, firstLine, pyRepr } from "./errors.js";
import { BOUNDARY_ID } from "./vocab.js";

/**
 * @typedef {import("./contract.js").ModelMetadata} ModelMetadata
 * @typedef {{ name: string, type?: string, shape?: readonly (string | number)[] }} ValueInfo
 */

/** Python's repr() of a list of names or numbers. @param {(string | number)[]} items */
const pyList = (items) => `[${items.map((x) => (typeof x === "string" ? pyRepr(x) : String(x))).join(", ")}]`;

/**
 * What the session says about its inputs and outputs: name, dtype and shape where onnxruntime tells them
 * (onnxruntime-node >= 1.20: inputMetadata), else names only.
 * @param {any} session @param {"inputs" | "outputs"} kind
 * @returns {ValueInfo[]}
 */
function sessionValues(session, kind) {
  const names = kind === "inputs" ? session.inputNames : session.outputNames;
  const meta = kind === "inputs" ? session.inputMetadata : session.outputMetadata;
  return [...names].map((name, i) => (Array.isArray(meta) && meta[i]?.name === name ? meta[i] : { name }));
}

/**
 * The graph's input and output names and dtypes must be those the metadata promises (_check_io in Python).
 * @param {any} session @param {ModelMetadata} metadata @param {string} where
 */
export function checkIo(session, metadata, where) {
  for (const kind of /** @type {const} */ (["inputs", "outputs"])) {
    const want = metadata.io[kind];
    const got = sessionValues(session, kind);
    const same = got.length === want.length && got.every((arg, i) => arg.name === want[i].name
      && (arg.type === undefined || arg.type === want[i].dtype));
    if (!same) {
      throw new ModelFileError(`${where}: graph ${kind} ${pyList(got.map((a) => a.name))} do not match the `
        + `${metadata.graph} graph contract ${pyList(want.map((t) => t.name))}`);
    }
  }
}

/**
 * The widths that the graph declares for its inputs and outputs must be those the metadata implies: logits
 * vocab_size wide, the state state_size wide, each queue `channels` wide, the window receptive_field wide. A
 * width the graph leaves open is not checked here (one step checks it). As check_graph_shapes in Python.
 * @param {ModelMetadata} metadata @param {ValueInfo[]} values the graph's inputs and outputs
 * @param {string} where
 */
export function checkGraphShapes(metadata, values, where) {
  /** @type {Map<string, [number | null, string]>} name -> [width, what it counts] */
  const want = new Map([
    [INPUT_TOKENS, [metadata.graph === GRAPH_WINDOW ? metadata.receptiveField : null, "tokens per row (the receptive field)"]],
    [INPUT_STATE, [metadata.stateSize, "state floats per row"]],
    [OUTPUT_LOGITS, [metadata.config.vocab_size, "logits per row (the vocabulary size)"]],
    [OUTPUT_STATE, [metadata.stateSize, "state floats per row"]],
  ]);
  const layers = layerDilations(metadata.config).length; // format 2: one queue input and output per layer
  for (let layer = 0; layer < layers; layer++) {
    for (const name of [oldestName(layer), newestName(layer)]) {
      want.set(name, [metadata.config.channels, "queue floats per row (the channels)"]);
    }
  }
  for (const arg of values) {
    const shape = arg.shape ?? [];
    const width = shape.length > 1 ? shape[1] : null;
    const [expected, what] = want.get(arg.name) ?? [null, ""];
    if (expected !== null && Number.isInteger(width) && /** @type {number} */ (width) >= 0 && width !== expected) {
      throw new ModelFileError(`${where}: the graph's ${arg.name} has ${width} ${what}; the metadata says ${expected}`);
    }
  }
}

/**
 * The graph's declared widths (checkGraphShapes), then one step of one row from the metadata's start state,
 * whose outputs must have the shapes the metadata gives (check_graph in Python).
 * @param {any} ort @param {any} session @param {ModelMetadata} metadata @param {string} where
 */
export async function checkGraph(ort, session, metadata, where) {
  checkGraphShapes(metadata, [...sessionValues(session, "inputs"), ...sessionValues(session, "outputs")], where);
  const { config } = metadata;
  const tokens = (/** @type {number[]} */ shape, /** @type {number} */ size) =>
    new ort.Tensor("int64", new BigInt64Array(size).fill(BigInt(BOUNDARY_ID)), shape);
  /** @type {Record<string, any>} */
  let feeds;
  /** @type {[string, number[]][]} */
  let want;
  if (metadata.graph === GRAPH_STEP) {
    const state = /** @type {Float32Array} */ (metadata.initialState);
    if (metadata.formatVersion === 1) {
      feeds = { [INPUT_TOKENS]: tokens([1], 1), [INPUT_STATE]: new ort.Tensor("float32", state.slice(), [1, metadata.stateSize]) };
      want = [[OUTPUT_LOGITS, [1, config.vocab_size]], [OUTPUT_STATE, [1, metadata.stateSize]]];
    } else { // format 2: the queues' oldest vectors in, the newest out, [1, C] each
      const c = config.channels;
      feeds = { [INPUT_TOKENS]: tokens([1], 1) };
      want = [[OUTPUT_LOGITS, [1, config.vocab_size]]];
      for (const q of /** @type {any[]} */ (metadata.io.queues)) {
        feeds[q.input] = new ort.Tensor("float32", state.slice(q.offset, q.offset + c), [1, c]);
        want.push([q.output, [1, c]]);
      }
    }
  } else {
    feeds = { [INPUT_TOKENS]: tokens([1, metadata.receptiveField], metadata.receptiveField) };
    want = [[OUTPUT_LOGITS, [1, config.vocab_size]]];
  }
  let outputs;
  try {
    outputs = await session.run(feeds);
  } catch (err) {
    throw new ModelFileError(`${where}: the graph does not run one step as its metadata describes it: ${firstLine(err)}`);
  }
  for (const [name, shape] of want) {
    const dims = [...(outputs[name]?.dims ?? [])];
    if (dims.join(",") !== shape.join(",")) {
      throw new ModelFileError(`${where}: one step gives ${name} of shape ${pyList(dims)}; the metadata implies `
        + `${pyList(shape)}`);
    }
  }
}
