/**
 * The demo page: wavenet-edge on onnxruntime-web (wasm, one thread). Query parameters `n`, `seed`,
 * `temperature`, `topK`, `topP`, `prefix`, `batch` and `model` (a URL relative to this page) fill the
 * form and generate at once; the names go, in order, into `<ol id="names">` as `<li>` elements, as
 * `wn-generate` prints them for the same options (empty names skipped). When done, `#status` carries
 * data-state="done", the time to the first name from the page's start (data-first-ms) and the
 * generation's characters and milliseconds (data-chars, data-ms), for the browser test and benchmark.
 */
import * as ort from "onnxruntime-web";
import { loadModel } from "../src/index.js";

ort.env.wasm.wasmPaths = new URL("../node_modules/onnxruntime-web/dist/", import.meta.url).href;
ort.env.wasm.numThreads = 1;

const form = /** @type {HTMLFormElement} */ (document.getElementById("controls"));
const about = /** @type {HTMLElement} */ (document.getElementById("about"));
const status = /** @type {HTMLElement} */ (document.getElementById("status"));
const list = /** @type {HTMLOListElement} */ (document.getElementById("names"));
const query = new URLSearchParams(location.search);
/** @type {Map<string, Promise<import("../src/model.js").WavenetModel>>} */
const models = new Map();

for (const key of ["n", "seed", "temperature", "topK", "topP", "prefix"]) {
  if (query.has(key)) form.elements.namedItem(key).value = query.get(key);
}
if (query.has("model")) {
  const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem("model"));
  if (![...select.options].some((o) => o.value === query.get("model"))) select.add(new Option(query.get("model"), query.get("model")));
  select.value = query.get("model");
}
if (!form.elements.namedItem("seed").value) form.elements.namedItem("seed").value = String(Math.floor(Math.random() * 2 ** 31));

/** @param {string} url */
function model(url) {
  if (!models.has(url)) models.set(url, loadModel(new URL(url, location.href).href, { ort, threads: 1, name: url }));
  return /** @type {Promise<any>} */ (models.get(url));
}

/** @param {string} text */
const optionalNumber = (text) => (text.trim() === "" ? null : Number(text));

async function generate() {
  const f = new FormData(form);
  status.dataset.state = "running";
  status.className = "";
  list.replaceChildren();
  try {
    const m = await model(String(f.get("model")));
    const meta = m.metadata;
    about.textContent = `${meta.graph} graph, ${meta.parameters.toLocaleString("en")} parameters, val loss `
      + `${meta.metrics.val_loss?.toFixed(4) ?? "?"} nats/char, trained ${meta.metrics.step ?? "?"} steps `
      + `(format ${meta.formatVersion}, wavenet-edge ${meta.packageVersion})`;
    const n = Number(f.get("n"));
    const start = performance.now();
    let chars = 0;
    let batch = [];
    const names = m.generate(n, {
      seed: String(f.get("seed")).trim(), temperature: Number(f.get("temperature")), topK: optionalNumber(String(f.get("topK"))),
      topP: optionalNumber(String(f.get("topP"))), prefix: String(f.get("prefix")), exclude: [""],
      batchSize: query.has("batch") ? Number(query.get("batch")) : Math.min(256, n), // the names do not depend on it
    });
    for await (const name of names) {
      const item = document.createElement("li");
      item.textContent = name;
      batch.push(item);
      chars += [...name].length + 1;
      if (!status.dataset.firstMs) status.dataset.firstMs = performance.now().toFixed(1);
      if (batch.length >= 64) list.append(...batch.splice(0));
    }
    list.append(...batch);
    const ms = performance.now() - start;
    Object.assign(status.dataset, { chars: String(chars), ms: ms.toFixed(1), state: "done" });
    status.textContent = `${n} names, ${chars} characters in ${ms.toFixed(0)} ms (${(ms * 1000 / chars).toFixed(1)} µs per character, onnxruntime-web wasm, 1 thread)`;
  } catch (err) {
    status.className = "error";
    status.textContent = `Error: ${/** @type {Error} */ (err).message}`;
    status.dataset.state = "error";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  generate();
});
generate();
