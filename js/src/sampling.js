/**
 * Sampling the next token, with the counter-based random source of the Python runtime (the twin of
 * runtime/sampling.py): the same seed gives the same uniforms, and the sampler does the same float64
 * operations in the same order, so onnxruntime's logits give the same tokens as in Python.
 *
 *     const source = new UniformSource(7n, 33);             // seed, positions per name
 *     const u = source.take(4);                             // Float64Array [4 * 33] of names 0..3, in (0, 1]
 *     const draw = makeSampler(checkSampling({ temperature: 0.8, topK: 10 }), 27);
 *     const token = draw(logits, row * 27, u[row * 33 + position]);
 *
 * Random numbers: SplitMix64 (Steele, Lea & Flood 2014) keyed by (seed, name index, position), computed
 * on two 32-bit halves (BigInt only for the seed). Order of operations of a draw: logits / temperature ->
 * top-k mask -> softmax -> top-p (nucleus) mask -> inverse-CDF draw, as in Python.
 */
import { WavenetEdgeError, notA, pyFloat, pyRepr } from "./errors.js";

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n; // SplitMix64's increment
const SEED_OFFSET = 0x632be59bd9b4e019n;
const G_HI = 0x9e3779b9;
const G_LO = 0x7f4a7c15;
const M1_HI = 0xbf58476d;
const M1_LO = 0x1ce4e5b9;
const M2_HI = 0x94d049bb;
const M2_LO = 0x133111eb;
const TWO32 = 4294967296;
const INV_2_53 = 1 / 2 ** 53;

/**
 * (a * b) mod 2^64 on 32-bit halves; writes [hi, lo] into out.
 * @param {number} ah @param {number} al @param {number} bh @param {number} bl @param {Uint32Array} out
 */
function mul64(ah, al, bh, bl, out) {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff); // < 3 * 2^16
  const high = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16); // high word of al * bl
  out[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  out[1] = Math.imul(al, bl) >>> 0;
}

/**
 * SplitMix64's output function of the 64-bit value (hi, lo); writes [hi, lo] into out.
 * @param {number} hi @param {number} lo @param {Uint32Array} out
 */
function mix(hi, lo, out) {
  lo = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0; // z ^= z >> 30
  hi = (hi ^ (hi >>> 30)) >>> 0;
  mul64(hi, lo, M1_HI, M1_LO, out);
  hi = out[0];
  lo = out[1];
  lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0; // z ^= z >> 27
  hi = (hi ^ (hi >>> 27)) >>> 0;
  mul64(hi, lo, M2_HI, M2_LO, out);
  hi = out[0];
  lo = out[1];
  out[1] = (lo ^ ((lo >>> 31) | (hi << 1))) >>> 0; // z ^= z >> 31
  out[0] = (hi ^ (hi >>> 31)) >>> 0;
}

/**
 * @param {number} ah @param {number} al @param {number} bh @param {number} bl @param {Uint32Array} out
 */
function add64(ah, al, bh, bl, out) {
  const lo = al + bl;
  out[1] = lo >>> 0;
  out[0] = (ah + bh + (lo >= TWO32 ? 1 : 0)) >>> 0;
}

/**
 * The seed as Python's `int(seed)`: an integer number up to 2^53 in size, a BigInt or a decimal string (any
 * integer, e.g. 2^63 - 1, the most wn-generate's --seed takes). A number beyond 2^53 is refused: it may not
 * be the integer that was written (2**53 + 1 reads as 2**53).
 * @param {unknown} seed
 * @returns {bigint}
 */
