/**
 * WavenetModel: an exported wavenet-edge .onnx file on an onnxruntime session that the app hands in
 * (the twin of runtime/model.py). One code base for onnxruntime-node and onnxruntime-web.
 *
 *     import * as ort from "onnxruntime-node";            // or "onnxruntime-web"
 *     const model = await loadModel("models/wavenet.onnx", { ort, threads: 1 });
 *     model.metadata.parameters, model.metadata.metrics.val_loss
 *     for await (const name of model.generate(5, { seed: 1, temperature: 0.8 })) console.log(name);
 *     (await model.score(["emma", "olivia"])).nllPerChar
 */
import { DEFAULT_MAX_NODES, complete } from "./complete.js";
import { accepts, checkConstraints, constrain, defaultBudget, isActive, tooRare } from "./constraints.js";
import { parseMetadata } from "./contract.js";
import { ModelFileError, WavenetEdgeError, firstLine, notA, pyRepr, shown } from "./errors.js";
import {
  DEFAULT_BATCH_SIZE, DEFAULT_PATIENCE, checkCount, checkFilter, checkLength, checkRequest, encodePrefix, filterNames,
  generateStream,
} from "./generation.js";
import { checkGraph, checkIo } from "./graph_check.js";
import { makeRunner } from "./graphs.js";
import { readOnnxProps } from "./modelfile.js";
import { checkSampling } from "./sampling.js";
import { score } from "./scoring.js";
import { shippedNameOf } from "./shipped.js";

/**
 * @typedef {import("./contract.js").ModelMetadata} ModelMetadata
 * @typedef {{ ort: any, threads?: number, executionProviders?: any[], sessionOptions?: Record<string, any>,
 *             name?: string }} LoadOptions
 * @typedef {{ seed?: number | bigint | string, temperature?: number, topK?: number | null,
 *             topP?: number | null, prefix?: string, maxLen?: number, unique?: boolean,
 *             exclude?: Iterable<string> | null, batchSize?: number, patience?: number, minLen?: number,
 *             suffix?: string, contains?: string, maxSamples?: number, allowEmpty?: boolean }} GenerateOptions
 * @typedef {{ maxLen?: number, maxNodes?: number }} CompleteOptions
 */

const isNode = typeof process !== "undefined" && !!process.versions?.node;
export const MAX_THREADS = 1024; // as WavenetModel.load in Python (runtime/model.py)
export const GENERATE_OPTIONS = Object.freeze(["seed", "temperature", "topK", "topP", "prefix", "maxLen", "unique",
  "exclude", "batchSize", "patience", "minLen", "suffix", "contains", "maxSamples", "allowEmpty"]);
export const COMPLETE_OPTIONS = Object.freeze(["maxLen", "maxNodes"]);
export const LOAD_OPTIONS = Object.freeze(["ort", "threads", "executionProviders", "sessionOptions", "name"]);
/**
 * The session options of the Python runtime (runtime/providers.py make_session_options): all graph
 * optimizations, sequential, errors only, and `session.disable_quant_qdq`: int8 files of the older
 * DequantizeLinear form then have those nodes folded into float weights at load, as in Python (else
 * onnxruntime fuses them into int8 kernels whose logits differ: 16 of 200 names at seed 1 differed).
 * wn-export's int8 files (Cast + Mul) need no entry.
 */
export const SESSION_OPTIONS = Object.freeze({
  graphOptimizationLevel: "all", executionMode: "sequential", logSeverityLevel: 3,
  extra: Object.freeze({ session: Object.freeze({ disable_quant_qdq: "1" }) }),
});

/**
 * Refuse option keys that a function does not know (a typo would be ignored otherwise).
 * @param {unknown} options @param {readonly string[]} known @param {string} what
 */
export function checkKeys(options, known, what) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new WavenetEdgeError(`${what} options must be an object, got ${notA(options, "an object")}`);
  }
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length) {
    throw new WavenetEdgeError(`${what}: unknown option${unknown.length > 1 ? "s" : ""} `
      + `${unknown.map(shown).join(", ")} (known options: ${known.join(", ")})`);
  }
}

/**
 * A yes/no option must be a boolean (a string such as "no" would be true).
 * @param {string} name @param {unknown} value
 */
function checkFlag(name, value) {
  if (typeof value !== "boolean") throw new WavenetEdgeError(`${name} must be true or false, got ${notA(value, "a boolean")}`);
}

