/**
 * Batched autoregressive generation (the twin of runtime/generation.py): every row advances one token per
 * graph call, finished rows are refilled with the next names, names come out in index order.
 *
 *     const request = checkRequest({ n: 100, seed: 0, maxLen: 32 });
 *     for await (const name of generateStream(runner, vocab, request)) ...
 *
 * Determinism: name i's characters depend only on (seed, i) and the model's logits for that row, so the
 * same seed gives the same names whatever the batch size, and the same names as the Python runtime.
 *
 * Memory grows with what is produced, not with the limits: nothing is sized by maxLen (each row draws its
 * next uniform from a counter, RowUniforms), and the width is min(batchSize, n).
 */
import { WavenetEdgeError, notA, pyRepr } from "./errors.js";
import { RowUniforms, checkSampling, makeSampler, seedBigInt } from "./sampling.js";
import { BOUNDARY_ID } from "./vocab.js";

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_PATIENCE = 1000; // unique/exclude: give up after this many rejected samples in a row
export const MAX_BATCH_SIZE = 65536; // rows side by side (runtime/generation.py)

/**
 * @typedef {import("./sampling.js").SamplingParams} SamplingParams
 * @typedef {{ n: number | null, seed: bigint, prefix: string, maxLen: number, batchSize: number,
 *             sampling: SamplingParams, offset: number }} GenerationRequest
 * (offset: the stream's names are the seed's names offset, offset + 1, ..., with their own random numbers)
 */

/** @param {unknown} value */
const isPositiveInt = (value) => Number.isSafeInteger(value) && /** @type {number} */ (value) >= 1;

/** A number as given, or what it is when it is not one. @param {unknown} value */
const got = (value) => (typeof value === "number" ? String(value) : notA(value));

/**
 * `n` must be a positive integer or null (endless); WavenetEdgeError otherwise.
 * @param {unknown} n
 */
export function checkCount(n) {
  if (n !== null && !isPositiveInt(n)) throw new WavenetEdgeError(`n must be a positive integer, got ${got(n)}`);
}

/**
 * unique/exclude's own settings: `exclude` an iterable of names (or null), `patience` a positive integer.
 * @param {unknown} exclude @param {unknown} patience
 */
export function checkFilter(exclude, patience) {
  if (typeof exclude === "string") { // a string is iterable: it would exclude its letters
    throw new WavenetEdgeError(`exclude must be an iterable of names, got the string ${pyRepr(exclude)} `
      + `(wrap it: [${pyRepr(exclude)}])`);
  }
  if (exclude !== null && exclude !== undefined && typeof /** @type {any} */ (exclude)[Symbol.iterator] !== "function") {
    throw new WavenetEdgeError(`exclude must be an iterable of names (an array or a Set), got ${notA(exclude, "an iterable")}`);
  }
  if (!isPositiveInt(patience)) throw new WavenetEdgeError(`patience must be a positive integer, got ${got(patience)}`);
}

/**
 * `maxLen` a positive integer and `prefix` a string of at most maxLen characters (code points, as Python's
 * len); WavenetEdgeError otherwise.
 * @param {unknown} prefix @param {unknown} maxLen
 */
export function checkLength(prefix, maxLen) {
  if (!Number.isInteger(maxLen) || /** @type {number} */ (maxLen) < 1) {
    throw new WavenetEdgeError(`max-len must be a positive integer, got ${got(maxLen)}`);
  }
  if (typeof prefix !== "string") throw new WavenetEdgeError(`prefix must be a string, got ${notA(prefix, "a string")}`);
  const length = [...prefix].length;
  if (length > /** @type {number} */ (maxLen)) {
    throw new WavenetEdgeError(`max-len ${maxLen} is below the length of prefix ${pyRepr(prefix)} (${length})`);
  }
}

/**
 * A validated request; WavenetEdgeError words the first bad value as the Python runtime does.
 * @param {{ n?: number | null, seed?: number | bigint | string, prefix?: string, maxLen: number,
 *           batchSize?: number, offset?: number, temperature?: number, topK?: number | null,
 *           topP?: number | null }} options
 * @returns {GenerationRequest}
 */
export function checkRequest({ n = 1, seed = 0, prefix = "", maxLen, batchSize = DEFAULT_BATCH_SIZE, offset = 0,
  ...sampling }) {
  const params = checkSampling(sampling);
  checkCount(n);
  const seedValue = seedBigInt(seed);
  checkLength(prefix, maxLen);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new WavenetEdgeError(`batch size must be an integer in 1..${MAX_BATCH_SIZE}, got ${got(batchSize)}`);
  }
  return { n, seed: seedValue, prefix, maxLen, batchSize, sampling: params, offset };
}

/**
 * Token ids of `prefix`; WavenetEdgeError names the characters the model does not know.
 * @param {import("./vocab.js").Vocab} vocab @param {string} prefix
 */
