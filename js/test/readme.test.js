// The packed README's examples run as printed, from the package as npm ships it (`npm pack`, installed offline
// into a fresh app with onnxruntime-node), and print what the README shows:
//   ```js       run as an ES module in the app; a ```text block after it, behind a line "prints:", is its stdout
//   ```console  `$ command` lines (npx runs the app's own wavenet-edge), each followed by its stdout exactly
//               (trailing whitespace ignored; a line `...` matches any number of lines)
//   ```sh       every line that is not blank and not a `#` comment is a command that must exit 0
// A block marked `<!-- docs-test: skip=REASON -->` on the line before its fence is not run (skip=network: an
// install from the registry; skip=browser: the esbuild page, which test/browser/bundle.test.js builds and runs).
// The README stands alone: every file it names is in the package, and it links only to its own sections.
//     README_PRINT=1 node --test test/readme.test.js     # print what each block prints (to write the README)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { JS, packedApp } from "./packed.js";

const README = readFileSync(path.join(JS, "README.md"), "utf8");
const PRINT = Boolean(process.env.README_PRINT);

/**
 * The fenced blocks of a markdown text, in order.
 * @param {string} text
 * @returns {{ lang: string, code: string, line: number, skip: string | null, before: string }[]}
 */
export function blocks(text) {
  const lines = text.split("\n");
  const out = [];
  let prose = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) {
      prose.push(lines[i]);
      continue;
    }
    const start = i;
    const body = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    const marker = /^<!-- docs-test: skip=([\w-]+) -->$/.exec(lines[start - 1] ?? "");
    out.push({ lang: open[1], code: body.join("\n"), line: start + 1, skip: marker ? marker[1] : null,
      before: prose.join("\n").trim() });
    prose = [];
  }
  return out;
}

/**
 * Whether `actual` is `expected`, trailing whitespace ignored, a line "..." matching any lines.
 * @param {string} actual @param {string} expected
 */
export function matches(actual, expected) {
  const got = actual.replace(/\s+$/, "").split("\n").map((l) => l.trimEnd());
  const want = expected.replace(/\s+$/, "").split("\n").map((l) => l.trimEnd());
  const fit = (/** @type {number} */ g, /** @type {number} */ w) => {
    if (w === want.length) return g === got.length;
    if (want[w] === "...") {
      for (let k = g; k <= got.length; k++) if (fit(k, w + 1)) return true;
      return false;
    }
    return g < got.length && got[g] === want[w] && fit(g + 1, w + 1);
  };
  return fit(0, 0);
}

/** A shell command run in the app, with its own node_modules/.bin first on PATH (npx finds it offline). */
function shell(app, command) {
  return spawnSync("bash", ["-c", command], {
    cwd: app, encoding: "utf8", maxBuffer: 1 << 26,
    env: { ...process.env, PATH: `${path.join(app, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
      npm_config_offline: "true", npm_config_update_notifier: "false" },
  });
}

test("the README: its blocks are well formed, the skipped ones named, and it stands alone", () => {
  const all = blocks(README);
  assert.ok(all.length >= 6);
  for (const block of all) {
    assert.ok(["js", "sh", "console", "text"].includes(block.lang), `line ${block.line}: \`\`\`${block.lang}`);
    if (block.skip) assert.ok(["network", "browser"].includes(block.skip), `line ${block.line}: skip=${block.skip}`);
  }
  assert.match(README, /^# wavenet-edge\n/);
  const install = all.find((b) => b.lang === "sh");
  assert.equal(install?.code, "npm install wavenet-edge onnxruntime-node"); // the first command a reader meets
  assert.match(README, /ONNXRUNTIME_NODE_INSTALL=skip/);
  assert.match(README, /--ignore-scripts/);
  // links only to its own sections; no repository paths, issue numbers or history
  for (const [, target] of README.matchAll(/\]\(([^)]+)\)/g)) {
    assert.ok(target.startsWith("#"), `a link out of the package: ${target}`);
    const anchor = target.slice(1);
    assert.ok(README.split("\n").some((l) => /^#+ /.test(l) && l.replace(/^#+ /, "").toLowerCase().replace(/[^\w -]/g, "")
      .replaceAll(" ", "-") === anchor), `no section #${anchor}`);
  }
  assert.doesNotMatch(README, /\b(js|tests|scripts|runtime|export|train|demo|bench)\/|[Ii]ssue \d|#\d{2}\b|project README|repository/);
});

test("the README's examples run from the packed package and print what it shows", (t) => {
  const { app, files } = packedApp(t, ["onnxruntime-node"]);
  // every package file the README names in backticks is in the tarball
  for (const [, file] of README.matchAll(/`((?:models|src|bin)\/[\w./-]+|LICENSE)`/g)) {
    assert.ok(files.includes(file), `${file} is not in the package`);
  }
  const all = blocks(README);
  const bundleApp = readFileSync(path.join(JS, "test", "fixtures", "bundle-app", "main.js"), "utf8");
  const printed = [];
  let ran = 0;
  for (const [index, block] of all.entries()) {
    const where = `README line ${block.line}`;
    if (block.skip === "browser") { // the page test/browser/bundle.test.js bundles: the same imports and wasm setting
      for (const line of block.code.split("\n").filter((l) => /^(import |ort\.env)/.test(l))) {
        const wanted = line.startsWith("import ") ? /from "[^"]+";$/.exec(line)?.[0] ?? line : line;
        assert.ok(bundleApp.includes(wanted), `${where}: ${line} is not in the tested bundle page`);
      }
      continue;
    }
    if (block.skip) continue;
    if (block.lang === "sh") {
      for (const command of block.code.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"))) {
        const result = shell(app, command);
        assert.equal(result.status, 0, `${where}: ${command}\n${result.stderr}`);
      }
      ran++;
    } else if (block.lang === "console") {
      const lines = block.code.split("\n");
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i].startsWith("$ ")) continue;
        const command = lines[i].slice(2);
        const expected = [];
        while (i + 1 < lines.length && !lines[i + 1].startsWith("$ ")) expected.push(lines[++i]);
        const result = shell(app, command);
        if (PRINT) printed.push(`$ ${command}\n${result.stdout}${result.stderr}`);
        else {
          assert.equal(result.status, 0, `${where}: ${command}\n${result.stderr}`);
          assert.ok(matches(result.stdout, expected.join("\n")), `${where}: ${command} printed:\n${result.stdout}`);
        }
      }
      ran++;
    } else if (block.lang === "js") {
      const file = path.join(app, `readme-${index}.mjs`);
      writeFileSync(file, block.code + "\n");
      const result = spawnSync(process.execPath, [file], { cwd: app, encoding: "utf8", maxBuffer: 1 << 26 });
      const next = all[index + 1];
      const shown = next && next.lang === "text" && /(^|\n)prints:$/.test(next.before) ? next.code : null;
      if (PRINT) printed.push(`js at line ${block.line}:\n${result.stdout}${result.stderr}`);
      else {
        assert.equal(result.status, 0, `${where}:\n${result.stderr}`);
        if (shown !== null) assert.ok(matches(result.stdout, shown), `${where} printed:\n${result.stdout}`);
        else assert.equal(result.stdout, "", `${where} prints, but no "prints:" block follows it`);
      }
      ran++;
    }
  }
  if (PRINT) console.log(printed.join("\n----\n"));
  assert.ok(ran >= 5);
});
