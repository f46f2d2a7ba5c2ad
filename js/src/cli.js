/**
 * The `wavenet-edge` command (the twin of runtime/cli.py), thin over the library, for Node.js:
 *
 *     wavenet-edge generate --onnx models/wavenet.onnx -n 50 --seed 7 --temperature 0.8
 *     wavenet-edge generate --onnx models/wavenet.onnx -n 20 --seed 1 --min-len 5 --max-len 7 --suffix a
 *     wavenet-edge complete --onnx models/wavenet.onnx --prefix ka -k 10
 *     wavenet-edge score --onnx models/wavenet.onnx --data names.txt
 *     wavenet-edge info models/wavenet.onnx
 *
 * Without --onnx (or --model) the commands use the package's shipped default model, as the Python commands
 * do: `wavenet-edge generate -n 5 --seed 1` prints what `wn-generate -n 5 --seed 1` prints.
 *
 * `generate` prints exactly what `wn-generate` prints for the same options (one name per line or JSON lines,
 * empty names skipped), `complete` what `wn-complete` prints ("name<TAB>probability" or JSON lines) and
 * `score` what `wn-eval` prints (a split of the items, text or JSON), with the same option ranges
 * (runtime/common/commands.py, runtime/cli.py). Bad input ends in one line `Error: ...` on stderr and exit
 * status 2; names found before an error are all printed first.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { LIMITS } from "./config.js";
import { DEFAULT_MAX_NODES, MAX_K, MAX_NODES } from "./complete.js";
import { WavenetEdgeError, pyFloat, pyRepr } from "./errors.js";
import { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE } from "./generation.js";
import { loadModel } from "./model.js";
import { shippedModel } from "./shipped.js";
import { splitItems } from "./split.js";

export const EXIT_BAD_INPUT = 2;
const FLUSH_EVERY_MS = 20; // names stream out: the output is flushed at least this often
const FLUSH_BYTES = 1 << 16;

/** A usage error, worded as click words it. */
class UsageError extends WavenetEdgeError {}

// Option ranges of the Python commands (click.IntRange): a value outside is refused in one line naming it.
const MAX_SEED = 2n ** 63n - 1n; // what torch.manual_seed and numpy take
const MAX_THREADS = 256n;
const SEED = [0n, MAX_SEED];
const THREADS = [1n, MAX_THREADS];
const BATCH_SIZE = [1n, BigInt(MAX_BATCH_SIZE)];
const MAX_LEN = [1n, BigInt(LIMITS.max_len[1])];
const MIN_LEN = [0n, BigInt(LIMITS.max_len[1])];
const POSITIVE = [1n, null]; // no upper bound
const K = [1n, BigInt(MAX_K)];
const NODES = [1n, BigInt(MAX_NODES)];
const FORMATS = ["text", "jsonl"];
// the Python package's shipped models (runtime/model.py SHIPPED_MODELS); the npm package has the first two
const MODELS = ["default", "default-int8", "large", "large-int8"];
const SPLITS = ["train", "val", "test", "all"];
const JSONL_BATCH = 256; // generate --format jsonl: names scored together for their logprobs

/**
 * @typedef {{ names: string[], type: "int" | "float" | "string" | "flag" | "choice", key: string, default?: any,
 *             range?: (bigint | null)[], choices?: string[], help: string }} OptionSpec
 */