/** A number as given, or what it is when it is not one. @param {unknown} value */
const shownNumber = (value) => (typeof value === "number" ? String(value) : notA(value));

/**
 * The first `n` items of `stream`.
 * @param {AsyncIterable<string>} stream @param {number} n
 * @returns {AsyncGenerator<string>}
 */
async function* take(stream, n) {
  if (n < 1) return;
  let count = 0;
  for await (const item of stream) {
    yield item;
    if (++count >= n) return;
  }
}

/**
 * The first request.n names of the seed that satisfy `constraints`: names 0..n-1 first, then only as many
 * more as were dropped (as WavenetModel._topped_up in runtime/model.py).
 * @param {any} runner @param {import("./vocab.js").Vocab} vocab
 * @param {import("./generation.js").GenerationRequest} request
 * @param {import("./constraints.js").NameConstraints} constraints @param {number} budget
 * @returns {AsyncGenerator<string>}
 */
async function* toppedUp(runner, vocab, request, constraints, budget) {
  const wanted = /** @type {number} */ (request.n);
  let found = 0;
  let drawn = 0;
  while (found < wanted) {
    if (drawn >= budget) throw tooRare(constraints, found, drawn, wanted);
    const part = { ...request, n: Math.min(wanted - found, budget - drawn), offset: drawn };
    for await (const name of generateStream(runner, vocab, part)) {
      if (accepts(constraints, name)) {
        found++;
        yield name;
      }
    }
    drawn += part.n;
  }
}

/** @param {string} source */
const looksLikeUrl = (source) => /^(https?|file|blob|data):/i.test(source);

/**
 * The bytes of a path (Node), a URL (fetch) or bytes as given; ModelFileError in one line.
 * @param {string | URL | Uint8Array | ArrayBuffer} source
 * @param {string} [name] what to call it in messages (default: the path or URL)
 * @returns {Promise<[Uint8Array, string]>} bytes and what to call them in messages
 */
async function readSource(source, name) {
  if (source instanceof Uint8Array) return [source, name ?? "model bytes"];
  if (source instanceof ArrayBuffer) return [new Uint8Array(source), name ?? "model bytes"];
  const where = name ?? String(source);
  if (isNode && (typeof source === "string" && !looksLikeUrl(source) || source instanceof URL && source.protocol === "file:")) {
    const { readFile } = await import("#read-file"); // node:fs/promises in Node; package.json "imports"
    try {
      return [new Uint8Array(await readFile(source)), where];
    } catch (err) {
      const code = /** @type {any} */ (err).code;
      if (code === "ENOENT") throw new ModelFileError(`${where}: no such file`);
      if (code === "EISDIR") throw new ModelFileError(`${where}: is a directory, not an .onnx file`);
      throw new ModelFileError(`${where}: cannot read: ${/** @type {Error} */ (err).message}`);
    }
  }
  let response;
  try {
    response = await fetch(source);
  } catch (err) {
    throw new ModelFileError(`${where}: cannot fetch: ${/** @type {Error} */ (err).message}`);
  }
  if (!response.ok) {
    const shipped = shippedNameOf(source);
    const hint = shipped === null ? "" : ` (shippedModel(${pyRepr(shipped)}) points next to wavenet-edge's modules, `
      + "where this app does not serve the model file: import the file's URL instead, as the README's section "
      + "\"Bundlers\" shows)";
    throw new ModelFileError(`${where}: HTTP ${response.status} ${response.statusText}`.trimEnd() + hint);
  }
  return [new Uint8Array(await response.arrayBuffer()), where];
}

/** An exported wavenet-edge model on an onnxruntime session. Build it with `loadModel`. */
export class WavenetModel {
  /** @param {any} session @param {ModelMetadata} metadata @param {any} runner @param {string} source */
  constructor(session, metadata, runner, source) {
    this.session = session;
    /** @type {ModelMetadata} */
    this.metadata = metadata;
    this.runner = runner;
    this.source = source;
  }

  /** "step" or "window". */
  get graph() {
    return this.metadata.graph;
  }

