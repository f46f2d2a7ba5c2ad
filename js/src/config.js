/**
 * The model configuration (the twin of runtime/config.py): the same ranges, checked in the same order, with
 * the same words, so that a file the Python runtime refuses is refused here in the same line.
 *
 *     const config = configFromDict(loads(props["wavenet_edge.config"]));  // ConfigError names the first bad setting
 *     config.max_len, receptiveField(config), layerDilations(config)
 *
 * The input is a pyjson.js `loads` value (ints are BigInt, floats numbers, objects Maps), so that `12.0`
 * is refused where Python refuses it; the result is a plain object of numbers, every field filled in
 * (Python's `ModelConfig.to_dict()`).
 */
import { ConfigError } from "./errors.js";
import { pyEquals, pyRepr, pyTypeName, toPlain } from "./pyjson.js";

export const ARCHITECTURES = Object.freeze(["wavenet", "lecture"]);
/** The range of every integer setting (runtime/config.py LIMITS). */
export const LIMITS = Object.freeze({
  vocab_size: [2, 0x110000 + 1], // every Unicode code point, plus the boundary token
  max_len: [1, 10_000],
  channels: [1, 4096], skip_channels: [1, 4096], head_channels: [1, 4096],
  stacks: [1, 64],
  n_embd: [1, 4096], n_hidden: [1, 4096], block_size: [1, 1024],
});
export const MAX_DILATION = 4096;
export const MAX_LAYERS = 256; // wavenet: len(dilations) x stacks
export const MAX_RECEPTIVE_FIELD = 8192; // tokens
export const MAX_STATE_SIZE = 1 << 22; // step graph: floats per generated row

/** ModelConfig's fields in order, with their defaults (ints as BigInt, as loads() gives them). */
const DEFAULTS = Object.freeze({
  arch: "wavenet", vocab_size: 27n, max_len: 32n,
  channels: 48n, skip_channels: 96n, head_channels: 96n, dilations: [1n, 2n, 4n, 8n], stacks: 1n, kernel_size: 2n,
  dropout: 0.1,
  n_embd: 24n, n_hidden: 128n, block_size: 8n,
});

/**
 * @typedef {{ arch: string, vocab_size: number, max_len: number, channels: number, skip_channels: number,
 *             head_channels: number, dilations: number[], stacks: number, kernel_size: number, dropout: number,
 *             n_embd: number, n_hidden: number, block_size: number, [key: string]: any }} ModelConfig
 */

/** @param {string} name @param {any} value @param {number} low @param {number} high */
function checkInt(name, value, low, high) {
  if (typeof value !== "bigint" || value < BigInt(low) || value > BigInt(high)) {
    throw new ConfigError(`${name} must be an integer in ${low}..${high}, got ${pyRepr(value)}`);
  }
}

/**
 * Python's tuple(value) of a loads() value: a list's items, a string's characters, a dict's keys.
 * @param {any} value
 * @returns {any[]}
 */
function pyTuple(value) {
  if (Array.isArray(value)) return [...value];
  if (typeof value === "string") return [...value];
  if (value instanceof Map) return [...value.keys()];
  throw new ConfigError(`malformed model config: '${pyTypeName(value)}' object is not iterable`);
}

/** @param {Record<string, any>} c */
function validateWavenet(c) {
  const dilations = /** @type {any[]} */ (c.dilations);
  if (!dilations.length || dilations.some((d) => typeof d !== "bigint" || d < 1n || d > BigInt(MAX_DILATION))) {
    throw new ConfigError(`dilations must be integers in 1..${MAX_DILATION}, got ${pyRepr(dilations)}`);
  }
  if (!pyEquals(c.kernel_size, 2n)) {
    throw new ConfigError(`kernel_size must be 2 (the step graph assumes it), got ${pyRepr(c.kernel_size)}`);
  }
  const stacks = Number(c.stacks);
  const layers = dilations.length * stacks;
  if (layers > MAX_LAYERS) {
    throw new ConfigError(`${dilations.length} dilations x ${stacks} stacks make ${layers} layers; the most is ${MAX_LAYERS}`);
  }
  const field = 1 + stacks * dilations.reduce((sum, d) => sum + Number(d), 0);
  if (field > MAX_RECEPTIVE_FIELD) {
    throw new ConfigError(`the receptive field (1 + stacks x sum of dilations) is ${field} tokens; it must be in `
      + `2..${MAX_RECEPTIVE_FIELD}`);
  }
  const state = (field - 1) * Number(c.channels);
  if (state > MAX_STATE_SIZE) {
    throw new ConfigError(`channels x (receptive field - 1) is ${state} floats of generation state per name; the most `
      + `is ${MAX_STATE_SIZE} (fewer channels or smaller dilations)`);
  }
}