/** @type {Record<string, OptionSpec[]>} */
const COMMANDS = {
  generate: [
    { names: ["--onnx"], type: "string", key: "onnx", help: "Model file (default: the shipped default model)." },
    { names: ["--model"], type: "choice", key: "model", choices: MODELS, help: "A shipped model instead of --onnx." },
    { names: ["-n"], type: "int", key: "n", default: 10, help: "Number of names (default 10)." },
    { names: ["--seed"], type: "int", key: "seed", range: SEED, help: "Random seed (default: a fresh one)." },
    { names: ["--temperature"], type: "float", key: "temperature", default: 1.0, help: "> 0 (default 1.0)." },
    { names: ["--top-k"], type: "int", key: "topK", help: "Sample among the k most likely characters (1: greedy)." },
    { names: ["--top-p"], type: "float", key: "topP", help: "Nucleus sampling, in (0, 1]." },
    { names: ["--prefix"], type: "string", key: "prefix", default: "", help: "Every name starts with this text." },
    { names: ["--max-len"], type: "int", key: "maxLen", range: MAX_LEN, help: "Longest name (default: the model's max_len)." },
    { names: ["--min-len"], type: "int", key: "minLen", default: 0, range: MIN_LEN, help: "Shortest name in characters." },
    { names: ["--suffix"], type: "string", key: "suffix", default: "", help: "Every name ends with this text." },
    { names: ["--contains"], type: "string", key: "contains", default: "", help: "Every name contains this text." },
    { names: ["--max-samples"], type: "int", key: "maxSamples", range: POSITIVE, help: "Give up after this many draws." },
    { names: ["--unique"], type: "flag", key: "unique", default: false, help: "No name twice." },
    { names: ["--exclude"], type: "string", key: "exclude", help: "Never output a name listed in FILE." },
    { names: ["--format"], type: "choice", key: "format", default: "text", choices: FORMATS, help: "text or jsonl." },
    { names: ["--batch-size"], type: "int", key: "batchSize", default: DEFAULT_BATCH_SIZE, range: BATCH_SIZE, help: "Names side by side (default 256)." },
    { names: ["--threads"], type: "int", key: "threads", range: THREADS, help: "Intra-op threads of onnxruntime." },
  ],
  complete: [
    { names: ["--onnx"], type: "string", key: "onnx", help: "Model file." },
    { names: ["--model"], type: "choice", key: "model", choices: MODELS, help: "A shipped model instead of --onnx." },
    { names: ["--prefix"], type: "string", key: "prefix", default: "", help: "The names start with this text." },
    { names: ["-k"], type: "int", key: "k", default: 10, range: K, help: "How many names (default 10)." },
    { names: ["--max-len"], type: "int", key: "maxLen", range: MAX_LEN, help: "Longest name (default: the model's max_len)." },
    { names: ["--max-nodes"], type: "int", key: "maxNodes", default: DEFAULT_MAX_NODES, range: NODES, help: "Give up after expanding this many partial names." },
    { names: ["--format"], type: "choice", key: "format", default: "text", choices: FORMATS, help: "text or jsonl." },
    { names: ["--threads"], type: "int", key: "threads", range: THREADS, help: "Intra-op threads of onnxruntime." },
  ],
  score: [
    { names: ["--onnx"], type: "string", key: "onnx", help: "Model file." },
    { names: ["--model"], type: "choice", key: "model", choices: MODELS, help: "A shipped model instead of --onnx." },
    { names: ["--data"], type: "string", key: "data", help: "Items, one per line." },
    { names: ["--split"], type: "choice", key: "split", choices: SPLITS, help: "train, val, test or all (default: val of the model's own training data, all of any other file)." },
    { names: ["--per-item"], type: "flag", key: "perItem", default: false, help: "One line per item: the item, its NLL per character and its characters (end token included), tab-separated." },
    { names: ["--format"], type: "choice", key: "format", default: "text", choices: ["text", "json"], help: "text or json." },
    { names: ["--threads"], type: "int", key: "threads", range: THREADS, help: "Intra-op threads of onnxruntime." },
  ],
  info: [],
};

const USAGE = `Usage: wavenet-edge COMMAND [OPTIONS]

Commands:
  generate [-n N] [--seed S] [--temperature T] [--top-k K] [--top-p P] [--prefix X] [--max-len L]
           [--min-len L] [--suffix X] [--contains X] [--max-samples N] [--unique] [--exclude FILE]
           [--format text|jsonl] [--batch-size B] [--threads T]      names (as wn-generate)
  complete [--prefix X] [-k K] [--max-len L] [--max-nodes N] [--format text|jsonl] [--threads T]
           the k most probable names that start with --prefix (as wn-complete)
  score    --data FILE [--split train|val|test|all] [--per-item] [--format text|json] [--threads T]
           mean NLL per character of a split of the items, end tokens included (as wn-eval)
  info     FILE                         what a model file says about itself (JSON)

Every command but info takes --onnx FILE or --model default|default-int8 (default: the shipped
default model, as the Python commands). wavenet-edge --version prints the package's version.
`;