  /**
   * Names in a deterministic order, each yielded as soon as it and those before it are done: the same
   * names as the Python runtime's `iter_generate` for the same options, whatever `batchSize`. `n` null is
   * an endless stream (not with unique/exclude). Options are validated before the first name is asked for.
   *
   * Constraints (constraints.js), exact: every name is a draw from the model restricted to names of
   * minLen..maxLen characters (maxLen default: the model's config.max_len; a longer name is not produced,
   * never cut) that end with `suffix` and contain `contains`; the draws that fail are skipped, so the
   * names for a seed keep their order. ConstraintError, naming the acceptance rate, when `maxSamples`
   * draws (default max(100,000, 1,000 n)) give fewer than n names.
   *
   * An empty name (the model ending at once) is not a name: it is skipped and the next one drawn, as
   * wn-generate does, so the names for a seed are the command's; `allowEmpty: true` gives the raw draws.
   * @param {number | null} n
   * @param {GenerateOptions} [options]
   * @returns {AsyncGenerator<string>}
   */
  generate(n, options = {}) {
    this.#checkOpen("generate");
    checkKeys(options, GENERATE_OPTIONS, "generate");
    const { unique = false, exclude = null, patience = DEFAULT_PATIENCE, maxLen, batchSize = DEFAULT_BATCH_SIZE,
      minLen = 0, suffix = "", contains = "", maxSamples, allowEmpty = false, ...rest } = /** @type {GenerateOptions} */ (options);
    checkFlag("unique", unique);
    checkFlag("allowEmpty", allowEmpty);
    const filtering = unique || (exclude !== null && exclude !== undefined);
    if (filtering && n === null) throw new WavenetEdgeError("unique/exclude need a number of names n");
    checkSampling(rest); // in Python's order: the sampling options, n, then the rest of the request
    checkCount(n);
    const limit = maxLen ?? this.metadata.config.max_len;
    checkLength(rest.prefix ?? "", limit); // max-len against the prefix, as given
    const constraints = { ...checkConstraints({ maxLen: limit, minLen, suffix, contains }), nonEmpty: !allowEmpty };
    const budget = maxSamples ?? defaultBudget(n);
    if (!Number.isSafeInteger(budget) || budget < 1) {
      throw new WavenetEdgeError(`max_samples must be a positive integer, got ${shownNumber(maxSamples)}`);
    }
    const request = checkRequest({ // room for one character more: a name that takes it is over the limit, dropped
      n: filtering || isActive(constraints) ? null : n, maxLen: limit + 1, batchSize, ...rest,
    });
    if (filtering) checkFilter(exclude, patience);
    const vocab = this.metadata.vocab;
    encodePrefix(vocab, request.prefix);
    for (const [option, text] of [["suffix", suffix], ["contains", contains]]) {
      const unknown = vocab.unknownChars(text);
      if (unknown.length) {
        throw new WavenetEdgeError(`${option} ${pyRepr(text)}: characters not in the model's vocabulary: `
          + `${pyRepr(unknown.join(""))} (allowed: ${pyRepr(vocab.chars.join(""))})`);
      }
    }
    let stream;
    if (request.n === null) {
      stream = constrain(generateStream(this.runner, vocab, request), constraints, n, budget);
      if (n !== null && !filtering) stream = take(stream, n);
    } else { // n names: generate n, then as many more as were over maxLen, and so on
      stream = toppedUp(this.runner, vocab, request, constraints, budget);
    }
    return filtering ? filterNames(stream, /** @type {number} */ (n), { unique, exclude, patience }) : stream;
  }

  /**
   * The k most probable complete names that start with `prefix` (end token included, at most maxLen
   * characters, default the model's max_len), most probable first, ties by name: exact, by a best-first
   * search (complete.js), the Python runtime's list. Each has .name, .probability and .logprob.
   * CompletionError after expanding `maxNodes` partial names without k completions.
   * @param {string} [prefix] @param {number} [k] @param {CompleteOptions} [options]
   * @returns {Promise<import("./complete.js").Completion[]>}
   */
  async complete(prefix = "", k = 10, options = {}) {
    this.#checkOpen("complete");
    checkKeys(options, COMPLETE_OPTIONS, "complete");
    const { maxLen, maxNodes = DEFAULT_MAX_NODES } = options;
    const limit = maxLen ?? this.metadata.config.max_len;
    return complete(this.runner, this.metadata.vocab, prefix, { k, maxLen: limit, maxNodes });
  }

