"""Speed of exact completions: `complete(prefix, 10)` on the shipped model, median over the 100 most common
2-letter prefixes of names.txt (issue 21's goals: <= 20 ms in Python, <= 50 ms in the browser).

    python benchmarks/complete.py [--data data/names.txt] [--model FILE] [--k 10] [--no-browser]

Python: WavenetModel.complete in this process, one thread. Browser: the JS package's model.complete on
onnxruntime-web (wasm, one thread) in headless Chromium, on the demo page's origin (js/bench/browser.js
serves the repository root; needs node, js/node_modules and chromium, else the browser line says SKIP).
Each prints the median, the 90th percentile and the worst after one warm-up call, then the goal as PASS/MISS.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.common.dataset import read_items

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 20.0
BROWSER_GOAL_MS = 50.0
SHIPPED = ROOT / "models" / "wavenet.onnx"  # the browser fetches it from the repository root
# Run by node: the demo page in headless Chromium times model.complete for each prefix (argv: model URL
# relative to the page, k, prefixes as JSON); prints the milliseconds as one JSON line.
BROWSER_SCRIPT = """
import { launchChromium, serveRoot } from "./js/bench/browser.js";
const [model, k, prefixes] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3])];
const server = await serveRoot();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/js/demo/index.html?n=1&seed=1`);
  await page.waitForFunction(() => document.getElementById("status")?.dataset.state === "done", { timeout: 120000 });
  const times = await page.evaluate(async (model, k, prefixes) => {
    const ort = await import("onnxruntime-web");  // the page's import map; its env: wasm, 1 thread
    const { loadModel } = await import("../src/index.js");
    const m = await loadModel(new URL(model, location.href).href, { ort, threads: 1 });
    await m.complete(prefixes[0], k);  // warm-up
    const out = [];
    for (const prefix of prefixes) {
      const start = performance.now();
      await m.complete(prefix, k);
      out.push(performance.now() - start);
    }
    return out;
  }, model, k, prefixes);
  console.log(JSON.stringify(times));
} finally {
  await browser.close();
  await server.close();
}
"""


def common_prefixes(items: list[str], count: int = 100, length: int = 2) -> list[str]:
    """The `count` most common `length`-letter prefixes, most common first (ties: first seen)."""
    counts = collections.Counter(item[:length] for item in items if len(item) >= length)
    return [prefix for prefix, _ in counts.most_common(count)]


def summary(times: list[float]) -> str:
    p90 = statistics.quantiles(times, n=10)[-1]
    return f"median {statistics.median(times):.2f} ms, 90th percentile {p90:.2f} ms, worst {max(times):.2f} ms"


def browser_times(model: Path, k: int, prefixes: list[str]) -> list[float] | str:
    """Milliseconds of model.complete(prefix, k) per prefix in headless Chromium, or why it could not run."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if shutil.which("node") is None or not (ROOT / "js" / "node_modules" / "puppeteer-core").is_dir() \
            or not Path(chromium).is_file():
        return "needs node, js/node_modules (cd js && npm ci) and chromium"
    page_model = os.path.relpath(model.resolve(), ROOT / "js" / "demo")
    if page_model.startswith(os.pardir + os.sep + os.pardir + os.sep + os.pardir):
        return f"{model} is outside the repository, which the page's server serves"
    command = ["node", "--input-type=module", "-e", BROWSER_SCRIPT, page_model, str(k), json.dumps(prefixes)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode:
        return f"the browser run failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "names.txt", help="wn-data names writes it")
    parser.add_argument("--model", type=Path, default=None, help="an exported .onnx (default: the shipped model)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--no-browser", action="store_true", help="only the Python runtime")
    args = parser.parse_args()
    model = WavenetModel.load(args.model, provider="cpu", threads=1) if args.model else \
        WavenetModel.load_shipped(provider="cpu", threads=1)
    prefixes = common_prefixes(read_items(args.data))
    model.complete(prefixes[0], args.k)  # warm-up
    times = []
    for prefix in prefixes:
        start = time.perf_counter()
        model.complete(prefix, args.k)
        times.append((time.perf_counter() - start) * 1e3)
    median = statistics.median(times)
    print(f"{model.path}: complete(prefix, {args.k}) over the {len(prefixes)} most common 2-letter prefixes of "
          f"{args.data.name}, load average {os.getloadavg()[0]:.2f}")
    print(f"Python (onnxruntime, 1 thread): {summary(times)}")
    print(f"{'PASS' if median <= GOAL_MS else 'MISS'}  Python: median <= {GOAL_MS:g} ms: {median:.2f} ms")
    if args.no_browser:
        return
    found = browser_times(args.model or SHIPPED, args.k, prefixes)
    if isinstance(found, str):
        print(f"SKIP  browser: {found}")
        return
    median = statistics.median(found)
    print(f"browser (headless Chromium, onnxruntime-web wasm, 1 thread): {summary(found)}")
    verdict = "PASS" if median <= BROWSER_GOAL_MS else "MISS"
    print(f"{verdict}  browser: median <= {BROWSER_GOAL_MS:g} ms: {median:.2f} ms")


if __name__ == "__main__":
    main()
