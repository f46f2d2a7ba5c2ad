// The package as npm ships it: `npm pack`, installed offline into a fresh app, gives the Python runtime's
// names from the model it carries (shippedModel()), through the API and the wavenet-edge command.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as fs from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { ModelFileError, SHIPPED_MODELS, shippedModel } from "../src/index.js";
import { readFile as browserReadFile } from "../src/read_file.browser.js";
import { ROOT, fixture } from "./helpers.js";
import { JS, packedApp } from "./packed.js";

const int8 = fixture("int8.json").models.find((m) => m.model === "models/wavenet.int8.onnx").generate[0];
const plain = fixture("browser.json").cases.find((c) => c.query.n === 5000); // wn-generate -n 5000 --seed 1

test("the shipped models are the repository's models/wavenet.onnx and .int8.onnx (else: node scripts/copy_model.mjs)", () => {
  assert.equal(fixture("browser.json").model, "models/wavenet.onnx");
  assert.deepEqual(SHIPPED_MODELS, { default: "wavenet.onnx", "default-int8": "wavenet.int8.onnx" });
  assert.equal(shippedModel(), path.join(JS, "models", "wavenet.onnx"));
  for (const [name, file] of Object.entries(SHIPPED_MODELS)) {
    assert.equal(shippedModel(name), path.join(JS, "models", file));
    assert.ok(readFileSync(shippedModel(name)).equals(readFileSync(path.join(ROOT, "models", file))), file);
  }
  assert.throws(() => shippedModel("large"), (err) => err instanceof ModelFileError
    && err.message === "shipped model 'large' is in the Python package only (the npm package ships default, "
      + "default-int8): pass the path or URL of wavenet-large.onnx instead");
  assert.throws(() => shippedModel("tiny"), (err) => err instanceof ModelFileError
    && err.message === "no shipped model named 'tiny' (choose from: default, default-int8)");
});

test("npm pack, installed offline into a fresh app: shippedModel() gives Python's names (API and command)", (t) => {
  const { app, files } = packedApp(t, ["onnxruntime-node"]);
  for (const file of ["LICENSE", "README.md", "bin/wavenet-edge.js", "models/wavenet.onnx", "models/wavenet.int8.onnx", "package.json",
    "src/index.d.ts", "src/index.js", "src/read_file.browser.js", "src/read_file.node.js", "src/shipped.js"]) {
    assert.ok(files.includes(file), file);
  }
  assert.deepEqual(files.filter((f) => !/^(src|bin|models)\//.test(f)), ["LICENSE", "README.md", "package.json"]);

  writeFileSync(path.join(app, "main.js"), `
    import * as ort from "onnxruntime-node";
    import { loadModel, shippedModel } from "wavenet-edge";
    const model = await loadModel(shippedModel(), { ort, threads: 1 });
    const names = [];
    for await (const name of model.generate(5000, { seed: 1 })) names.push(name);
    const small = await loadModel(shippedModel("default-int8"), { ort, threads: 1 });
    const int8 = [];
    for await (const name of small.generate(${int8.n}, ${JSON.stringify(int8.options)})) int8.push(name);
    console.log(JSON.stringify({ path: shippedModel(), names, int8 }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" }));
  assert.equal(out.path, path.join(app, "node_modules", "wavenet-edge", "models", "wavenet.onnx"));
  assert.deepEqual(plain.query, { n: 5000, seed: 1 });
  assert.deepEqual(out.names, plain.names); // = wn-generate -n 5000 --seed 1 (make_fixtures.py)
  assert.deepEqual(out.int8, int8.names);
  // npx wavenet-edge generate -n 5000 --seed 1 (no model option: the shipped default) prints wn-generate's lines
  const printed = execFileSync(path.join(app, "node_modules", ".bin", "wavenet-edge"),
    ["generate", "-n", "5000", "--seed", "1"], { cwd: app, encoding: "utf8", maxBuffer: 1 << 24 });
  assert.equal(printed, plain.names.map((name) => `${name}\n`).join(""));
});

test("#read-file (package.json imports): node:fs/promises in Node; the browser's says to pass a URL", async () => {
  assert.equal((await import("#read-file")).readFile, fs.readFile);
  await assert.rejects(browserReadFile("models/x.onnx"), { message: "this is wavenet-edge's browser build, which "
    + "reads no local files: pass a URL (http:, https:, blob:, data:) or the model's bytes instead of "
    + '"models/x.onnx"' });
});

test("engines: require(\"wavenet-edge\") (require of ES modules) works on the Node versions package.json names", () => {
  const { engines } = JSON.parse(readFileSync(path.join(JS, "package.json"), "utf8"));
  assert.equal(engines.node, "^20.19.0 || >=22.12.0");
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major === 20 && minor < 19 || major === 21 || major === 22 && minor < 12) return; // not one of them
  const out = execFileSync(process.execPath, ["-e", 'console.log(require("wavenet-edge").shippedModel())'],
    { cwd: JS, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(out.trim(), shippedModel());
});