  /**
   * Log-probability of every item and the mean NLL per character (end token included), float64.
   * @param {Iterable<string>} items
   */
  async score(items) {
    this.#checkOpen("score");
    if (typeof items === "string") { // a string is iterable: it would score its letters as items
      throw new WavenetEdgeError(`score needs a list of items, got the string ${pyRepr(items)} (wrap it: [${pyRepr(items)}])`);
    }
    if (items === null || typeof items !== "object" || typeof /** @type {any} */ (items)[Symbol.iterator] !== "function") {
      throw new WavenetEdgeError(`score needs a list of items, got ${notA(items, "an iterable")}`);
    }
    const list = [...items];
    list.forEach((item, i) => {
      if (typeof item !== "string") throw new WavenetEdgeError(`item ${i + 1} must be a string, got ${notA(item, "a string")}`);
    });
    return score(this.runner, this.metadata.vocab, list);
  }

  /**
   * Release the onnxruntime session (its memory, native or wasm). The model is unusable afterwards: a later
   * generate, complete or score throws WavenetEdgeError. Closing twice does nothing.
   * @returns {Promise<void>}
   */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    const session = this.session;
    this.session = null;
    this.runner = null;
    await session?.release?.();
  }

  /** Whether close() has released the session. */
  get closed() {
    return this.#closed;
  }

  #closed = false;

  /** @param {string} what */
  #checkOpen(what) {
    if (this.#closed) throw new WavenetEdgeError(`${what}: the model is closed (model.close() released its session)`);
  }
}

/**
 * Python's full provider names (runtime/providers.py SHORT_NAMES) as onnxruntime-js names them, so that
 * `executionProviders` takes either ("CUDAExecutionProvider" or "cuda"), in any letter case.
 */
const FULL_PROVIDER_NAMES = Object.freeze({
  cpuexecutionprovider: "cpu", cudaexecutionprovider: "cuda", tensorrtexecutionprovider: "tensorrt",
  dmlexecutionprovider: "dml", coremlexecutionprovider: "coreml", webgpuexecutionprovider: "webgpu",
  qnnexecutionprovider: "qnn", xnnpackexecutionprovider: "xnnpack", nnapiexecutionprovider: "nnapi",
  webnnexecutionprovider: "webnn", openvinoexecutionprovider: "openvino", rocmexecutionprovider: "rocm",
  migraphxexecutionprovider: "migraphx",
});

/** @param {string} name */
const jsProviderName = (name) => /** @type {Record<string, string>} */ (FULL_PROVIDER_NAMES)[name.toLowerCase()]
  ?? name.toLowerCase();

/**
 * The execution providers' names (a string or `{ name, ... }` each), as onnxruntime-js names them (a full
 * name or another letter case taken too); WavenetEdgeError for a name that this onnxruntime build does not
 * have, where the build lists its own (onnxruntime-node's listSupportedBackends).
 * @param {any} ort @param {unknown} providers
 * @returns {string[]}
 */
function checkProviders(ort, providers) {
  if (!Array.isArray(providers)) {
    throw new WavenetEdgeError(`executionProviders must be an array of provider names, got ${notA(providers, "an array")}`);
  }
  const given = providers.map((p) => (typeof p === "string" ? p : p?.name));
  for (const name of given) {
    if (typeof name !== "string") {
      throw new WavenetEdgeError(`executionProviders: each must be a name or { name, ... }, got ${notA(name, "a string")}`);
    }
  }
  const names = given.map((name) => jsProviderName(/** @type {string} */ (name)));
  /** @type {{ name: string }[] | null} */
  let listed = null;
  try {
    listed = typeof ort.listSupportedBackends === "function" ? ort.listSupportedBackends() : null;
  } catch {
    listed = null;
  }
  if (Array.isArray(listed)) {
    const known = listed.map((b) => b.name);
    for (const name of names) {
      if (!known.includes(name)) {
        throw new WavenetEdgeError(`execution provider ${pyRepr(given[names.indexOf(name)])} is not available here; this onnxruntime `
          + `build has: ${known.join(", ")}`);
      }
    }
  }
  return names;
}

/**
 * One line for a session that onnxruntime could not create: a wasm file it could not fetch, a provider it
 * lacks or cannot load, or (ModelFileError) a model it refuses.
 * @param {any} ort @param {unknown} err @param {string} where @param {string[]} providers
 */