export function seedBigInt(seed) {
  if (typeof seed === "bigint") return seed;
  if (typeof seed === "number" && Number.isInteger(seed)) {
    if (Math.abs(seed) <= 2 ** 53) return BigInt(seed);
    throw new WavenetEdgeError(`seed ${BigInt(seed)} is beyond 2^53, where a JavaScript number may not be the `
      + `integer that was written: pass it as a BigInt (${BigInt(seed)}n) or a string ("${BigInt(seed)}")`);
  }
  if (typeof seed === "string" && /^\s*[+-]?\d+\s*$/.test(seed)) return BigInt(seed.trim());
  const given = typeof seed === "string" ? pyRepr(seed) : typeof seed === "number" ? String(seed) : notA(seed, "an integer");
  throw new WavenetEdgeError(`seed must be an integer, got ${given}`);
}

/**
 * The start of name `index`'s random stream under a seed key (row_keys in Python); writes [hi, lo] into s.
 * @param {number} keyHi @param {number} keyLo @param {number} index @param {Uint32Array} s
 */
function rowKey(keyHi, keyLo, index, s) {
  mul64(Math.floor(index / TWO32) >>> 0, index >>> 0, G_HI, G_LO, s); // index * GOLDEN
  add64(s[0], s[1], keyHi, keyLo, s); // + seed_key
  mix(s[0], s[1], s);
  mix((s[0] ^ keyHi) >>> 0, (s[1] ^ keyLo) >>> 0, s); // row key
}

/** The seed's key, as [hi, lo] 32-bit halves. @param {number | bigint | string} seed */
function seedKey(seed) {
  const key = BigInt.asUintN(64, seedBigInt(seed) * GOLDEN + SEED_OFFSET) & MASK64;
  return [Number(key >> 32n), Number(key & 0xffffffffn)];
}

/**
 * The uniform of every row's next position, one step at a time (RowUniforms in Python): one 64-bit counter
 * per row, nothing sized by the longest name. Row r at position p gets the p-th uniform of its name's stream,
 * the number UniformSource gives that name at p.
 *
 *     const draws = new RowUniforms(seed, width);
 *     draws.start(r, index);        // row r begins name `index` at position 0
 *     const u = draws.next(r);      // row r's uniform at its position; the position advances
 */
export class RowUniforms {
  /** @param {number | bigint | string} seed @param {number} width */
  constructor(seed, width) {
    [this.keyHi, this.keyLo] = seedKey(seed);
    this.counters = new Uint32Array(2 * width); // [hi, lo] of key + (p + 1) * GOLDEN, per row
    this.scratch = new Uint32Array(2);
  }

  /** Row `row` begins name `index`. @param {number} row @param {number} index */
  start(row, index) {
    const s = this.scratch;
    rowKey(this.keyHi, this.keyLo, index, s);
    add64(s[0], s[1], G_HI, G_LO, s);
    this.counters[2 * row] = s[0];
    this.counters[2 * row + 1] = s[1];
  }

  /** Row `row`'s uniform in (0, 1] at its position; then the position advances. @param {number} row */
  next(row) {
    const s = this.scratch;
    const c = this.counters;
    const hi = c[2 * row];
    const lo = c[2 * row + 1];
    add64(hi, lo, G_HI, G_LO, s);
    c[2 * row] = s[0];
    c[2 * row + 1] = s[1];
    mix(hi, lo, s);
    return (s[0] * 2097152 + (s[1] >>> 11) + 1) * INV_2_53; // ((z >> 11) + 1) / 2^53
  }

  /** Keep rows `kept` (indices, in order). @param {number[]} kept */
  keep(kept) {
    const counters = new Uint32Array(2 * kept.length);
    kept.forEach((r, w) => counters.set(this.counters.subarray(2 * r, 2 * r + 2), 2 * w));
    this.counters = counters;
  }
}

/**
 * The uniforms of names first, first + 1, ... handed out in order: name i's `length` uniforms in (0, 1]
 * depend only on (seed, i), exactly as UniformSource in runtime/sampling.py.
 */