export function encodePrefix(vocab, prefix) {
  try {
    return vocab.encode(prefix);
  } catch (err) {
    throw new WavenetEdgeError(`prefix ${pyRepr(prefix)}: ${/** @type {Error} */ (err).message}`);
  }
}

/**
 * State before the last prefix token and that token: the start of every row.
 * @param {any} runner @param {number[]} prefixIds
 */
async function prefixTemplate(runner, prefixIds) {
  let state = runner.initialState(1);
  let token = BOUNDARY_ID;
  for (const char of prefixIds) {
    ({ state } = await runner.advance(state, BigInt64Array.of(BigInt(token))));
    token = char;
  }
  return { state, token };
}

/**
 * Names offset, offset + 1, ... in index order, each as soon as it and every name before it are finished.
 * A name includes the prefix and has at most maxLen characters (then the end token is forced; the model
 * API asks for maxLen + 1 and drops the names that reach it, runtime/constraints.py).
 * @param {any} runner a StepRunner or WindowRunner
 * @param {import("./vocab.js").Vocab} vocab
 * @param {GenerationRequest} request
 * @returns {AsyncGenerator<string>}
 */
export async function* generateStream(runner, vocab, request) {
  const prefixIds = encodePrefix(vocab, request.prefix);
  const total = request.n; // null: endless
  const room = request.maxLen - prefixIds.length; // characters a row may add; then the end token is forced
  const V = vocab.size;
  const chars = ["", ...vocab.chars]; // id -> character
  const { state: startState, token: startToken } = await prefixTemplate(runner, prefixIds);
  const draw = makeSampler(request.sampling, V);

  let width = total === null ? request.batchSize : Math.min(request.batchSize, total);
  const rows = runner.rows(startState, startToken, width);
  const draws = new RowUniforms(request.seed, width); // row r's next uniform: draws.next(r)
  const offset = request.offset;
  for (let r = 0; r < width; r++) draws.start(r, offset + r);
  let index = Array.from({ length: width }, (_, r) => r); // name of each row
  let position = new Int32Array(width); // characters each row has added
  let texts = new Array(width).fill("");
  let started = width;
  /** @type {Map<number, string>} */
  const ready = new Map();
  let nextOut = 0;

  while (width) {
    const logits = await rows.step(); // [width * V]
    const tokens = rows.tokens;
    let dropped = 0;
    /** @type {boolean[] | null} */
    let keep = null;
    for (let r = 0; r < width; r++) {
      const p = position[r];
      const token = p >= room ? BOUNDARY_ID : draw(logits, r * V, draws.next(r));
      if (token !== BOUNDARY_ID) {
        tokens[r] = BigInt(token);
        texts[r] += chars[token];
        position[r] = p + 1;
        continue;
      }
      ready.set(index[r], request.prefix + texts[r]);
      if (total === null || started < total) { // refill the slot with the next name
        index[r] = started++;
        position[r] = 0;
        texts[r] = "";
        rows.reset(r);
        draws.start(r, offset + index[r]);
      } else {
        keep ??= new Array(width).fill(true);
        keep[r] = false;
        dropped++;
      }
    }
    if (keep) { // nothing left to start: drop the finished rows
      const kept = [];
      for (let r = 0; r < width; r++) if (keep[r]) kept.push(r);
      width -= dropped;
      if (width) {
        rows.keep(keep);
        draws.keep(kept);
        index = kept.map((r) => index[r]);
        position = Int32Array.from(kept, (r) => position[r]);
        texts = kept.map((r) => texts[r]);
      }
    }
    while (ready.has(nextOut)) {
      const name = /** @type {string} */ (ready.get(nextOut));
      ready.delete(nextOut++);
      yield name;
    }
  }
}

/**
 * The first `n` names of an endless `stream` that are not in `exclude` and, with `unique`, not seen
 * before. Gives up (WavenetEdgeError) after `patience` rejected names in a row.
 * @param {AsyncIterable<string>} stream @param {number} n
 * @param {{ unique?: boolean, exclude?: Iterable<string> | null, patience?: number }} [options]
 * @returns {AsyncGenerator<string>}
 */
export async function* filterNames(stream, n, { unique = false, exclude = null, patience = DEFAULT_PATIENCE } = {}) {
  const banned = new Set(exclude ?? []);
  let accepted = 0;
  let rejected = 0;
  for await (const name of stream) {
    if (banned.has(name)) {
      rejected++;
      if (rejected >= patience) {
        throw new WavenetEdgeError(
          `gave up after ${patience} samples in a row were duplicates or excluded: found ${accepted} of ${n} names `
          + "(try a higher temperature, a longer max-len, a shorter prefix or a smaller -n)",
        );
      }
      continue;
    }
    rejected = 0;
    if (unique) banned.add(name);
    yield name;
    accepted++;
    if (accepted >= n) return;
  }
}

