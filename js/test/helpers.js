// Shared by the tests: the repository root, fixtures, and models loaded with onnxruntime-node.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { loadModel, readOnnxProps } from "../src/index.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = path.join(ROOT, "js", "test", "fixtures");
export { ort };

/** @param {string} name e.g. "step.json" */
export function fixture(name) {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8"));
}

/** @param {string} relative a path relative to the repository root */
export function load(relative, options = {}) {
  return loadModel(path.join(ROOT, relative), { ort, threads: 1, ...options });
}

/** @param {AsyncIterable<string>} stream */
export async function collect(stream) {
  const out = [];
  for await (const item of stream) out.push(item);
  return out;
}

// ONNX ModelProto field numbers (onnx.proto): metadata_props, and StringStringEntryProto's key and value.
const MODEL_METADATA = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** @param {number} value */
function varint(value) {
  const out = [];
  do {
    out.push((value & 0x7f) | (value > 0x7f ? 0x80 : 0));
    value = Math.floor(value / 128);
  } while (value);
  return out;
}

/**
 * The top-level fields of a protobuf message: [number, bytes of the whole field], in order.
 * @param {Uint8Array} data
 * @returns {[number, Uint8Array, Uint8Array | null][]} number, the field's bytes, a LEN field's payload
 */
function topFields(data) {
  const fields = [];
  let pos = 0;
  const read = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      const byte = data[pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
  };
  while (pos < data.length) {
    const start = pos;
    const key = read();
    const wire = key % 8;
    let payload = null;
    if (wire === 0) read();
    else if (wire === 2) {
      const size = read();
      payload = data.subarray(pos, pos + size);
      pos += size;
    } else pos += wire === 1 ? 8 : 4;
    fields.push([Math.floor(key / 8), data.subarray(start, pos), payload]);
  }
  return /** @type {[number, Uint8Array, Uint8Array | null][]} */ (fields);
}

/** @param {number} number @param {Uint8Array} payload */
const lenField = (number, payload) => Buffer.concat([Buffer.from([...varint(number * 8 + 2), ...varint(payload.length)]), payload]);

/**
 * A copy of .onnx bytes with some wavenet_edge.* metadata changed (null: removed), as rewrite_props in
 * tests/model_files.py: the other fields as they were, the metadata entries after them.
 * @param {Uint8Array} data @param {Record<string, string | null>} changes keys without "wavenet_edge."
 */
export function rewriteProps(data, changes) {
  const props = readOnnxProps(data);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete props[`wavenet_edge.${key}`];
    else props[`wavenet_edge.${key}`] = value;
  }
  const kept = topFields(data).filter(([number]) => number !== MODEL_METADATA).map(([, bytes]) => bytes);
  const entries = Object.entries(props).map(([key, value]) => lenField(MODEL_METADATA, Buffer.concat([
    lenField(ENTRY_KEY, Buffer.from(key)), lenField(ENTRY_VALUE, Buffer.from(value))])));
  return Buffer.concat([...kept, ...entries]);
}
