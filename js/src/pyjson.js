/**
 * JSON as Python's `json.loads` reads it, for the metadata checks that must say what the Python runtime says
 * (contract.js, config.js): `JSON.parse` cannot tell `12` from `12.0` (Python's int from float), turns
 * `99999999999999999999` into a rounded number, refuses Python's `NaN` and `Infinity`, and puts integer-like
 * keys first.
 *
 *     const value = loads('{"max_len": 12.0, "dilations": [1, 2]}');
 *     value.get("max_len")            // 12      (a float: a number)
 *     value.get("dilations")          // [1n, 2n] (ints: BigInt)
 *     pyRepr(value)                   // "{'max_len': 12.0, 'dilations': [1, 2]}"
 *     toPlain(value)                  // { max_len: 12, dilations: [1, 2] }
 *
 * Values: int -> BigInt, float -> number (NaN, Infinity included), object -> Map (file order, last of a
 * repeated key wins in its first place, as a Python dict), array, string, boolean, null.
 */
import { pyFloat, pyRepr as pyStrRepr } from "./errors.js";

/** Python's json whitespace. */
const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class Parser {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
    this.pos = 0;
  }

  /** @param {string} what */
  fail(what) {
    throw new SyntaxError(`${what} at position ${this.pos}`);
  }

  skip() {
    while (this.pos < this.text.length && WHITESPACE.has(this.text[this.pos])) this.pos++;
  }

  /** @param {number} depth @returns {any} */
  value(depth) {
    if (depth > 1000) this.fail("nested too deeply"); // Python stops at its recursion limit
    this.skip();
    const t = this.text;
    const c = t[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, value] of /** @type {[string, any][]} */ ([["null", null], ["true", true], ["false", false],
      ["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity]])) {
      if (t.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(t);
    if (!match) this.fail("expecting value");
    const m = /** @type {RegExpExecArray} */ (match);
    this.pos += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  }

  /** @param {number} depth */
  object(depth) {
    const map = new Map();
    this.pos++;
    this.skip();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return map;
    }
    for (;;) {
      this.skip();
      if (this.text[this.pos] !== '"') this.fail("expecting property name enclosed in double quotes");
      const key = this.string();
      this.skip();
      if (this.text[this.pos] !== ":") this.fail("expecting ':' delimiter");
      this.pos++;
      map.set(key, this.value(depth + 1));
      this.skip();
      const c = this.text[this.pos++];
      if (c === "}") return map;
      if (c !== ",") this.fail("expecting ',' delimiter");
    }
  }

  /** @param {number} depth */
  array(depth) {
    const list = [];
    this.pos++;
    this.skip();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return list;
    }
    for (;;) {
      list.push(this.value(depth + 1));
      this.skip();
      const c = this.text[this.pos++];
      if (c === "]") return list;
      if (c !== ",") this.fail("expecting ',' delimiter");
    }
  }

  string() {
    const t = this.text;
    let out = "";
    this.pos++;
    for (;;) {
      if (this.pos >= t.length) this.fail("unterminated string");
      const c = t[this.pos++];
      if (c === '"') return out;
      if (c < " ") this.fail("invalid control character");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = t[this.pos++];
      if (e === "u") {
        const hex = t.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\uXXXX escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 4;
      } else if (e in ESCAPES) {
        out += ESCAPES[/** @type {keyof typeof ESCAPES} */ (e)];
      } else {
        this.fail("invalid \\escape");
      }
    }
  }
}

/**
 * The value of JSON text as Python's json.loads reads it; SyntaxError where it would raise JSONDecodeError.
 * @param {string} text
 * @returns {any}
 */
export function loads(text) {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skip();
  if (parser.pos !== text.length) parser.fail("extra data");
  return value;
}

/**
 * Plain JavaScript values of a loads() value: BigInt -> number, Map -> object.
 * @param {any} value
 * @returns {any}
 */
export function toPlain(value) {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  return value;
}

/**
 * Python's `type(value).__name__` of a loads() value.
 * @param {any} value
 */
export function pyTypeName(value) {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (value instanceof Map) return "dict";
  return { bigint: "int", number: "float", string: "str", boolean: "bool" }[/** @type {string} */ (typeof value)] ?? "object";
}

/**
 * Python's repr() of a loads() value: `{'a': [1, 2.0, True, None]}`.
 * @param {any} value
 * @returns {string}
 */
export function pyRepr(value) {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number") return pyFloat(value);
  if (typeof value === "string") return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  return String(value);
}

/** @param {any} value */
const numeric = (value) => typeof value === "bigint" || typeof value === "number" || typeof value === "boolean";

/**
 * Python's `a == b` between a loads() value `a` and a loads() or plain value `b`: ints, floats and booleans
 * by value (1 == 1.0 == True), dicts whatever their key order, lists element by element.
 * @param {any} a
 * @param {any} b
 * @returns {boolean}
 */
export function pyEquals(a, b) {
  if (numeric(a) && numeric(b)) {
    const x = typeof a === "boolean" ? Number(a) : a;
    const y = typeof b === "boolean" ? Number(b) : b;
    return x == y; // eslint-disable-line eqeqeq -- BigInt against number, exactly
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => pyEquals(v, b[i]));
  }
  const isDict = (/** @type {any} */ v) => v instanceof Map || (v !== null && typeof v === "object");
  if (isDict(a) || isDict(b)) {
    if (!isDict(a) || !isDict(b)) return false;
    const entries = (/** @type {any} */ v) => (v instanceof Map ? new Map(v) : new Map(Object.entries(v)));
    const x = entries(a);
    const y = entries(b);
    return x.size === y.size && [...x].every(([k, v]) => y.has(k) && pyEquals(v, y.get(k)));
  }
  return a === b;
}
