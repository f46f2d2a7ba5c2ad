// Copy the default int8 model (models/wavenet.int8.onnx) into the package (js/models/), as `npm pack` ships it:
//     node scripts/copy_model.mjs        (run by `npm pack` / `npm publish` through "prepack")
// js/test/package.test.js checks that the committed copy is still the repository's file.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FROM = path.join(JS, "..", "models", "wavenet.int8.onnx");
const TO = path.join(JS, "models", "wavenet.int8.onnx");

mkdirSync(path.dirname(TO), { recursive: true });
copyFileSync(FROM, TO);
console.log(`copied ${path.relative(JS, FROM)} to ${path.relative(JS, TO)}`);
