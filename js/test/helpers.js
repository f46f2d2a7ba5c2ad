// Shared by the tests: the repository root, fixtures, and models loaded with onnxruntime-node.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { loadModel } from "../src/index.js";

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
