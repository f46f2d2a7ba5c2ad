// The demo page in headless Chromium (onnxruntime-web, wasm) shows the Python runtime's names.
// wasm logits differ from the native ones by ~1e-6, so a draw near a tie can differ: the short fixed-seed
// pages must match exactly; over 5,000 names the agreement rate must stay above MIN_AGREEMENT.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { ROOT, launchChromium, openDemo, serveRoot } from "../../bench/browser.js";

const MIN_AGREEMENT = 0.99;
const fixture = JSON.parse(readFileSync(path.join(ROOT, "js/test/fixtures/browser.json"), "utf8"));
let server;
let browser;

before(async () => {
  server = await serveRoot();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

for (const { query, names } of fixture.cases) {
  test(`demo page ${new URLSearchParams(query)}: ${names.length <= 100 ? "the same names" : "agreement"}`, async (t) => {
    const { names: got, about, page } = await openDemo(browser, server.url, query);
    await page.close();
    assert.match(about, /parameters, val loss \d\.\d{4}/);
    assert.equal(got.length, names.length);
    if (names.length <= 100) {
      assert.deepEqual(got, names);
      return;
    }
    const same = got.filter((name, i) => name === names[i]).length;
    t.diagnostic(`agreement with the Python runtime: ${same}/${names.length} = ${(same / names.length).toFixed(4)}`);
    assert.ok(same / names.length >= MIN_AGREEMENT, `agreement ${same}/${names.length}`);
  });
}

test("demo page: the int8 model and a bad model URL", async () => {
  const { names, page } = await openDemo(browser, server.url, { n: 5, seed: 1, model: "../../models/wavenet.int8.onnx" });
  await page.close();
  assert.equal(names.length, 5);
  await assert.rejects(openDemo(browser, server.url, { n: 5, seed: 1, model: "nope.onnx" }), /nope\.onnx: HTTP 404/);
});
