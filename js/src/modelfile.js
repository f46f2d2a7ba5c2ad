/**
 * Read the `metadata_props` of an .onnx file from its bytes, without a protobuf package: onnxruntime's
 * JavaScript sessions do not expose them (the Python runtime gets them from get_modelmeta()).
 *
 *     const props = readOnnxProps(bytes, "model.onnx");   // {"wavenet_edge.graph": "step", ...}
 *
 * An ONNX file is a serialized `ModelProto`. Walking its top-level fields (skipping the graph by its
 * length) tells a foreign file from a truncated one and reads `metadata_props` (field 14: key 1, value 2).
 */
import { ModelFileError } from "./errors.js";

// ModelProto field numbers (onnx/onnx.proto)
const IR_VERSION = 1;
const GRAPH = 7;
const METADATA_PROPS = 14;
const KNOWN_FIELDS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 21, 25]);
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;
const ORT_FORMAT_ID = "ORTM"; // flatbuffers file identifier of ONNX Runtime's .ort format

class Truncated extends Error {}
class Malformed extends Error {}

/**
 * @param {Uint8Array} data
 * @param {number} pos
 * @returns {[number, number]} value (exact below 2^53) and the position after it
 */
function varint(data, pos) {
  let value = 0;
  let scale = 1;
  for (let shift = 0; shift < 64; shift += 7) {
    if (pos >= data.length) throw new Truncated();
    const byte = data[pos++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (!(byte & 0x80)) return [value, pos];
  }
  throw new Malformed();
}

/**
 * Yield [field number, wire type, value] of a message; LEN values are subarrays, others numbers.
 * @param {Uint8Array} data
 * @param {Set<number> | null} known
 * @returns {Generator<[number, number, number | Uint8Array]>}
 */
function* fields(data, known) {
  let pos = 0;
  while (pos < data.length) {
    let key;
    [key, pos] = varint(data, pos);
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (number === 0 || (known !== null && !known.has(number))) throw new Malformed();
    if (wire === VARINT) {
      let value;
      [value, pos] = varint(data, pos);
      yield [number, wire, value];
    } else if (wire === LEN) {
      let length;
      [length, pos] = varint(data, pos);
      if (pos + length > data.length) throw new Truncated();
      yield [number, wire, data.subarray(pos, pos + length)];
      pos += length;
    } else if (wire === FIXED64 || wire === FIXED32) {
      const size = wire === FIXED64 ? 8 : 4;
      if (pos + size > data.length) throw new Truncated();
      pos += size;
      yield [number, wire, 0];
    } else {
      throw new Malformed();
    }
  }
}

/** @param {Uint8Array} data */
function isOrtFormat(data) {
  return data.length >= 8 && String.fromCharCode(...data.subarray(4, 8)) === ORT_FORMAT_ID;
}

/**
 * `metadata_props` of serialized ModelProto bytes; ModelFileError in one line for foreign, truncated,
 * empty or ORT-format bytes.
 * @param {Uint8Array} data
 * @param {string} [where] what to call the file in messages
 * @returns {Record<string, string>}
 */
export function readOnnxProps(data, where = "model") {
  if (!data.length) throw new ModelFileError(`${where}: empty file, not an ONNX model`);
  if (isOrtFormat(data)) {
    throw new ModelFileError(
      `${where}: an ORT-format file; the JavaScript runtime reads the .onnx file (its metadata is in the ONNX protobuf)`,
    );
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const seen = new Set();
  /** @type {Record<string, string>} */
  const props = {};
  try {
    for (const [number, wire, value] of fields(data, KNOWN_FIELDS)) {
      seen.add(number);
      if (number !== METADATA_PROPS) continue;
      if (wire !== LEN) throw new Malformed();
      /** @type {Record<number, string>} */
      const entry = {};
      for (const [n, w, v] of fields(/** @type {Uint8Array} */ (value), new Set([1, 2]))) {
        if (w === LEN) entry[n] = decoder.decode(/** @type {Uint8Array} */ (v));
      }
      props[entry[1] ?? ""] = entry[2] ?? "";
    }
  } catch (err) {
    if (err instanceof Truncated && seen.has(IR_VERSION)) {
      throw new ModelFileError(`${where}: truncated ONNX file (a field runs past the end of the file)`);
    }
    if (err instanceof Truncated || err instanceof Malformed || err instanceof TypeError) {
      throw new ModelFileError(`${where}: not an ONNX model`);
    }
    throw err;
  }
  if (!seen.has(IR_VERSION)) throw new ModelFileError(`${where}: not an ONNX model`);
  if (!seen.has(GRAPH)) throw new ModelFileError(`${where}: truncated ONNX file (no graph)`);
  return props;
}
