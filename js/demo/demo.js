/**
 * The demo page: wavenet-edge on onnxruntime-web (wasm, one thread). Query parameters `n`, `seed`,
 * `temperature`, `topK`, `topP`, `prefix`, `batch` and `model` (a URL relative to this page, on its own
 * origin only) fill the form and generate at once (`n` at most MAX_NAMES); a bad value is an error on the
 * page that names it as given; the names go, in order, into `<ol id="names">` as `<li>` elements, as
 * `wn-generate` prints them for the same options (empty names skipped). When done, `#status` carries
 * data-state="done", the time to the first name from the page's start (data-first-ms) and the
 * generation's characters and milliseconds (data-chars, data-ms), for the browser test and benchmark.
 *
 * The autocomplete box (autocomplete.js) lists the `k` (default 8) most likely names that start with its
 * text in `<ol id="completions">`, as the user types, with the form's model (its own session, so that a
 * long generation does not hold it up); `complete=ka&k=8` fills the box and lists them at once.
 */
import * as ort from "onnxruntime-web";
import { loadModel } from "../src/index.js";
import { setupAutocomplete } from "./autocomplete.js";
import { takingTurns } from "./turns.js";

ort.env.wasm.wasmPaths = new URL("../node_modules/onnxruntime-web/dist/", import.meta.url).href;
ort.env.wasm.numThreads = 1;
const turns = takingTurns(ort); // the generation and the autocomplete share the wasm backend: one run at a time

export const MAX_NAMES = 10_000; // names one page asks for: more would only keep the tab busy
export const COMPLETIONS = 8; // names the autocomplete box lists (query parameter k)

const form = /** @type {HTMLFormElement} */ (document.getElementById("controls"));
const about = /** @type {HTMLElement} */ (document.getElementById("about"));
const status = /** @type {HTMLElement} */ (document.getElementById("status"));
const list = /** @type {HTMLOListElement} */ (document.getElementById("names"));
const query = new URLSearchParams(location.search);
/** @type {Map<string, Promise<import("../src/model.js").WavenetModel>>} */
const models = new Map();
/** the autocomplete's sessions of the same files @type {Map<string, Promise<import("../src/model.js").WavenetModel>>} */
const completers = new Map();

for (const key of ["n", "seed", "temperature", "topK", "topP", "prefix"]) {
  if (query.has(key)) form.elements.namedItem(key).value = query.get(key);
}
/**
 * The model URL, resolved against the page: only files of the page's own origin (another site's file
 * would run in this page with its claims about itself); null when it is elsewhere.
 * @param {string} text
 */
function ownModelUrl(text) {
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    return null;
  }
  return url.origin === location.origin ? url : null;
}

const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem("model"));
/** a ?model= the page refuses: said in place of names */
let refusedModel = null;
if (query.has("model")) {
  const wanted = /** @type {string} */ (query.get("model"));
  if (ownModelUrl(wanted) === null) {
    refusedModel = wanted;
  } else {
    if (![...select.options].some((o) => o.value === wanted)) select.add(new Option(wanted, wanted));
    select.value = wanted;
  }
}
if (!form.elements.namedItem("seed").value) form.elements.namedItem("seed").value = String(Math.floor(Math.random() * 2 ** 31));

/** @param {string} url @param {Map<string, Promise<any>>} [cache] */
function model(url, cache = models) {
  const resolved = ownModelUrl(url);
  if (resolved === null) {
    return Promise.reject(new Error(`model ${JSON.stringify(url)}: only models from this page's own origin `
      + `(${location.origin}) are loaded`));
  }
  if (!cache.has(url)) cache.set(url, loadModel(resolved.href, { ort: turns, threads: 1, name: url }));
  return /** @type {Promise<any>} */ (cache.get(url));
}

const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;
/**
 * A number field's value: the number it spells, else the text as typed (the library's message then names
 * it as given: "got 'abc' (a string, not a number)", never "got 0"). Empty optional fields are null.
 * @param {FormDataEntryValue | null} value @param {boolean} [optional]
 */
function numberField(value, optional = false) {
  const text = String(value ?? "");
  if (optional && text.trim() === "") return null;
  return NUMBER.test(text) ? Number(text) : text;
}

async function generate() {
  const f = new FormData(form);
  status.dataset.state = "running";
  status.className = "";
  status.textContent = "";
  list.replaceChildren();
  try {
    if (refusedModel !== null) {
      const wanted = refusedModel;
      refusedModel = null; // the form's own models work after this
      await model(wanted);
    }
    const m = await model(String(f.get("model")));
    const meta = m.metadata;
    about.textContent = `${meta.graph} graph, ${meta.parameters.toLocaleString("en")} parameters, val loss `
      + `${meta.metrics.val_loss?.toFixed(4) ?? "?"} nats/char, trained ${meta.metrics.step ?? "?"} steps `
      + `(format ${meta.formatVersion}, wavenet-edge ${meta.packageVersion})`;
    const asked = numberField(f.get("n"));
    const n = typeof asked === "number" && asked > MAX_NAMES ? MAX_NAMES : asked;
    const capped = n !== asked ? ` (count capped at ${MAX_NAMES.toLocaleString("en")}: asked for ${asked})` : "";
    const start = performance.now();
    let chars = 0;
    let batch = [];
    const names = m.generate(/** @type {any} */ (n), {
      seed: String(f.get("seed")).trim(), temperature: /** @type {any} */ (numberField(f.get("temperature"))),
      topK: /** @type {any} */ (numberField(f.get("topK"), true)), topP: /** @type {any} */ (numberField(f.get("topP"), true)),
      prefix: String(f.get("prefix")), // empty names are skipped, as wn-generate skips them
      batchSize: query.has("batch") ? /** @type {any} */ (numberField(query.get("batch")))
        : typeof n === "number" ? Math.max(1, Math.min(256, Math.floor(n))) : 256, // the names do not depend on it
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
    status.textContent = `${n} names, ${chars} characters in ${ms.toFixed(0)} ms (${(ms * 1000 / chars).toFixed(1)} µs per character, onnxruntime-web wasm, 1 thread)${capped}`;
  } catch (err) {
    list.replaceChildren();
    about.textContent = ""; // nothing loaded, or nothing of it shown: no stale description
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

const completeBox = /** @type {HTMLInputElement} */ (document.getElementById("complete"));
const autocomplete = setupAutocomplete({
  input: completeBox,
  list: /** @type {HTMLOListElement} */ (document.getElementById("completions")),
  status: /** @type {HTMLElement} */ (document.getElementById("complete-status")),
  model: () => model(select.value, completers),
  k: query.has("k") ? numberField(query.get("k")) : COMPLETIONS,
});
select.addEventListener("change", () => autocomplete());
if (query.has("complete")) {
  completeBox.value = /** @type {string} */ (query.get("complete"));
  autocomplete();
}
