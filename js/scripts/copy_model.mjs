// Copy the shipped models (the repository's models/wavenet.onnx and models/wavenet.int8.onnx, named "default"
// and "default-int8" in both runtimes) into the package (js/models/), as `npm pack` ships them:
//     node scripts/copy_model.mjs        (run by `npm pack` / `npm publish` through "prepack")
// js/test/package.test.js checks that the committed copies are still the repository's files.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FILES = ["wavenet.onnx", "wavenet.int8.onnx"];

mkdirSync(path.join(JS, "models"), { recursive: true });
for (const file of FILES) {
  const from = path.join(JS, "..", "models", file);
  const to = path.join(JS, "models", file);
  copyFileSync(from, to);
  console.log(`copied ${path.relative(JS, from)} to ${path.relative(JS, to)}`);
}
