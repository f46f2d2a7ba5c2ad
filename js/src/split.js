/**
 * The lecture's 80/10/10 split of a list of items, exactly as split_items in runtime/common/dataset.py:
 * Python's `random.Random(42).shuffle(items)`, then train = the first int(0.8 n), val = up to int(0.9 n),
 * test = the rest. Python's generator is MT19937 seeded by init_by_array([42]); shuffle draws
 * `_randbelow(i + 1)` for i = n - 1 .. 1 by rejection from getrandbits(bit_length(i + 1)).
 *
 *     splitItems(items).val      // wn-eval --split val scores these
 */
import { WavenetEdgeError } from "./errors.js";

export const SPLIT_SEED = 42;
export const SPLIT_NAMES = Object.freeze(["train", "val", "test"]);

/** Python's random.Random(seed) for a non-negative seed below 2^32: MT19937, its 32-bit outputs. */
class MersenneTwister {
  /** @param {number} seed */
  constructor(seed) {
    this.mt = new Uint32Array(624);
    this.index = 624;
    this.initGenrand(19650218);
    const key = [seed >>> 0];
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** @param {number} seed */
  initGenrand(seed) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(prev, 1812433253) + i) >>> 0;
    }
  }

  /** The next 32-bit output. */
  next() {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Python's _randbelow(n) for 1 <= n < 2^32. @param {number} n */
  below(n) {
    const k = 32 - Math.clz32(n); // n.bit_length()
    let r = this.next() >>> (32 - k);
    while (r >= n) r = this.next() >>> (32 - k);
    return r;
  }
}

/**
 * A copy of `items` shuffled as Python's random.Random(seed).shuffle shuffles it.
 * @template T @param {T[]} items @param {number} [seed]
 * @returns {T[]}
 */
export function pythonShuffle(items, seed = SPLIT_SEED) {
  const out = [...items];
  const random = new MersenneTwister(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The lecture's split (split_items in Python); WavenetEdgeError, in Python's words, when a part would be
 * smaller than `minPerPart`.
 * @param {string[]} items @param {number} [minPerPart]
 * @returns {{ train: string[], val: string[], test: string[] }}
 */
export function splitItems(items, minPerPart = 1) {
  const shuffled = pythonShuffle(items);
  const n = shuffled.length;
  const n1 = Math.floor(0.8 * n);
  const n2 = Math.floor(0.9 * n);
  const split = { train: shuffled.slice(0, n1), val: shuffled.slice(n1, n2), test: shuffled.slice(n2) };
  if (Math.min(split.train.length, split.val.length, split.test.length) < minPerPart) {
    throw new WavenetEdgeError(`too few items for the 80/10/10 split: ${n} items give train/val/test of `
      + `${split.train.length}/${split.val.length}/${split.test.length} (each part needs at least ${minPerPart})`);
  }
  return split;
}
