// The package as npm ships it: `npm pack`, installed offline into a fresh app, gives the Python runtime's
// names from the model it carries (shippedModel()), through the API and the wavenet-edge command.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ModelFileError, shippedModel } from "../src/index.js";
import { ROOT, fixture } from "./helpers.js";

const JS = path.join(ROOT, "js");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const plain = fixture("int8.json").models.find((m) => m.model === "models/wavenet.int8.onnx").generate[0];

test("the shipped model is the repository's default int8 file (else: node scripts/copy_model.mjs)", () => {
  assert.equal(shippedModel(), path.join(JS, "models", "wavenet.int8.onnx"));
  assert.ok(readFileSync(shippedModel()).equals(readFileSync(path.join(ROOT, "models", "wavenet.int8.onnx"))));
  assert.throws(() => shippedModel("large"), (err) => err instanceof ModelFileError
    && err.message === "no shipped model named 'large' (choose from: default)");
});

test("npm pack, installed offline into a fresh app: shippedModel() gives Python's names (API and command)", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "wn-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [packed] = JSON.parse(execFileSync(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
    { cwd: JS, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  const files = packed.files.map((/** @type {any} */ f) => f.path).sort();
  for (const file of ["LICENSE", "README.md", "bin/wavenet-edge.js", "models/wavenet.int8.onnx", "package.json",
    "src/index.d.ts", "src/index.js", "src/shipped.js"]) assert.ok(files.includes(file), file);
  assert.deepEqual(files.filter((f) => !/^(src|bin|models)\//.test(f)), ["LICENSE", "README.md", "package.json"]);

  const app = path.join(dir, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync(NPM, ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
    path.join(dir, packed.filename)], { cwd: app, stdio: "ignore" });
  // the app's own onnxruntime-node (the peer dependency): this checkout's, linked as an app would install it
  symlinkSync(realpathSync(path.join(JS, "node_modules", "onnxruntime-node")), path.join(app, "node_modules", "onnxruntime-node"));
  writeFileSync(path.join(app, "main.js"), `
    import * as ort from "onnxruntime-node";
    import { loadModel, shippedModel } from "wavenet-edge";
    const model = await loadModel(shippedModel(), { ort, threads: 1 });
    const names = [];
    for await (const name of model.generate(${plain.n}, ${JSON.stringify(plain.options)})) names.push(name);
    console.log(JSON.stringify({ path: shippedModel(), names }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" }));
  assert.equal(out.path, path.join(realpathSync(app), "node_modules", "wavenet-edge", "models", "wavenet.int8.onnx"));
  assert.deepEqual(out.names, plain.names);
  const printed = execFileSync(path.join(app, "node_modules", ".bin", "wavenet-edge"),
    ["generate", "--onnx", out.path, "-n", "20", "--seed", "1"], { cwd: app, encoding: "utf8" });
  assert.equal(printed, plain.names.slice(0, 20).map((name) => `${name}\n`).join(""));
});
