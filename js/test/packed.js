// Shared by package.test.js and browser/bundle.test.js: the package as npm ships it (`npm pack`), installed
// offline into a fresh app in a temporary folder (deleted after the test), with the app's own onnxruntime
// (the peer dependency) linked from this checkout as an app would install it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/**
 * @param {import("node:test").TestContext} t
 * @param {string[]} runtimes e.g. ["onnxruntime-node"]
 * @returns {{ app: string, files: string[] }} the app's folder and the files in the package
 */
export function packedApp(t, runtimes) {
  const dir = mkdtempSync(path.join(tmpdir(), "wn-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [packed] = JSON.parse(execFileSync(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
    { cwd: JS, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
  const app = path.join(dir, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync(NPM, ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
    path.join(dir, packed.filename)], { cwd: app, stdio: "ignore" });
  for (const runtime of runtimes) {
    symlinkSync(realpathSync(path.join(JS, "node_modules", runtime)), path.join(app, "node_modules", runtime));
  }
  return { app: realpathSync(app), files: packed.files.map((/** @type {any} */ f) => f.path).sort() };
}
