/**
 * Exact top-k completions of a prefix (the twin of runtime/complete.py): the k most probable complete
 * names (end token included) that start with it, best first, by a best-first search over the graph.
 *
 *     const completions = await complete(runner, vocab, "ka", { k: 10, maxLen: 32 });
 *
 * Why exact: extending a partial name never makes it more probable (each factor is <= 1), so popping
 * a complete name from a max-heap of partial and complete names, keyed by probability, means nothing left
 * can beat it (uniform-cost search with costs -log p; Russell & Norvig). Each round pops up to
 * EXPAND_PER_ROUND open names from the top and computes all their children with one graph call.
 * Ties: equal float64 log-probabilities are ordered by the name, in code point order (Python's string
 * order), so both runtimes list the same names in the same order. The log-probabilities are summed in
 * float64 as in Python; the exponentials inside the softmax (numpy's and Math.exp) may differ in the last
 * bit, so values agree to about 1e-14 (relative), and only names closer than that could be ordered
 * differently. Bounded by `maxNodes` expanded partial names; memory grows with the frontier, not with
 * maxLen. The empty name is not a completion.
 */
import { WavenetEdgeError, notA, pyRepr } from "./errors.js";
import { encodePrefix } from "./generation.js";
import { logSoftmaxAt, pairwiseSum } from "./sampling.js";
import { BOUNDARY_ID } from "./vocab.js";

export const DEFAULT_MAX_NODES = 20_000; // partial names expanded before giving up
export const EXPAND_PER_ROUND = 64; // open nodes expanded per graph call
export const MAX_K = 1000;
export const MAX_NODES = 10_000_000;

/** The search hit its node budget before finding k completions. */
export class CompletionError extends WavenetEdgeError {}

/** @typedef {{ name: string, probability: number, logprob: number }} Completion */
/**
 * A heap entry: neg = -log p, the text, open (a partial name still to expand) and, when open, the index
 * of the state before its last token and that token.
 * @typedef {{ neg: number, text: string, open: boolean, state: number, token: number }} Entry
 */

/**
 * Code point order of two strings (JavaScript's < compares UTF-16 code units, which differs from it for
 * characters beyond the BMP).
 * @param {string} a @param {string} b
 */
