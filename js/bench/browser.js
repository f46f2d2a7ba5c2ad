/**
 * Headless Chromium on the demo page, shared by the browser test and the benchmarks:
 *
 *     const server = await serveRoot();                     // static files of the repository root
 *     const browser = await launchChromium();               // Debian's chromium, fresh profile
 *     const { names, firstMs, ms, chars } = await openDemo(browser, server.url, { n: 24, seed: 1 });
 *
 * CHROMIUM (default /usr/bin/chromium) names the browser binary.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".onnx": "application/octet-stream", ".css": "text/css" };

/**
 * A static file server of `root` on a free port of 127.0.0.1 (nothing outside `root` is served).
 * @param {string} root
 */
export async function serveDir(root) {
  const server = createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    let ok = file.startsWith(root + path.sep);
    try {
      ok &&= statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[/** @type {keyof TYPES} */ (path.extname(file))] ?? "application/octet-stream";
    res.writeHead(200, { "Content-Type": type });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

/** A static file server of the repository root (as `python -m http.server` from the root). */
export const serveRoot = () => serveDir(ROOT);

/** Debian's chromium, headless, with a fresh profile that is deleted on close. */
export async function launchChromium() {
  const profile = mkdtempSync(path.join(tmpdir(), "wn-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: profile, args: CHROMIUM_FLAGS,
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

/**
 * Open the demo with `query` and wait until it is done: its names in order and its timings.
 * @param {import("puppeteer-core").Browser} browser @param {string} base @param {Record<string, any>} query
 * @param {number} [timeout] ms
 */
export async function openDemo(browser, base, query, timeout = 120_000) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  try {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
    await page.goto(`${base}/js/demo/index.html?${params}`);
    await page.waitForFunction(() => ["done", "error"].includes(document.getElementById("status")?.dataset.state ?? ""),
      { timeout, polling: 50 });
    const result = await page.evaluate(() => {
      const status = /** @type {HTMLElement} */ (document.getElementById("status"));
      return {
        state: status.dataset.state, text: status.textContent, about: document.getElementById("about")?.textContent,
        names: [...document.querySelectorAll("#names > li")].map((li) => li.textContent),
        firstMs: Number(status.dataset.firstMs), ms: Number(status.dataset.ms), chars: Number(status.dataset.chars),
      };
    });
    if (result.state !== "done") throw new Error(`demo page: ${result.text} ${errors.join("; ")}`);
    return { ...result, page };
  } catch (err) {
    await page.close();
    throw err;
  }
}
