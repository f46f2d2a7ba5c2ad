/**
 * Log-probabilities of given items (the twin of runtime/scoring.py): mean NLL per character.
 *
 *     const { nllPerChar, logprobs } = await score(runner, vocab, ["emma", "olivia"]);
 *
 * Every item is scored as boundary, its characters, boundary: the targets are its characters and the end
 * token, each predicted from everything before it. Log-softmax and all sums are float64 (numpy's
 * pairwise sum for the total). Step graphs run over length-sorted batches that shrink as items end;
 * window graphs get the windows of a batch of items in one call.
 */
import { WavenetEdgeError, pyRepr } from "./errors.js";
import { WindowRunner } from "./graphs.js";
import { logSoftmaxAt, pairwiseSum } from "./sampling.js";
import { BOUNDARY_ID } from "./vocab.js";

export const STEP_BATCH = 1024; // items per step-graph batch
export const WINDOW_BATCH = 8192; // windows per window-graph call

/**
 * @typedef {{ logprobs: number[], nllPerChar: number, nItems: number, nChars: number }} ScoreResult
 */

/**
 * Token ids of every item; WavenetEdgeError names the first item (1-based) the model cannot encode.
 * @param {import("./vocab.js").Vocab} vocab @param {string[]} items
 */
export function encodeItems(vocab, items) {
  return items.map((item, i) => {
    try {
      return vocab.encode(item);
    } catch (err) {
      throw new WavenetEdgeError(`item ${i + 1} ${pyRepr(item)}: ${/** @type {Error} */ (err).message}`);
    }
  });
}

/** @param {any} runner @param {number[][]} encoded @param {number} V */
async function scoreStep(runner, encoded, V) {
  const order = encoded.map((_, i) => i).sort((a, b) => encoded[b].length - encoded[a].length || a - b);
  const logprobs = new Float64Array(encoded.length);
  const scratch = new Float64Array(V);
  const S = runner.stateSize;
  for (let start = 0; start < order.length; start += STEP_BATCH) {
    const chunk = order.slice(start, start + STEP_BATCH); // longest first: running rows are a prefix
    const steps = encoded[chunk[0]].length + 1;
    let state = runner.initialState(chunk.length);
    const total = new Float64Array(chunk.length);
    for (let t = 0; t < steps; t++) {
      let k = chunk.length;
      while (k > 0 && encoded[chunk[k - 1]].length + 1 <= t) k--;
      const tokens = BigInt64Array.from(chunk.slice(0, k), (item) => BigInt(t === 0 ? BOUNDARY_ID : encoded[item][t - 1]));
      let logits;
      ({ logits, state } = await runner.advance(state.subarray(0, k * S), tokens));
      for (let row = 0; row < k; row++) {
        const ids = encoded[chunk[row]];
        const target = t < ids.length ? ids[t] : BOUNDARY_ID;
        total[row] += logSoftmaxAt(logits, row * V, V, target, scratch);
      }
    }
    chunk.forEach((item, row) => { logprobs[item] = total[row]; });
  }
  return logprobs;
}

/** @param {WindowRunner} runner @param {number[][]} encoded @param {number} V */
async function scoreWindows(runner, encoded, V) {
  const R = runner.field;
  const logprobs = new Float64Array(encoded.length);
  const scratch = new Float64Array(V);
  let start = 0;
  while (start < encoded.length) {
    let stop = start;
    let count = 0;
    while (stop < encoded.length && (stop === start || count + encoded[stop].length + 1 <= WINDOW_BATCH)) {
      count += encoded[stop].length + 1;
      stop++;
    }
    const windows = new BigInt64Array(count * R);
    const targets = new Int32Array(count);
    const owner = new Int32Array(count);
    let w = 0;
    for (let item = start; item < stop; item++) {
      const padded = [...new Array(R).fill(BOUNDARY_ID), ...encoded[item], BOUNDARY_ID];
      for (let t = 0; t <= encoded[item].length; t++, w++) {
        for (let j = 0; j < R; j++) windows[w * R + j] = BigInt(padded[t + j]);
        targets[w] = padded[t + R];
        owner[w] = item;
      }
    }
    const logits = await runner.logits(windows, count);
    for (let i = 0; i < count; i++) logprobs[owner[i]] += logSoftmaxAt(logits, i * V, V, targets[i], scratch);
    start = stop;
  }
  return logprobs;
}

/**
 * Score `items` (strings of the model's characters) with the model behind `runner`.
 * @param {any} runner @param {import("./vocab.js").Vocab} vocab @param {string[]} items
 * @returns {Promise<ScoreResult>}
 */
export async function score(runner, vocab, items) {
  items = [...items];
  if (!items.length) throw new WavenetEdgeError("nothing to score: no items");
  const encoded = encodeItems(vocab, items);
  const logprobs = runner instanceof WindowRunner
    ? await scoreWindows(runner, encoded, vocab.size)
    : await scoreStep(runner, encoded, vocab.size);
  const nChars = encoded.reduce((sum, ids) => sum + ids.length + 1, 0);
  return {
    logprobs: Array.from(logprobs),
    nllPerChar: -pairwiseSum(logprobs, 0, logprobs.length) / nChars,
    nItems: items.length,
    nChars,
  };
}