/**
 * A validated config from its dict (a loads() Map); ConfigError names the first setting that makes no sense,
 * worded as ModelConfig.from_dict and ModelConfig.validate word it.
 * @param {any} data
 * @returns {ModelConfig}
 */
export function configFromDict(data) {
  if (!(data instanceof Map)) throw new ConfigError("malformed model config: expected a mapping");
  const known = Object.keys(DEFAULTS);
  const unknown = [...data.keys()].filter((k) => !known.includes(k)).sort(byCodePoint);
  if (unknown.length) throw new ConfigError(`unknown model config keys: ${unknown.join(", ")}`);
  /** @type {Record<string, any>} */
  const c = {};
  for (const key of known) c[key] = data.has(key) ? data.get(key) : /** @type {any} */ (DEFAULTS)[key];
  c.dilations = pyTuple(c.dilations);
  if (typeof c.arch !== "string" || !ARCHITECTURES.includes(c.arch)) {
    throw new ConfigError(`unknown architecture ${pyRepr(c.arch)} (choose from: ${ARCHITECTURES.join(", ")})`);
  }
  const used = ["vocab_size", "max_len", ...(c.arch === "wavenet"
    ? ["channels", "skip_channels", "head_channels", "stacks"] : ["n_embd", "n_hidden", "block_size"])];
  for (const name of used) checkInt(name, c[name], .../** @type {[number, number]} */ (/** @type {any} */ (LIMITS)[name]));
  if (c.arch === "wavenet") {
    validateWavenet(c);
  } else if (!Number.isInteger(Math.log2(Number(c.block_size)))) {
    throw new ConfigError(`block_size must be a power of two in 1..${LIMITS.block_size[1]}, got ${c.block_size}`);
  }
  const d = c.dropout;
  if ((typeof d !== "bigint" && typeof d !== "number") || !(d >= 0 && d < 1)) {
    throw new ConfigError(`dropout must be a number in [0, 1), got ${pyRepr(d)}`);
  }
  return Object.freeze(/** @type {ModelConfig} */ (toPlain(new Map(Object.entries(c)))));
}

/** Python's string order (code points), for the unknown keys. @param {string} a @param {string} b */
function byCodePoint(a, b) {
  const x = [...a].map((ch) => /** @type {number} */ (ch.codePointAt(0)));
  const y = [...b].map((ch) => /** @type {number} */ (ch.codePointAt(0)));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Dilation of every wavenet layer, bottom to top (the dilation cycle repeated `stacks` times). The lecture
 * architecture does not check its wavenet fields: there they count only while they make at most MAX_LAYERS
 * layers (none otherwise), so that an unchecked `stacks` sizes nothing.
 * @param {ModelConfig} config
 * @returns {number[]}
 */
export function layerDilations(config) {
  const { stacks, dilations } = config;
  if (config.arch !== "wavenet" && !(Number.isSafeInteger(stacks) && stacks >= 0 && Array.isArray(dilations)
    && stacks * dilations.length <= MAX_LAYERS && dilations.every((d) => typeof d === "number"))) return [];
  return Array.from({ length: stacks }, () => dilations).flat();
}

/**
 * Tokens one prediction sees: the current token and the ones before it.
 * @param {ModelConfig} config
 */
export function receptiveField(config) {
  if (config.arch !== "wavenet") return config.block_size;
  return 1 + (config.kernel_size - 1) * layerDilations(config).reduce((sum, d) => sum + d, 0);
}
