/**
 * Batched autoregressive generation (the twin of runtime/generation.py): every row advances one token per
 * graph call, finished rows are refilled with the next names, names come out in index order.
 *
 *     const request = checkRequest({ n: 100, seed: 0, maxLen: 32 });
 *     for await (const name of generateStream(runner, vocab, request)) ...
 *
 * Determinism: name i's characters depend only on (seed, i) and the model's logits for that row, so the
 * same seed gives the same names whatever the batch size, and the same names as the Python runtime.
 */
import { WavenetEdgeError, pyRepr } from "./errors.js";
import { UniformSource, checkSampling, makeSampler, seedBigInt } from "./sampling.js";
import { BOUNDARY_ID } from "./vocab.js";

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_PATIENCE = 1000; // unique/exclude: give up after this many rejected samples in a row

/**
 * @typedef {import("./sampling.js").SamplingParams} SamplingParams
 * @typedef {{ n: number | null, seed: bigint, prefix: string, maxLen: number, batchSize: number,
 *             sampling: SamplingParams }} GenerationRequest
 */

/** @param {unknown} value */
const isPositiveInt = (value) => Number.isSafeInteger(value) && /** @type {number} */ (value) >= 1;

/**
 * `n` must be a positive integer or null (endless); WavenetEdgeError otherwise.
 * @param {unknown} n
 */
export function checkCount(n) {
  if (n !== null && !isPositiveInt(n)) throw new WavenetEdgeError(`n must be a positive integer, got ${n}`);
}

/**
 * A validated request; WavenetEdgeError words the first bad value as the Python runtime does.
 * @param {{ n?: number | null, seed?: number | bigint | string, prefix?: string, maxLen: number,
 *           batchSize?: number, temperature?: number, topK?: number | null, topP?: number | null }} options
 * @returns {GenerationRequest}
 */
export function checkRequest({ n = 1, seed = 0, prefix = "", maxLen, batchSize = DEFAULT_BATCH_SIZE, ...sampling }) {
  const params = checkSampling(sampling);
  checkCount(n);
  let seedValue;
  try {
    seedValue = seedBigInt(seed);
  } catch {
    throw new WavenetEdgeError(`seed must be an integer, got ${typeof seed === "string" ? pyRepr(seed) : String(seed)}`);
  }
  if (!isPositiveInt(maxLen)) throw new WavenetEdgeError(`max-len must be a positive integer, got ${maxLen}`);
  const length = [...prefix].length;
  if (length > maxLen) {
    throw new WavenetEdgeError(`max-len ${maxLen} is below the length of prefix ${pyRepr(prefix)} (${length})`);
  }
  if (!isPositiveInt(batchSize)) throw new WavenetEdgeError(`batch size must be a positive integer, got ${batchSize}`);
  return { n, seed: seedValue, prefix, maxLen, batchSize, sampling: params };
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
 * Names 0, 1, 2, ... in index order, each as soon as it and every name before it are finished. A name
 * includes the prefix and has at most maxLen characters (then the end token is forced).
 * @param {any} runner a StepRunner or WindowRunner
 * @param {import("./vocab.js").Vocab} vocab
 * @param {GenerationRequest} request
 * @returns {AsyncGenerator<string>}
 */
export async function* generateStream(runner, vocab, request) {
  const prefixIds = encodePrefix(vocab, request.prefix);
  const total = request.n; // null: endless
  const room = request.maxLen - prefixIds.length; // characters a row may add; then the end token is forced
  const span = room + 1; // positions a row can live through
  const V = vocab.size;
  const chars = ["", ...vocab.chars]; // id -> character
  const { state: startState, token: startToken } = await prefixTemplate(runner, prefixIds);
  const draw = makeSampler(request.sampling, V);
  const source = new UniformSource(request.seed, span);

  let width = total === null ? request.batchSize : Math.min(request.batchSize, total);
  const rows = runner.rows(startState, startToken, width);
  let uniforms = new Float64Array(width * span); // row r's position p draws with uniforms[r * span + p]
  for (let r = 0; r < width; r++) source.fill(uniforms, r * span);
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
      const token = p >= room ? BOUNDARY_ID : draw(logits, r * V, uniforms[r * span + p]);
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
        source.fill(uniforms, r * span);
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
        const u = new Float64Array(width * span);
        kept.forEach((r, w) => u.set(uniforms.subarray(r * span, (r + 1) * span), w * span));
        uniforms = u;
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