export function compareText(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (U+D800..DFFF, code points >= U+10000) sort after U+E000..FFFF
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** Python's tuple order of (neg, text, open): the smaller pops first. @param {Entry} a @param {Entry} b */
function before(a, b) {
  if (a.neg !== b.neg) return a.neg < b.neg;
  const byText = compareText(a.text, b.text);
  if (byText !== 0) return byText < 0;
  return !a.open && b.open;
}

/** A binary min-heap of entries under `before`. */
class Heap {
  constructor() {
    /** @type {Entry[]} */
    this.items = [];
  }

  get size() {
    return this.items.length;
  }

  /** @returns {Entry} */
  peek() {
    return this.items[0];
  }

  /** @param {Entry} entry */
  push(entry) {
    const items = this.items;
    let i = items.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  /** @returns {Entry} */
  pop() {
    const items = this.items;
    const top = items[0];
    const last = /** @type {Entry} */ (items.pop());
    if (items.length) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l], items[m])) m = l;
        if (r < items.length && before(items[r], items[m])) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * out[c] = log_softmax(logits[offset .. offset + V))[c] for every c, in float64: logSoftmaxAt's operations
 * (runtime/sampling.py log_softmax's), the exponentials and their sum computed once for the row.
 * @param {Float32Array} logits @param {number} offset @param {number} V
 * @param {Float64Array} scratch @param {Float64Array} out
 */
function logSoftmaxRow(logits, offset, V, scratch, out) {
  let max = logits[offset];
  for (let i = 1; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  for (let i = 0; i < V; i++) scratch[i] = Math.exp(logits[offset + i] - max);
  const logSum = Math.log(pairwiseSum(scratch, 0, V));
  for (let i = 0; i < V; i++) out[i] = (logits[offset + i] - max) - logSum;
}

/** An integer in lo..hi as given, or the Python runtime's line. @param {string} what @param {unknown} value */
function checkRange(what, value, lo, hi) {
  if (!Number.isSafeInteger(value) || /** @type {number} */ (value) < lo || /** @type {number} */ (value) > hi) {
    const shownValue = typeof value === "number" ? String(value) : notA(value);
    throw new WavenetEdgeError(hi === Infinity ? `${what} must be a positive integer, got ${shownValue}`
      : `${what} must be an integer in ${lo}..${hi}, got ${shownValue}`);
  }
}

/**
 * The k most probable complete names that start with `prefix` (at most maxLen characters), most
 * probable first, ties by name; fewer when fewer exist.
 * @param {any} runner a StepRunner or WindowRunner (graphs.js)
 * @param {import("./vocab.js").Vocab} vocab
 * @param {string} prefix
 * @param {{ k?: number, maxLen?: number, maxNodes?: number }} [options]
 * @returns {Promise<Completion[]>}
 */
export async function complete(runner, vocab, prefix, { k = 10, maxLen = 32, maxNodes = DEFAULT_MAX_NODES } = {}) {
  checkRange("k", k, 1, MAX_K);
  checkRange("max-nodes", maxNodes, 1, MAX_NODES);
  checkRange("max-len", maxLen, 1, Infinity);
  if (typeof prefix !== "string") throw new WavenetEdgeError(`prefix must be a string, got ${notA(prefix, "a string")}`);
  const ids = encodePrefix(vocab, prefix);
  if (ids.length > maxLen) {
    throw new WavenetEdgeError(`max-len ${maxLen} is below the length of prefix ${pyRepr(prefix)} (${ids.length})`);
  }
  const V = vocab.size;
  const chars = ["", ...vocab.chars]; // id -> character
  const scratch = new Float64Array(V);
  const logp = new Float64Array(V); // one row's log-softmax, float64
  // the prefix itself: log p(prefix) and the state with every prefix token but the last consumed
  let state = runner.initialState(1);
  let token = BOUNDARY_ID;
  let logprob = 0.0;
  for (const char of ids) {
    let logits;
    ({ logits, state } = await runner.advance(state, BigInt64Array.of(BigInt(token))));
    logprob += logSoftmaxAt(logits, 0, V, char, scratch);
    token = char;
  }
  const rowSize = state.length; // S floats (step graph) or R tokens (window graph) per row
  /** @type {(Float32Array | BigInt64Array)[]} states before each open node's last token */
  const states = [state];
  const heap = new Heap();
  heap.push({ neg: -logprob, text: prefix, open: true, state: 0, token });
  /** @type {Completion[]} */
  const results = [];
  let expanded = 0;
  while (heap.size && results.length < k) {
    if (!heap.peek().open) { // a complete name at the top: nothing left can beat it
      const { neg, text } = heap.pop();
      results.push({ name: text, probability: Math.exp(-neg), logprob: -neg });
      continue;
    }
    /** @type {Entry[]} */
    const batch = [];
    while (heap.size && heap.peek().open && batch.length < EXPAND_PER_ROUND) batch.push(heap.pop());
    if (expanded + batch.length > maxNodes) {
      throw new CompletionError(`complete: gave up after expanding ${expanded} partial names (${results.length} of `
        + `${k} completions found for prefix ${pyRepr(prefix)}); raise max-nodes, or ask for fewer`);
    }
    expanded += batch.length;
    const n = batch.length;
    const stacked = new /** @type {any} */ (states[0].constructor)(n * rowSize); // [n, S] (or [n, R])
    const tokens = new BigInt64Array(n);
    batch.forEach((entry, row) => {
      stacked.set(states[entry.state], row * rowSize);
      tokens[row] = BigInt(entry.token);
    });
    const { logits, state: after } = await runner.advance(stacked, tokens); // [n * V], [n * S]
    batch.forEach((entry, row) => {
      logSoftmaxRow(logits, row * V, V, scratch, logp);
      const { neg, text } = entry;
      if (text) heap.push({ neg: neg - logp[BOUNDARY_ID], text, open: false, state: -1, token: -1 });
      if ([...text].length >= maxLen) return;
      const index = states.length;
      states.push(after.slice(row * rowSize, (row + 1) * rowSize));
      for (let c = 1; c < V; c++) heap.push({ neg: neg - logp[c], text: text + chars[c], open: true, state: index, token: c });
    });
  }
  return results;
}