export class UniformSource {
  /**
   * @param {number | bigint | string} seed
   * @param {number} length uniforms per name (positions a name can live through)
   * @param {number} [first] index of the first name
   */
  constructor(seed, length, first = 0) {
    [this.keyHi, this.keyLo] = seedKey(seed);
    this.length = length;
    this.next = first;
    this.scratch = new Uint32Array(2);
    // steps[p] = (p + 1) * GOLDEN mod 2^64, as [hi, lo] pairs
    this.steps = new Uint32Array(2 * length);
    for (let p = 0; p < length; p++) {
      mul64(0, p + 1, G_HI, G_LO, this.scratch);
      this.steps[2 * p] = this.scratch[0];
      this.steps[2 * p + 1] = this.scratch[1];
    }
  }

  /**
   * Writes the uniforms of the next name into out[offset .. offset + length).
   * @param {Float64Array} out
   * @param {number} offset
   */
  fill(out, offset) {
    const s = this.scratch;
    rowKey(this.keyHi, this.keyLo, this.next++, s);
    const rowHi = s[0];
    const rowLo = s[1];
    for (let p = 0; p < this.length; p++) {
      add64(rowHi, rowLo, this.steps[2 * p], this.steps[2 * p + 1], s);
      mix(s[0], s[1], s);
      out[offset + p] = (s[0] * 2097152 + (s[1] >>> 11) + 1) * INV_2_53; // ((z >> 11) + 1) / 2^53
    }
  }

  /**
   * Float64Array [count * length]: the uniforms of the next `count` names.
   * @param {number} count
   */
  take(count) {
    const out = new Float64Array(count * this.length);
    for (let i = 0; i < count; i++) this.fill(out, i * this.length);
    return out;
  }
}

/**
 * @typedef {{ temperature?: number, topK?: number | null, topP?: number | null }} SamplingOptions
 * @typedef {{ temperature: number, topK: number | null, topP: number | null }} SamplingParams
 */

/**
 * Validated sampling parameters; WavenetEdgeError names the bad value (Python's wording).
 * @param {SamplingOptions} [options]
 * @returns {SamplingParams}
 */
export function checkSampling({ temperature = 1.0, topK = null, topP = null } = {}) {
  if (typeof temperature !== "number") throw new WavenetEdgeError(`temperature must be > 0, got ${notA(temperature)}`);
  if (!Number.isFinite(temperature) || temperature <= 0) {
    throw new WavenetEdgeError(`temperature must be > 0, got ${pyFloat(temperature)}`);
  }
  if (topK !== null && topK !== undefined && (!Number.isInteger(topK) || /** @type {number} */ (topK) < 1)) {
    throw new WavenetEdgeError(`top-k must be an integer >= 1, got ${typeof topK === "number" ? topK : notA(topK)}`);
  }
  if (topP !== null && topP !== undefined && (typeof topP !== "number" || !(topP > 0 && topP <= 1))) {
    throw new WavenetEdgeError(`top-p must be in (0, 1], got ${typeof topP === "number" ? pyFloat(topP) : notA(topP)}`);
  }
  return { temperature, topK: topK ?? null, topP: topP ?? null };
}

/**
 * numpy's float64 sum (pairwise summation, blocks of 8 up to 128 elements), so sums match to the bit.
 * @param {Float64Array} a
 * @param {number} start
 * @param {number} n
 * @returns {number}
 */