/**
 * click's parsing of one value ("Invalid value for '-n': 'x' is not a valid integer.").
 * @param {OptionSpec} spec @param {string} name @param {string} text
 */
function convert(spec, name, text) {
  if (spec.type === "int") {
    if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(text)) {
      const type = spec.range ? "integer range" : "integer";
      throw new UsageError(`Invalid value for '${name}': ${pyRepr(text)} is not a valid ${type}.`);
    }
    const value = BigInt(text.trim().replaceAll("_", ""));
    const [low, high] = spec.range ?? [null, null];
    if (low !== null && value < low || high !== null && value > high) {
      const range = high === null ? `x>=${low}` : `${low}<=x<=${high}`;
      throw new UsageError(`Invalid value for '${name}': ${value} is not in the range ${range}.`);
    }
    return spec.key === "seed" ? value : Number(value);
  }
  if (spec.type === "float") {
    const t = text.trim().toLowerCase().replaceAll("_", "");
    const special = { inf: Infinity, "+inf": Infinity, "-inf": -Infinity, infinity: Infinity, "+infinity": Infinity,
      "-infinity": -Infinity, nan: NaN, "+nan": NaN, "-nan": NaN };
    if (t in special) return special[/** @type {keyof typeof special} */ (t)];
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) {
      throw new UsageError(`Invalid value for '${name}': ${pyRepr(text)} is not a valid float.`);
    }
    return Number(t);
  }
  if (spec.type === "choice" && !spec.choices?.includes(text)) {
    const choices = (spec.choices ?? []).map(pyRepr).join(", ");
    throw new UsageError(`Invalid value for '${name}': ${pyRepr(text)} is not one of ${choices}.`);
  }
  return text;
}

/**
 * Options and positional arguments of one command, click-style (`--opt value`, `--opt=value`, `-n5`).
 * @param {OptionSpec[]} specs @param {string[]} args
 */
export function parseOptions(specs, args) {
  /** @type {Record<string, any>} */
  const values = {};
  for (const spec of specs) if ("default" in spec) values[spec.key] = spec.default;
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    let name = arg;
    let inline = null;
    if (arg.startsWith("--") && arg.includes("=")) [name, inline] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
    else if (!arg.startsWith("--") && arg.length > 2) [name, inline] = [arg.slice(0, 2), arg.slice(2)];
    const spec = specs.find((s) => s.names.includes(name));
    if (!spec) throw new UsageError(`No such option '${name}'.`);
    if (spec.type === "flag") {
      if (inline !== null) throw new UsageError(`Option '${name}' does not take a value.`);
      values[spec.key] = true;
      continue;
    }
    let text = inline;
    if (text === null) {
      if (i + 1 >= args.length) throw new UsageError(`Option '${name}' requires an argument.`);
      text = args[++i];
    }
    values[spec.key] = convert(spec, name, text);
  }
  return { values, positional };
}

/**
 * Items of a UTF-8 text file, one per line, stripped, blank lines dropped (as read_items in Python).
 * @param {string} path @param {string} option what to call the file in messages
 */
async function readItems(path, option) {
  let raw;
  try {
    raw = await readFile(path);
  } catch (err) {
    const code = /** @type {any} */ (err).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a text file" : "cannot read";
    throw new WavenetEdgeError(`${option}${path}: ${why}`);
  }
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new WavenetEdgeError(`${option}${path}: not valid UTF-8`);
  }
  if (text.includes("\0")) throw new WavenetEdgeError(`${option}${path}: binary data (NUL byte); expected UTF-8 text, one item per line`);
  const items = text.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!items.length) throw new WavenetEdgeError(`${option}${path}: no items (the file is empty or holds only blank lines)`);
  return items;
}

/** Buffered stdout that flushes every FLUSH_EVERY_MS and stops quietly when the reader goes away. */
class Output {
  constructor() {
    this.buffer = "";
    this.last = Date.now();
    this.closed = false;
    process.stdout.on("error", (err) => {
      if (/** @type {any} */ (err).code === "EPIPE") this.closed = true;
    });
  }

