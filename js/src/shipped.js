/**
 * The model that ships inside the package (the twin of shipped_model_path in runtime/model.py): the default
 * model, int8 (models/wavenet.int8.onnx of the repository, 130 kB).
 *
 *     import * as ort from "onnxruntime-node";
 *     const model = await loadModel(shippedModel(), { ort });   // a file path in Node, a URL elsewhere
 */
import { ModelFileError, pyRepr } from "./errors.js";

/** name -> file in the package's models/ folder */
export const SHIPPED_MODELS = Object.freeze({ default: "wavenet.int8.onnx" });

/**
 * The files' URLs, each a literal `new URL("...", import.meta.url)`: bundlers that follow that pattern
 * (vite's build, webpack 5, rollup's URL plugins) copy the file into their output and give its URL.
 * @type {Record<keyof SHIPPED_MODELS, () => URL>}
 */
const URLS = { default: () => new URL("../models/wavenet.int8.onnx", import.meta.url) };

/**
 * Where a model installed with the package is: a file path in Node (file: URLs), the URL elsewhere: next to
 * this module when it is served as it is (a CDN, an import map), or where the bundler put the file. esbuild
 * copies no such file: import it instead, `import url from "wavenet-edge/models/wavenet.int8.onnx"` with
 * `--loader:.onnx=file` (README, Bundlers). ModelFileError for an unknown name, or where this module has no
 * URL (a bundle in a format without `import.meta`, e.g. esbuild's iife).
 * @param {string} [name] "default"
 * @returns {string}
 */
export function shippedModel(name = "default") {
  if (!Object.hasOwn(SHIPPED_MODELS, name)) {
    throw new ModelFileError(`no shipped model named ${pyRepr(String(name))} (choose from: `
      + `${Object.keys(SHIPPED_MODELS).join(", ")})`);
  }
  let url;
  try {
    url = URLS[/** @type {"default"} */ (name)]();
  } catch {
    throw new ModelFileError(`shippedModel(${pyRepr(name)}): this build of wavenet-edge has no import.meta.url `
      + `(a bundle in a format without it?): pass the model's URL, e.g. import it from `
      + `"wavenet-edge/models/${SHIPPED_MODELS[/** @type {"default"} */ (name)]}" (README, Bundlers)`);
  }
  if (url.protocol !== "file:") return url.href;
  const file = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:\//.test(file) ? file.slice(1).replaceAll("/", "\\") : file; // C:\... on Windows
}