export function pairwiseSum(a, start, n) {
  if (n < 8) {
    let res = 0.0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start], r1 = a[start + 1], r2 = a[start + 2], r3 = a[start + 3];
    let r4 = a[start + 4], r5 = a[start + 5], r6 = a[start + 6], r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const b = start + i;
      r0 += a[b]; r1 += a[b + 1]; r2 += a[b + 2]; r3 += a[b + 3];
      r4 += a[b + 4]; r5 += a[b + 5]; r6 += a[b + 6]; r7 += a[b + 7];
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * log_softmax(logits[offset .. offset + V))[target] in float64, as runtime/sampling.py computes it.
 * @param {Float32Array} logits
 * @param {number} offset
 * @param {number} V
 * @param {number} target
 * @param {Float64Array} scratch at least V long
 */
export function logSoftmaxAt(logits, offset, V, target, scratch) {
  let max = logits[offset];
  for (let i = 1; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  for (let i = 0; i < V; i++) scratch[i] = Math.exp(logits[offset + i] - max);
  return (logits[offset + target] - max) - Math.log(pairwiseSum(scratch, 0, V));
}

/**
 * `draw(logits, offset, u) -> token` for one row logits[offset .. offset + V) and one uniform u in (0, 1]:
 * the first index whose cumulative weight reaches u * total weight (inverse CDF). Same result as
 * Sampler in runtime/sampling.py for that row.
 * @param {SamplingParams} params
 * @param {number} V vocabulary size
 * @returns {(logits: Float32Array, offset: number, u: number) => number}
 */
export function makeSampler(params, V) {
  const { temperature, topK } = params;
  const topP = params.topP !== null && params.topP < 1.0 ? params.topP : null;
  const greedy = topK === 1;
  const plain = temperature === 1.0 && topK === null && topP === null;
  const x = new Float64Array(V);
  const cdf = new Float64Array(V);
  const ranked = new Float64Array(V);
  const sorted = new Float64Array(V);
  const order = new Array(V);

  /** first index whose cdf reaches threshold (argmax of cdf >= threshold; 0 when none does) */
  const search = (threshold) => {
    for (let i = 0; i < V; i++) if (cdf[i] >= threshold) return i;
    return 0;
  };

  /** the plain draw's fallback when exp of the raw logits over- or underflows: float32 max subtraction */
  const plainShifted = (logits, offset, u) => {
    let max = logits[offset];
    for (let i = 1; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
    let acc = 0;
    for (let i = 0; i < V; i++) cdf[i] = acc += Math.exp(Math.fround(logits[offset + i] - max));
    return search(cdf[V - 1] * u);
  };

  return (logits, offset, u) => {
    if (greedy) {
      let best = 0;
      for (let i = 1; i < V; i++) if (logits[offset + i] > logits[offset + best]) best = i;
      return best;
    }
    if (plain) {
      let acc = 0;
      for (let i = 0; i < V; i++) cdf[i] = acc += Math.exp(logits[offset + i]);
      const total = cdf[V - 1];
      if (!(total > 0 && total < Infinity)) return plainShifted(logits, offset, u);
      return search(total * u);
    }
    let max = logits[offset];
    for (let i = 1; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
    for (let i = 0; i < V; i++) x[i] = logits[offset + i] - max; // float64, max 0
    if (temperature !== 1.0) for (let i = 0; i < V; i++) x[i] /= temperature;
    if (topK !== null && topK < V) {
      sorted.set(x);
      sorted.sort(); // ascending; the k-th largest is at V - k
      const kth = sorted[V - topK];
      for (let i = 0; i < V; i++) if (x[i] < kth) x[i] = -Infinity; // ties with the k-th are kept
    }
    for (let i = 0; i < V; i++) x[i] = Math.exp(x[i]); // weights
    if (topP !== null) {
      for (let i = 0; i < V; i++) order[i] = i;
      order.sort((a, b) => x[b] - x[a] || a - b); // most likely first, ties by index (stable)
      for (let j = 0; j < V; j++) ranked[j] = x[order[j]];
      const sum = pairwiseSum(ranked, 0, V);
      for (let j = 0; j < V; j++) ranked[j] /= sum;
      let cum = 0;
      for (let j = 0; j < V; j++) {
        cum += ranked[j];
        if (!(cum - ranked[j] < topP)) x[order[j]] = 0.0; // mass of the more likely tokens
      }
    }
    let acc = 0;
    for (let i = 0; i < V; i++) cdf[i] = acc += x[i];
    return search(cdf[V - 1] * u);
  };
}