  /** @param {string} text */
  write(text) {
    this.buffer += text;
    const now = Date.now();
    if (this.buffer.length >= FLUSH_BYTES || now - this.last >= FLUSH_EVERY_MS) {
      this.flush();
      this.last = now;
    }
  }

  flush() {
    if (this.buffer && !this.closed) {
      try {
        process.stdout.write(this.buffer);
      } catch (err) {
        if (/** @type {any} */ (err).code !== "EPIPE") throw err;
        this.closed = true;
      }
    }
    this.buffer = "";
  }

  /** Flush, and resolve once stdout has taken everything written (before an error line goes to stderr). */
  async close() {
    this.flush();
    if (this.closed) return;
    await new Promise((resolve) => {
      try {
        process.stdout.write("", () => resolve(undefined));
      } catch {
        resolve(undefined);
      }
    });
  }
}

/**
 * `threads` capped at the CPUs this process may run on, with a note on stderr when it is capped (as
 * usable_threads in runtime/common/commands.py). undefined stays undefined.
 * @param {number | undefined} threads
 */
function usableThreads(threads, option = "--threads") {
  if (threads === undefined) return undefined;
  const cpus = availableParallelism();
  if (threads <= cpus) return threads;
  process.stderr.write(`note: ${option} ${threads} is more than the ${cpus} CPUs available here; using ${cpus}\n`);
  return cpus;
}

/** onnxruntime-node, an optional peer dependency: a clear line where it is not installed. */
async function nodeRuntime() {
  try {
    return await import("onnxruntime-node");
  } catch (err) {
    throw new WavenetEdgeError(`the wavenet-edge command needs onnxruntime-node (npm install onnxruntime-node): ${
      String(/** @type {Error} */ (err)?.message ?? err).split("\n")[0]}`);
  }
}

/** The model of --onnx, --model or else the shipped default (as _load in runtime/cli.py). @param {Record<string, any>} o */
async function load(o) {
  if (o.onnx !== undefined && o.model !== undefined) throw new WavenetEdgeError("--onnx and --model both name a model: give one");
  const source = o.onnx ?? shippedModel(o.model ?? "default");
  return loadModel(source, { ort: await nodeRuntime(), threads: usableThreads(o.threads) });
}

/** The package's version (package.json). */
function packageVersion() {
  return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
}

/**
 * Python's json.dumps of a name and its logprob rounded to 6 decimals (wn-generate --format jsonl).
 * @param {string} name @param {number} logprob
 */
const jsonlName = (name, logprob) => `{"name": ${JSON.stringify(name)}, "logprob": ${pyFloat(Number(logprob.toFixed(6)))}}\n`;

/** @param {Record<string, any>} o */
async function generateCommand(o) {
  if (o.n < 1) throw new WavenetEdgeError(`-n must be a positive integer, got ${o.n}`);
  const banned = new Set([""]); // a name that ends at once is no name: sample another
  if (o.exclude !== undefined) for (const item of await readItems(o.exclude, "--exclude ")) banned.add(item);
  const model = await load(o);
  const seed = o.seed ?? BigInt.asUintN(63, BigInt(Math.floor(Math.random() * 2 ** 53)) << 10n
    | BigInt(Math.floor(Math.random() * 1024)));
  const names = model.generate(o.n, {
    seed, temperature: o.temperature, topK: o.topK ?? null, topP: o.topP ?? null, prefix: o.prefix,
    maxLen: o.maxLen, unique: o.unique, exclude: banned, batchSize: o.batchSize, minLen: o.minLen,
    suffix: o.suffix, contains: o.contains, maxSamples: o.maxSamples,
  });
  const out = new Output();
  /** @type {string[]} */
  let pending = [];
  const flushScored = async () => { // jsonl: log p(name + end token) at temperature 1, as score() gives it
    const { logprobs } = await model.score(pending);
    out.write(pending.map((name, i) => jsonlName(name, logprobs[i])).join(""));
    pending = [];
  };
  try {
    let last = Date.now();
    for await (const name of names) {
      if (o.format === "jsonl") {
        pending.push(name);
        if (pending.length >= JSONL_BATCH || Date.now() - last >= FLUSH_EVERY_MS) {
          await flushScored();
          last = Date.now();
        }
      } else {
        out.write(name + "\n");
      }
      if (out.closed) return;
    }
    if (pending.length) await flushScored();
  } finally {
    await out.close(); // every name found is printed, also before an error line (gave up after ...)
  }
}

