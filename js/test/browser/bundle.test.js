// The package through a bundler: `npm pack`, installed offline into a fresh app with onnxruntime-web, its page
// (test/fixtures/bundle-app/) bundled by esbuild for the browser with nothing marked external, served from
// 127.0.0.1 and opened in headless Chromium, gives `wn-generate -n 10 --seed 1`'s names from the model in the
// package; every file the page asks for comes from its own origin.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import * as esbuild from "esbuild";
import { ROOT, launchChromium, serveDir } from "../../bench/browser.js";
import { packedApp } from "../packed.js";

const APP = path.join(ROOT, "js", "test", "fixtures", "bundle-app");
const browserFixture = JSON.parse(readFileSync(path.join(ROOT, "js", "test", "fixtures", "browser.json"), "utf8"));
const plain = browserFixture.cases.find((/** @type {any} */ c) => c.query.n === 24 && c.query.seed === 1); // wn-generate -n 24 --seed 1
let browser;

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test("npm pack + esbuild --platform=browser (nothing external) + headless Chromium: wn-generate's names", async (t) => {
  const { app } = packedApp(t, ["onnxruntime-web"]);
  copyFileSync(path.join(APP, "main.js"), path.join(app, "main.js"));
  const dist = path.join(app, "dist");
  const built = await esbuild.build({
    absWorkingDir: app, entryPoints: ["main.js"], bundle: true, platform: "browser", format: "esm", outdir: "dist",
    loader: { ".onnx": "file", ".wasm": "file" }, metafile: true, logLevel: "silent",
  });
  assert.deepEqual([...built.errors, ...built.warnings], []);
  copyFileSync(path.join(APP, "index.html"), path.join(dist, "index.html"));

  // the browser build of wavenet-edge: no node: import, the file reader chosen by the "browser" condition
  const ours = Object.entries(built.metafile.inputs).filter(([file]) => file.startsWith("node_modules/wavenet-edge/"));
  assert.ok(ours.some(([file]) => file === "node_modules/wavenet-edge/src/read_file.browser.js"));
  assert.ok(!ours.some(([file]) => file.endsWith("read_file.node.js")));
  for (const [file, input] of ours) assert.deepEqual(input.imports.filter((i) => i.path.startsWith("node:")), [], file);
  const emitted = Object.keys(built.metafile.outputs).map((file) => path.basename(file)).sort();
  assert.ok(emitted.some((f) => /^wavenet-\w+\.onnx$/.test(f)), emitted.join(" "));
  assert.ok(emitted.some((f) => /^ort-wasm-simd-threaded-\w+\.wasm$/.test(f)), emitted.join(" "));

  const server = await serveDir(dist);
  t.after(() => server.close());
  const page = await browser.newPage();
  t.after(() => page.close());
  const requests = [];
  const responses = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("response", (response) => responses.push(`${response.status()} ${response.url()}`));
  await page.goto(`${server.url}/index.html?n=10&seed=1`);
  const t0 = Date.now();
  await page.waitForSelector("#out[data-state]", { timeout: 120_000 });
  t.diagnostic(`page done in ${Date.now() - t0} ms`);
  const [state, text] = await page.$eval("#out", (out) => [out.dataset.state, out.textContent]);
  assert.equal(state, "done", text);
  const shown = JSON.parse(text ?? "");
  assert.deepEqual(shown.names, plain.names.slice(0, 10));
  assert.match(shown.model, /^\.\/wavenet-\w+\.onnx$/);
  // shippedModel() in a bundle: the package's models/ file next to the bundle's own URL (esbuild copies none),
  // and loading it fails in one line that names the README's section
  assert.equal(shown.shipped, `${server.url}/models/wavenet.onnx`);
  assert.equal(shown.shippedError, `ModelFileError: ${server.url}/models/wavenet.onnx: HTTP 404 Not Found `
    + "(shippedModel('default') points next to wavenet-edge's modules, where this app does not serve the model file: "
    + "import the file's URL instead, as the README's section \"Bundlers\" shows)");
  assert.deepEqual(requests.filter((url) => !url.startsWith(`${server.url}/`)), []);
  assert.deepEqual(responses.filter((r) => !r.startsWith("200 ")), [`404 ${server.url}/models/wavenet.onnx`]);
  assert.ok(requests.some((url) => /\/ort-wasm-simd-threaded-\w+\.wasm$/.test(url)), requests.join("\n"));
});

test("esbuild's default format (iife, no import.meta) builds quietly; shippedModel() says to pass a URL", async (t) => {
  const { app } = packedApp(t, []);
  writeFileSync(path.join(app, "main.js"), `import { shippedModel } from "wavenet-edge";
    try { shippedModel(); } catch (err) { console.log(err.name + ": " + err.message); }`);
  const built = await esbuild.build({
    absWorkingDir: app, entryPoints: ["main.js"], bundle: true, platform: "browser", outfile: "out.js",
    logLevel: "silent",
  });
  assert.deepEqual([...built.errors, ...built.warnings], []); // esbuild says nothing of import.meta in node_modules
  assert.equal(execFileSync(process.execPath, ["out.js"], { cwd: app, encoding: "utf8" }).trim(), "ModelFileError: "
    + "shippedModel('default'): this build of wavenet-edge has no import.meta.url (a bundle in a format without it?): "
    + 'pass the model\'s URL, e.g. import it from "wavenet-edge/models/wavenet.onnx" (README, Bundlers)');
});
