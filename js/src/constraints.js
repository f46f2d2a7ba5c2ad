/**
 * Constrained sampling (the twin of runtime/constraints.py): names of a length range, with an ending,
 * containing a letter sequence, each a draw from the model's distribution restricted to the names that
 * satisfy the constraints.
 *
 *     const constraints = checkConstraints({ maxLen: 7, minLen: 5, suffix: "a" });
 *     for await (const name of constrain(stream, constraints, n, budget)) ...
 *
 * Exact by rejection: name i of a seed is an independent draw (its own counter-based random stream), so
 * keeping the draws that pass leaves independent draws from the conditional distribution, in index
 * order: the same names for a seed at any batch size, and the Python runtime's names.
 * `maxLen` limits complete names: the generator runs with room for maxLen + 1 characters and a name that
 * takes the extra one is dropped, never cut.
 */
import { WavenetEdgeError, notA, pyRepr } from "./errors.js";

export const MIN_BUDGET = 100_000; // draws before a constrained request gives up, at least
export const BUDGET_PER_NAME = 1000;

/** The constraints were met too rarely for the budget of draws. */
export class ConstraintError extends WavenetEdgeError {}

/**
 * nonEmpty: an empty name (the model ending at once) is no name, skipped like one that fails the constraints
 * (the API's default, as wn-generate; `allowEmpty: true` turns it off). describe() leaves it out.
 * @typedef {{ maxLen: number, minLen: number, suffix: string, contains: string, nonEmpty?: boolean }} NameConstraints
 */

/** @param {number | null} n */
export const defaultBudget = (n) => Math.max(MIN_BUDGET, BUDGET_PER_NAME * (n ?? 1));

/** Characters (code points) of a string, as Python's len. @param {string} text */
const length = (text) => [...text].length;

/**
 * Validated constraints, refused in the Python runtime's words.
 * @param {{ maxLen: number, minLen?: unknown, suffix?: unknown, contains?: unknown }} options
 * @returns {NameConstraints}
 */
export function checkConstraints({ maxLen, minLen = 0, suffix = "", contains = "" }) {
  for (const [name, value, low] of /** @type {[string, unknown, number][]} */ ([["min-len", minLen, 0], ["max-len", maxLen, 1]])) {
    if (!Number.isSafeInteger(value) || /** @type {number} */ (value) < low) {
      const kind = low === 0 ? "a non-negative" : "a positive";
      throw new WavenetEdgeError(`${name} must be ${kind} integer, got ${typeof value === "number" ? value : notA(value)}`);
    }
  }
  const [min, max] = [/** @type {number} */ (minLen), maxLen];
  if (min > max) throw new WavenetEdgeError(`min-len ${min} is above max-len ${max}`);
  for (const [option, text] of [["suffix", suffix], ["contains", contains]]) {
    if (typeof text !== "string") throw new WavenetEdgeError(`${option} must be a string, got ${notA(text, "a string")}`);
  }
  for (const [option, text] of [["suffix", /** @type {string} */ (suffix)], ["contains", /** @type {string} */ (contains)]]) {
    if (length(text) > max) {
      throw new WavenetEdgeError(`max-len ${max} is below the length of ${option} ${pyRepr(text)} (${length(text)})`);
    }
  }
  return { maxLen: max, minLen: min, suffix: /** @type {string} */ (suffix), contains: /** @type {string} */ (contains) };
}

/** Whether anything but maxLen constrains the names. @param {NameConstraints} c */
export const isActive = (c) => c.minLen > 0 || c.suffix !== "" || c.contains !== "";

/** @param {NameConstraints} c @param {string} name */
export function accepts(c, name) {
  if (c.nonEmpty && name === "") return false;
  const n = length(name);
  return c.minLen <= n && n <= c.maxLen && name.endsWith(c.suffix) && name.includes(c.contains);
}

/** @param {NameConstraints} c */
export function describe(c) {
  const parts = c.minLen > 0 ? [`min-len ${c.minLen}`] : [];
  parts.push(`max-len ${c.maxLen}`);
  if (c.suffix) parts.push(`suffix ${pyRepr(c.suffix)}`);
  if (c.contains) parts.push(`contains ${pyRepr(c.contains)}`);
  return parts.join(", ");
}

/**
 * Python's `{x:.4%}`: x times 100 with 4 decimals and a percent sign.
 * @param {number} x
 */
const percent = (x) => `${(x * 100).toFixed(4)}%`;

/**
 * @param {NameConstraints} c @param {number} accepted @param {number} drawn @param {number} wanted
 * @returns {ConstraintError}
 */
export function tooRare(c, accepted, drawn, wanted) {
  return new ConstraintError(
    `the constraints (${describe(c)}) are too rare: ${accepted} of ${drawn.toLocaleString("en-US")} draws met them `
    + `(acceptance ${percent(accepted / drawn)}); found ${accepted} of ${wanted} names (loosen them, or raise `
    + "max-samples)",
  );
}

/**
 * The names of `stream` that satisfy `constraints`, in order; ConstraintError when the `budget`-th draw
 * leaves fewer than `n` accepted (n null: fewer than one).
 * @param {AsyncIterable<string>} stream @param {NameConstraints} constraints @param {number | null} n
 * @param {number} budget
 * @returns {AsyncGenerator<string>}
 */
export async function* constrain(stream, constraints, n, budget) {
  const wanted = n ?? 1;
  let drawn = 0;
  let accepted = 0;
  for await (const name of stream) {
    drawn++;
    if (accepts(constraints, name)) {
      accepted++;
      yield name;
    }
    if (drawn >= budget && accepted < wanted) throw tooRare(constraints, accepted, drawn, wanted);
  }
}
