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
 * Where a model installed with the package is: a file path in Node (file: URLs), the URL elsewhere (a
 * bundler or a server gives the package's files their own URLs). ModelFileError for an unknown name.
 * @param {string} [name] "default"
 * @returns {string}
 */
export function shippedModel(name = "default") {
  if (!Object.hasOwn(SHIPPED_MODELS, name)) {
    throw new ModelFileError(`no shipped model named ${pyRepr(String(name))} (choose from: `
      + `${Object.keys(SHIPPED_MODELS).join(", ")})`);
  }
  const url = new URL(`../models/${SHIPPED_MODELS[/** @type {"default"} */ (name)]}`, import.meta.url);
  if (url.protocol !== "file:") return url.href;
  const file = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:\//.test(file) ? file.slice(1).replaceAll("/", "\\") : file; // C:\... on Windows
}