function sessionFailure(ort, err, where, providers) {
  const detail = firstLine(err);
  const paths = ort.env?.wasm?.wasmPaths;
  if (/\[wasm\]/.test(detail) && /fetch|initWasm|URL/i.test(detail)) {
    const tried = typeof paths === "string" ? `${paths}ort-wasm-simd-threaded*.wasm`
      : paths && typeof paths === "object" && paths.wasm ? String(paths.wasm)
        : "the folder of the onnxruntime-web script (ort.env.wasm.wasmPaths is not set)";
    return new WavenetEdgeError(`onnxruntime-web cannot fetch its .wasm file from ${tried}: serve the file from `
      + "node_modules/onnxruntime-web/dist/ and point ort.env.wasm.wasmPaths at it (README, \"Bundlers\")");
  }
  const missing = /\[(\w+)\] backend not found/.exec(detail);
  if (missing) return new WavenetEdgeError(`execution provider ${pyRepr(missing[1])} is not available here: not in this onnxruntime build`);
  const provider = providers.find((name) => name !== "cpu" && name !== "wasm" && detail.toLowerCase().includes(name.toLowerCase()));
  if (provider) {
    return new WavenetEdgeError(`execution provider ${pyRepr(provider)} is not available here: ${detail}`);
  }
  return new ModelFileError(`${where}: ONNX Runtime cannot load the model: ${detail}`);
}

/** What a model's methods say when called on the promise that loadModel returns. @param {string} what */
function notLoaded(what) {
  return () => {
    throw new WavenetEdgeError(`${what} was called on the promise that loadModel returns, before the model is `
      + "loaded: await it first (const model = await loadModel(...))");
  };
}

/**
 * Open and validate a wavenet-edge .onnx file. `source`: a path (Node), a URL, or the file's bytes.
 * `ort`: the onnxruntime module the app uses (onnxruntime-node or onnxruntime-web). `threads`: intra-op
 * threads (default: onnxruntime's choice). Throws ModelFileError in one line for a missing, foreign,
 * truncated or wrong-version file, or a graph that does not match its metadata.
 * @param {string | URL | Uint8Array | ArrayBuffer} source
 * @param {LoadOptions} options
 * @returns {Promise<WavenetModel>}
 */
export function loadModel(source, options = /** @type {any} */ ({})) {
  const loading = openModel(source, options);
  for (const method of ["generate", "complete", "score", "close"]) {
    Object.defineProperty(loading, method, { value: notLoaded(`${method}()`) });
  }
  for (const property of ["metadata", "graph", "session"]) {
    Object.defineProperty(loading, property, { get: notLoaded(property) });
  }
  return loading;
}

/**
 * loadModel's work. @param {string | URL | Uint8Array | ArrayBuffer} source @param {LoadOptions} options
 * @returns {Promise<WavenetModel>}
 */
async function openModel(source, options) {
  checkKeys(options, LOAD_OPTIONS, "loadModel");
  const { ort, threads, executionProviders, sessionOptions = {}, name } = options;
  if (!ort || typeof ort.InferenceSession?.create !== "function") {
    throw new WavenetEdgeError("loadModel needs { ort }: the onnxruntime-node or onnxruntime-web module");
  }
  const [bytes, where] = await readSource(source, name);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)) {
    throw new WavenetEdgeError(`threads must be an integer in 1..${MAX_THREADS}, got `
      + `${typeof threads === "number" ? threads : notA(threads)}`);
  }
  const providers = executionProviders === undefined ? [] : checkProviders(ort, executionProviders);
  const providerList = executionProviders?.map(/** @param {any} p @param {number} i */ (p, i) =>
    (typeof p === "string" ? providers[i] : { ...p, name: providers[i] }));
  const metadata = parseMetadata(readOnnxProps(bytes, where), where);
  const extra = /** @type {any} */ (sessionOptions).extra ?? {};
  const sessionSettings = {
    ...SESSION_OPTIONS,
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    ...(providerList ? { executionProviders: providerList } : {}),
    ...sessionOptions,
    extra: { ...extra, session: { ...SESSION_OPTIONS.extra.session, ...(extra.session ?? {}) } },
  };
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, sessionSettings);
  } catch (err) {
    throw sessionFailure(ort, err, where, providers);
  }
  checkIo(session, metadata, where);
  await checkGraph(ort, session, metadata, where); // widths and one step against the metadata
  return new WavenetModel(session, metadata, makeRunner(ort, session, metadata), where);
}
