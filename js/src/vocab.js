/**
 * The character vocabulary (the twin of runtime/vocab.py): id 0 is the boundary token (start and end of
 * every item), ids 1.. are characters.
 *
 *     const vocab = Vocab.fromDict({ boundary_id: 0, chars: ["a", "b"] });
 *     vocab.encode("ab");   // [1, 2]
 */
import { VocabError, pyRepr } from "./errors.js";
import { pyEquals, pyTypeName } from "./pyjson.js";

export const BOUNDARY_ID = 0;
const MALFORMED = "malformed vocabulary: expected {'boundary_id': 0, 'chars': [...]}";

export class Vocab {
  /** @param {string[]} chars characters in id order: chars[i] has id i + 1 */
  constructor(chars) {
    if (!Array.isArray(chars) || chars.length === 0) throw new VocabError("the vocabulary is empty");
    if (chars.some((c) => typeof c !== "string" || [...c].length !== 1)) {
      throw new VocabError("the vocabulary must hold single characters");
    }
    if (new Set(chars).size !== chars.length) throw new VocabError("the vocabulary holds a character twice");
    /** @type {readonly string[]} */
    this.chars = Object.freeze([...chars]);
    /** @type {Map<string, number>} */
    this.index = new Map(chars.map((c, i) => [c, i + 1]));
  }

  /** Number of ids, the boundary token included. */
  get size() {
    return this.chars.length + 1;
  }

  /**
   * Characters of `text` that have no id, in order of first appearance.
   * @param {string} text
   * @returns {string[]}
   */
  unknownChars(text) {
    return [...new Set([...text].filter((c) => !this.index.has(c)))];
  }

  /**
   * Ids of the characters of `text` (no boundary tokens added); VocabError names unknown characters.
   * @param {string} text
   * @returns {number[]}
   */
  encode(text) {
    const unknown = this.unknownChars(text);
    if (unknown.length) {
      throw new VocabError(
        `characters not in the vocabulary: ${pyRepr(unknown.join(""))} (allowed: ${pyRepr(this.chars.join(""))})`,
      );
    }
    return [...text].map((c) => /** @type {number} */ (this.index.get(c)));
  }

  /**
   * Text of `ids`; boundary tokens are dropped.
   * @param {Iterable<number>} ids
   */
  decode(ids) {
    let text = "";
    for (const id of ids) if (id !== BOUNDARY_ID) text += this.chars[id - 1];
    return text;
  }

  toDict() {
    return { boundary_id: BOUNDARY_ID, chars: [...this.chars] };
  }

  /**
   * A vocabulary from its dict, as Vocab.from_dict in Python: a plain object or a pyjson.js `loads` Map;
   * `chars` may be any Python iterable (a list, a string's characters, a dict's keys).
   * @param {any} data
   */
  static fromDict(data) {
    const isMap = data instanceof Map;
    if (data === null || typeof data !== "object" || Array.isArray(data)) throw new VocabError(MALFORMED);
    const get = (/** @type {string} */ key) => (isMap ? data.get(key) : Object.hasOwn(data, key) ? data[key] : undefined);
    if (!pyEquals(get("boundary_id") ?? null, BOUNDARY_ID) || get("chars") === undefined) throw new VocabError(MALFORMED);
    const chars = get("chars");
    if (Array.isArray(chars)) return new Vocab(chars);
    if (typeof chars === "string") return new Vocab([...chars]);
    if (chars instanceof Map) return new Vocab([...chars.keys()]);
    if (chars !== null && typeof chars === "object") return new Vocab(Object.keys(chars));
    throw new VocabError(`'${pyTypeName(chars)}' object is not iterable`);
  }
}