/**
 * Python's `format(value, ".6g")` (for a positive finite float): 6 significant digits, fixed notation for
 * exponents -4..5 else scientific, trailing zeros dropped. (Both round the exact binary value; an exact
 * tie at the 7th digit, which a probability all but never is, rounds half up here and half to even there.)
 * @param {number} value
 */
export function formatG6(value) {
  if (value === 0 || !Number.isFinite(value)) return pyFloat(value).replace(/\.0$/, "");
  const strip = (/** @type {string} */ digits) => (digits.includes(".") ? digits.replace(/0+$/, "").replace(/\.$/, "") : digits);
  const [mantissa, exponent] = value.toExponential(5).split("e");
  const exp = Number(exponent);
  if (exp >= -4 && exp < 6) return strip(value.toFixed(5 - exp));
  return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/**
 * One line of wn-complete's output: "name<TAB>probability" (.6g), or its JSON line with json.dumps's
 * spacing, Python's float repr and the logprob rounded to 6 decimals.
 * @param {import("./complete.js").Completion} item @param {string} format
 */
export function completionLine(item, format) {
  if (format === "jsonl") {
    return `{"name": ${JSON.stringify(item.name)}, "probability": ${pyFloat(item.probability)}, `
      + `"logprob": ${pyFloat(Number(item.logprob.toFixed(6)))}}\n`;
  }
  return `${item.name}\t${formatG6(item.probability)}\n`;
}

/** @param {Record<string, any>} o */
async function completeCommand(o) {
  const model = await load(o);
  const completions = await model.complete(o.prefix, o.k, { maxLen: o.maxLen, maxNodes: o.maxNodes });
  process.stdout.write(completions.map((item) => completionLine(item, o.format)).join(""));
}

/**
 * Line number of the item_number-th (1-based) non-blank line of a text (as _line_of in runtime/cli.py).
 * @param {string} text @param {number} itemNumber
 */
function lineOf(text, itemNumber) {
  let seen = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() && ++seen === itemNumber) return i + 1;
  }
  return 0;
}

/** @param {Record<string, any>} o */
async function scoreCommand(o) {
  if (o.data === undefined) throw new UsageError("Missing option '--data'.");
  const items = await readItems(o.data, "");
  const model = await load(o);
  const raw = await readFile(o.data);
  const text = raw.toString("utf8");
  const maxLen = model.metadata.config.max_len;
  const lengths = items.map((item) => [...item].length);
  const over = lengths.flatMap((length, i) => (length > maxLen ? [i] : []));
  if (over.length) { // training's rule: such items are not what the model is for (read_items in Python)
    const worst = over.reduce((a, b) => (lengths[b] > lengths[a] ? b : a));
    const others = over.length > 1 ? ` (${over.length} items are over it)` : "";
    throw new WavenetEdgeError(`${o.data}:${lineOf(text, worst + 1)}: the longest item has ${lengths[worst]} characters, `
      + `more than the model's max_len ${maxLen}${others} (training refuses such items too; score them with a model `
      + "trained on them)");
  }
  const vocab = model.metadata.vocab;
  for (const [number, item] of items.entries()) {
    const unknown = vocab.unknownChars(item);
    if (unknown.length) {
      throw new WavenetEdgeError(`${o.data}:${lineOf(text, number + 1)}: item ${pyRepr(item)} has characters not in `
        + `the model's vocabulary: ${pyRepr(unknown.join(""))} (allowed: ${pyRepr(vocab.chars.join(""))})`);
    }
  }
  const sha = createHash("sha256").update(raw).digest("hex");
  const trainedOn = model.metadata.data?.sha256;
  const sameData = trainedOn ? trainedOn === sha : null;
  // as wn-eval: a file that is not the model's own training data is scored whole unless --split is given
  let note = null;
  if (o.split === undefined && sameData === false) {
    o.split = "all";
    note = `note: ${o.data} is not the data the model was trained on (sha256 differs): all ${items.length} items are `
      + "scored (--split names a part of the 80/10/10 split)\n";
  } else if (sameData === false && o.split !== "all") {
    note = "note: this data file is not the one the model was trained on (sha256 differs), so the split is not the "
      + "model's own\n";
  }
  o.split ??= "val";
  let part = items;
  if (o.split !== "all") {
    try {
      part = splitItems(items)[/** @type {"train" | "val" | "test"} */ (o.split)];
    } catch (err) {
      if (!(err instanceof WavenetEdgeError)) throw err;
      throw new WavenetEdgeError(`${o.data}: ${err.message}; score every item with --split all`);
    }
  }
  const result = await model.score(part);
  if (o.format === "json") {
    process.stdout.write(`{"onnx": ${JSON.stringify(model.source)}, "data": ${JSON.stringify(o.data)}, "sha256": "${sha}", `
      + `"same_data_as_training": ${sameData}, "split": "${o.split}", "nll_per_char": ${pyFloat(result.nllPerChar)}, `
      + `"n_items": ${result.nItems}, "n_chars": ${result.nChars}`
      + (o.perItem ? `, "items": [${part.map((item, i) => perItemJson(item, result.logprobs[i])).join(", ")}]` : "")
      + "}\n");
  } else if (o.perItem) { // item, NLL per character, characters (end token included)
    process.stdout.write(part.map((item, i) => perItemLine(item, result.logprobs[i])).join(""));
  } else {
    process.stdout.write(`${o.split}: ${result.nllPerChar.toFixed(6)} nats per character over ${result.nItems} items, `
      + `${result.nChars} characters (end tokens included)\n`);
  }
  if (note !== null) process.stderr.write(note); // after the output, as wn-eval
}

