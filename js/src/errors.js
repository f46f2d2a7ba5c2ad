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
 * Python's repr() of a float (`1.0`, `0.5`, `1e-05`, `inf`), for messages.
 * @param {number} value
 * @returns {string}
 */
export function pyFloat(value) {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return value.toFixed(1);
  const text = String(value);
  const match = /^(-?[\d.]+)e([+-])(\d+)$/.exec(text);
  if (match) return `${match[1]}e${match[2]}${match[3].padStart(2, "0")}`;
  if (Math.abs(value) < 1e-4 && value !== 0) {
    const [mantissa, exp] = value.toExponential().split("e");
    const sign = exp[0] === "-" ? "-" : "+";
    return `${mantissa}e${sign}${exp.replace(/^[+-]/, "").padStart(2, "0")}`;
  }
  return text;
}
