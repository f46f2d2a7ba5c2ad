/**
 * The models that ship inside the package (the twin of shipped_model_path in runtime/model.py), under the
 * Python runtime's names: "default" (models/wavenet.onnx, float32, the model wn-generate uses with no
 * option) and "default-int8" (models/wavenet.int8.onnx, its int8 copy: a third of the size, other names).
 *
 *     import * as ort from "onnxruntime-node";
 *     const model = await loadModel(shippedModel(), { ort });   // a file path in Node, a URL elsewhere
 */
import { ModelFileError, pyRepr } from "./errors.js";

/** name -> file in the package's models/ folder */
export const SHIPPED_MODELS = Object.freeze({ default: "wavenet.onnx", "default-int8": "wavenet.int8.onnx" });

/** The Python package's other shipped models, which the npm package leaves out (size): name -> file. */
const PYTHON_ONLY = Object.freeze({ large: "wavenet-large.onnx", "large-int8": "wavenet-large.int8.onnx" });

/**
 * The files' URLs, each a literal `new URL("...", import.meta.url)`: bundlers that follow that pattern
 * (vite's build, webpack 5, rollup's URL plugins) copy the file into their output and give its URL.
 * @type {Record<string, () => URL>}
 */
const URLS = {
  default: () => new URL("../models/wavenet.onnx", import.meta.url),
  "default-int8": () => new URL("../models/wavenet.int8.onnx", import.meta.url),
};

/** URL (href) -> shipped name, for the URLs shippedModel has given (loadModel's hint when one is not served). */
const GIVEN = new Map();

/**
 * The shipped name of a URL that shippedModel gave, or null.
 * @param {unknown} source
 * @returns {string | null}
 */
export function shippedNameOf(source) {
  return GIVEN.get(String(source)) ?? null;
}

/**
 * Where a model installed with the package is: a file path in Node (file: URLs), the URL elsewhere: next to
 * this module when it is served as it is (a CDN, an import map), or where the bundler put the file. esbuild
 * copies no such file: import it instead, `import url from "wavenet-edge/models/wavenet.onnx"` with
 * `--loader:.onnx=file` (README, Bundlers). ModelFileError for an unknown name, or where this module has no
 * URL (a bundle in a format without `import.meta`, e.g. esbuild's iife).
 * @param {string} [name] "default" (float32) or "default-int8"
 * @returns {string}
 */
export function shippedModel(name = "default") {
  if (Object.hasOwn(PYTHON_ONLY, name)) {
    throw new ModelFileError(`shipped model ${pyRepr(name)} is in the Python package only (the npm package ships `
      + `${Object.keys(SHIPPED_MODELS).join(", ")}): pass the path or URL of ${PYTHON_ONLY[name]} instead`);
  }
  if (typeof name !== "string" || !Object.hasOwn(SHIPPED_MODELS, name)) {
    throw new ModelFileError(`no shipped model named ${pyRepr(String(name))} (choose from: `
      + `${Object.keys(SHIPPED_MODELS).join(", ")})`);
  }
  const file = SHIPPED_MODELS[/** @type {keyof typeof SHIPPED_MODELS} */ (name)];
  let url;
  try {
    url = URLS[name]();
  } catch {
    throw new ModelFileError(`shippedModel(${pyRepr(name)}): this build of wavenet-edge has no import.meta.url `
      + `(a bundle in a format without it?): pass the model's URL, e.g. import it from `
      + `"wavenet-edge/models/${file}" (README, Bundlers)`);
  }
  if (url.protocol !== "file:") {
    GIVEN.set(url.href, name);
    return url.href;
  }
  const path = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1).replaceAll("/", "\\") : path; // C:\... on Windows
}
