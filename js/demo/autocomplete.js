/**
 * The demo page's autocomplete box: as the user types, the k most likely complete names that start with
 * the text (model.complete: exact, the list `wn-complete --prefix TEXT -k K` prints), with their
 * probabilities, in `<ol id="completions">` as `<li data-name data-probability>` elements.
 *
 * One search runs at a time: keystrokes that arrive meanwhile are folded into one search for the latest
 * text. When a list is shown, the list element carries data-state="done", data-prefix (the text it is for)
 * and data-ms: the milliseconds from the keystroke (the input event's timestamp) to the list in the page;
 * a bad value (a character the model does not know) is shown in red with data-state="error".
 */

/**
 * @param {{ input: HTMLInputElement, list: HTMLOListElement, status: HTMLElement,
 *           model: () => Promise<import("../src/model.js").WavenetModel>, k: unknown }} parts
 *   model: the model to complete with (called for each search: the page's current choice)
 * @returns {(start?: number) => void} search now for the box's text (start: when it was asked for)
 */
export function setupAutocomplete({ input, list, status, model, k }) {
  /** @type {{ prefix: string, start: number } | null} the latest request not yet searched */
  let wanted = null;
  let busy = false;

  /** @param {string} prefix @param {number} start */
  async function show(prefix, start) {
    try {
      const completions = prefix === "" ? [] : await (await model()).complete(prefix, /** @type {number} */ (k));
      if (wanted !== null) return; // the text changed meanwhile: only the latest list is shown
      list.replaceChildren(...completions.map(({ name, probability }) => {
        const item = document.createElement("li");
        Object.assign(item.dataset, { name, probability: String(probability) });
        const label = document.createElement("span");
        label.className = "name";
        label.textContent = name;
        const shown = document.createElement("span");
        shown.className = "probability";
        shown.textContent = `${(probability * 100).toPrecision(3)}%`;
        item.append(label, shown);
        return item;
      }));
      const ms = performance.now() - start;
      Object.assign(list.dataset, { prefix, ms: ms.toFixed(1), state: "done" });
      status.className = "";
      status.textContent = prefix === "" ? "" : `${completions.length} most likely names that start with `
        + `${JSON.stringify(prefix)}, exact (best-first search), in ${ms.toFixed(0)} ms`;
    } catch (err) {
      if (wanted !== null) return;
      list.replaceChildren();
      Object.assign(list.dataset, { prefix, state: "error" });
      status.className = "error";
      status.textContent = `Error: ${/** @type {Error} */ (err).message}`;
    }
  }

  /** @param {number} [start] */
  async function search(start = performance.now()) {
    wanted = { prefix: input.value, start };
    list.dataset.state = "running";
    if (busy) return;
    busy = true;
    try {
      while (wanted !== null) {
        const { prefix, start: asked } = wanted;
        wanted = null;
        await show(prefix, asked);
      }
    } finally {
      busy = false;
    }
  }

  input.addEventListener("input", (event) => search(event.timeStamp));
  input.form?.addEventListener("submit", (event) => event.preventDefault());
  return search;
}
