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

/**
 * Open the demo with `query` and wait for it to finish, done or not: what it shows, the status line's color
 * and every URL the page asked for.
 * @param {Record<string, any>} query
 */
async function showing(query) {
  const page = await browser.newPage();
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  try {
    await page.goto(`${server.url}/js/demo/index.html?${new URLSearchParams(query)}`);
    await page.waitForFunction(() => ["done", "error"].includes(document.getElementById("status")?.dataset.state ?? ""),
      { timeout: 120_000, polling: 50 });
    return {
      ...(await page.evaluate(() => {
        const status = /** @type {HTMLElement} */ (document.getElementById("status"));
        return {
          state: status.dataset.state, text: status.textContent, color: getComputedStyle(status).color,
          about: document.getElementById("about")?.textContent,
          names: [...document.querySelectorAll("#names > li")].map((li) => li.textContent),
        };
      })),
      requests,
    };
  } finally {
    await page.close();
  }
}

const RED = "rgb(176, 0, 32)"; // .error
const TINY = "../../tests/fixtures/tiny-step.onnx";

test("demo page: ?model= from another origin is refused on the page, and nothing is fetched from there", async () => {
  for (const model of ["//evil.example/x.onnx", "https://evil.example/x.onnx", "http://127.0.0.1:1/models/wavenet.onnx",
    "data:application/octet-stream;base64,AAAA"]) {
    const shown = await showing({ n: 5, seed: 1, model });
    assert.equal(shown.state, "error", `${model}: ${shown.text}`);
    assert.match(shown.text, /^Error: model ".*": only models from this page's own origin \(http:\/\/127\.0\.0\.1:\d+\) are loaded$/);
    assert.ok(shown.text.includes(JSON.stringify(model)), shown.text);
    assert.equal(shown.color, RED, "the error style wins over #status");
    assert.equal(shown.about, "");
    assert.deepEqual(shown.names, []);
    assert.deepEqual(shown.requests.filter((url) => !url.startsWith(server.url)), [], model);
  }
});

test("demo page: a failure clears the about box and shows the error in red", async () => {
  const shown = await showing({ n: 5, seed: 1, model: "nope.onnx" });
  assert.equal(shown.state, "error");
  assert.match(shown.text, /^Error: nope\.onnx: HTTP 404 Not Found$/);
  assert.equal(shown.color, RED);
  assert.equal(shown.about, "");
});

test("demo page: non-numeric count and temperature are named as given, not as 0", async () => {
  const cases = [
    [{ n: "abc" }, "Error: n must be a positive integer, got 'abc' (a string, not a number)"],
    [{ n: "" }, "Error: n must be a positive integer, got '' (a string, not a number)"],
    [{ n: "0" }, "Error: n must be a positive integer, got 0"],
    [{ n: 5, temperature: "hot" }, "Error: temperature must be > 0, got 'hot' (a string, not a number)"],
    [{ n: 5, topK: "x" }, "Error: top-k must be an integer >= 1, got 'x' (a string, not a number)"],
  ];
  for (const [query, text] of cases) {
    const shown = await showing({ seed: 1, model: TINY, ...query });
    assert.equal(shown.state, "error", JSON.stringify(query));
    assert.equal(shown.text, text);
    assert.equal(shown.color, RED);
    assert.equal(shown.about, "");
  }
});

test("demo page: the count is capped at 10,000 names, with a message", async () => {
  const shown = await showing({ n: 25000, seed: 1, model: TINY });
  assert.equal(shown.state, "done");
  assert.equal(shown.names.length, 10000);
  assert.match(shown.text, /\(count capped at 10,000: asked for 25000\)$/);
  assert.notEqual(shown.color, RED);
  assert.match(shown.about, /parameters, val loss/);
});
