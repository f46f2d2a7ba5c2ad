// Speed of the demo page in headless Chromium (onnxruntime-web, wasm, one thread):
//   node js/bench/browser_speed.mjs --n1 1000 --n256 10000 --repeat 3
// prints one JSON line: first_names_ms (fresh browser, first page: from navigation start to the first name)
// and, per batch size, the best us per character of repeated generations on a warm page.
import { parseArgs } from "node:util";
import { launchChromium, openDemo, serveRoot } from "./browser.js";

const { values } = parseArgs({ options: {
  n1: { type: "string", default: "1000" }, n256: { type: "string", default: "10000" },
  repeat: { type: "string", default: "3" }, model: { type: "string", default: "../../models/wavenet.onnx" },
} });
const server = await serveRoot();
const browser = await launchChromium();
const result = {};
try {
  const first = await openDemo(browser, server.url, { n: 24, seed: 1, model: values.model });
  result.first_names_ms = first.firstMs;
  await first.page.close();
  for (const [batch, n] of [[1, Number(values.n1)], [256, Number(values.n256)]]) {
    const { page } = await openDemo(browser, server.url, { n: 50, seed: 99, batch, model: values.model }); // warm-up
    let best = Infinity;
    for (let r = 0; r < Number(values.repeat); r++) {
      const { ms, chars } = await page.evaluate(async (count) => {
        const status = /** @type {HTMLElement} */ (document.getElementById("status"));
        const form = /** @type {HTMLFormElement} */ (document.getElementById("controls"));
        /** @type {HTMLInputElement} */ (form.elements.namedItem("n")).value = String(count);
        /** @type {HTMLInputElement} */ (form.elements.namedItem("seed")).value = "0";
        status.dataset.state = "";
        form.requestSubmit();
        while (status.dataset.state !== "done") {
          if (status.dataset.state === "error") throw new Error(status.textContent ?? "");
          await new Promise((r) => setTimeout(r, 20));
        }
        return { ms: Number(status.dataset.ms), chars: Number(status.dataset.chars) };
      }, n);
      best = Math.min(best, (ms * 1000) / chars);
    }
    result[`batch_${batch}_us_per_char`] = best;
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(JSON.stringify(result));