/**
 * One line of `score --per-item` (as wn-eval --per-item): the item, its NLL per character and its characters,
 * the end token included in both, tab-separated.
 * @param {string} item @param {number} logprob
 */
export function perItemLine(item, logprob) {
  const chars = [...item].length + 1;
  return `${item}\t${(-logprob / chars).toFixed(6)}\t${chars}\n`;
}

/** The JSON of one item in `score --per-item --format json` (Python's json.dumps). @param {string} item @param {number} logprob */
function perItemJson(item, logprob) {
  const chars = [...item].length + 1;
  return `{"item": ${JSON.stringify(item)}, "nll_per_char": ${pyFloat(Number((-logprob / chars).toFixed(6)))}, "n_chars": ${chars}}`;
}

/** @param {string[]} positional */
async function infoCommand(positional) {
  if (positional.length !== 1) throw new UsageError("info takes one model file: wavenet-edge info FILE");
  const model = await loadModel(positional[0], { ort: await nodeRuntime() });
  const m = model.metadata;
  process.stdout.write(JSON.stringify({
    file: positional[0], format_version: m.formatVersion, graph: m.graph, config: m.config, vocab: m.vocab.toDict(),
    receptive_field: m.receptiveField, state_size: m.stateSize, parameters: m.parameters, metrics: m.metrics,
    data: m.data, package_version: m.packageVersion, io: m.io,
  }, null, 2) + "\n");
}

/**
 * Run the command line `args` (without node and the script); resolves to the exit status.
 * @param {string[]} args
 */
export async function main(args) {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === "-h" || command === "--help") {
      process.stdout.write(USAGE);
      return command === undefined ? EXIT_BAD_INPUT : 0;
    }
    if (command === "--version") {
      process.stdout.write(`wavenet-edge, version ${packageVersion()}\n`);
      return 0;
    }
    if (!(command in COMMANDS)) throw new UsageError(`No such command ${pyRepr(command)} (generate, complete, score or info).`);
    if (rest.includes("-h") || rest.includes("--help")) {
      process.stdout.write(USAGE);
      return 0;
    }
    const { values, positional } = parseOptions(COMMANDS[command], rest);
    if (command === "info") await infoCommand(positional);
    else if (positional.length) throw new UsageError(`Got unexpected extra argument (${positional[0]})`);
    else if (command === "generate") await generateCommand(values);
    else if (command === "complete") await completeCommand(values);
    else await scoreCommand(values);
    return 0;
  } catch (err) {
    if (err instanceof WavenetEdgeError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw err;
  }
}
