/**
 * Domain errors of wavenet-edge (the twin of runtime/common/errors.py). Library code throws these; only
 * the CLI turns them into one line `Error: ...` and exit status 2.
 *
 *     try { await loadModel("x.onnx", { ort }) } catch (err) { if (err instanceof ModelFileError) ... }
 */

/** A problem with the caller's input that deserves one clear line, not a stack trace. */
export class WavenetEdgeError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** Text that the vocabulary cannot encode, or a malformed vocabulary. */
export class VocabError extends WavenetEdgeError {}

/** A model file that is missing, damaged, foreign or of an unsupported format. */
export class ModelFileError extends WavenetEdgeError {}

/** A model setting that makes no sense (the twin of ConfigError in Python: runtime/config.py raises it). */
export class ConfigError extends WavenetEdgeError {}

/**
 * Python's repr() of a str, for messages worded like the Python runtime's (`'ab'`, `"it's"`).
 * @param {string} text
 * @returns {string}
 */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + quote;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return quote + out + quote;
}

/**
 * Python's repr() of a float (`1.0`, `0.5`, `1e-05`, `1e+16`, `inf`), for messages: the shortest digits that
 * give the value back (as Python's), in fixed notation for exponents -4..15, else in scientific notation.
 * @param {number} value
 * @returns {string}
 */
export function pyFloat(value) {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  const [mantissa, exponent] = Math.abs(value).toExponential().split("e"); // shortest round-trip digits
  const digits = mantissa.replace(".", "");
  const exp = Number(exponent);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  return `${sign}${whole}.${digits.slice(exp + 1) || "0"}`;
}

/**
 * What kind of JavaScript value `value` is, for messages: "a string", "a boolean", "an array", "null"...
 * @param {unknown} value
 */
export function kindOf(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" ? "an object" : type === "bigint" ? "a BigInt" : `a ${type}`;
}

/**
 * A value as the caller gave it, for messages: strings quoted, other values as JavaScript writes them.
 * @param {unknown} value
 */
export function shown(value) {
  if (typeof value === "string") return pyRepr(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value) || (value !== null && typeof value === "object")) {
    let text;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}...` : text;
  }
  return String(value);
}

/**
 * "got X" for a value that should have been a number but is not: the value as given and what it is.
 *     notA("0.5")             // "'0.5' (a string, not a number)"
 * @param {unknown} value
 * @param {string} [wanted] what it should have been
 */
export function notA(value, wanted = "a number") {
  const kind = kindOf(value);
  return kind === "null" || kind === "undefined" ? `${kind} (not ${wanted})` : `${shown(value)} (${kind}, not ${wanted})`;
}

/**
 * The first line of an error's message (its name when the message is empty), as first_line in Python.
 * @param {unknown} err
 */
export function firstLine(err) {
  const text = String(/** @type {any} */ (err)?.message ?? err).trim();
  return text ? text.split("\n")[0] : String(/** @type {any} */ (err)?.name ?? "Error");
}
