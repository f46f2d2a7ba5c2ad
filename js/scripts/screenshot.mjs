// The demo page's screenshot for the README: node js/scripts/screenshot.mjs [out.png]
// (headless Chromium, 24 names for seed 1, the shipped model).
import path from "node:path";
import { ROOT, launchChromium, openDemo, serveRoot } from "../bench/browser.js";

const out = path.resolve(process.argv[2] ?? path.join(ROOT, "js", "demo", "screenshot.png"));
const server = await serveRoot();
const browser = await launchChromium();
try {
  const { page } = await openDemo(browser, server.url, { n: 24, seed: 1 });
  await page.setViewport({ width: 960, height: 560 });
  await page.screenshot({ path: out });
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
  await server.close();
}
