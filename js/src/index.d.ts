// Types of the wavenet-edge package (hand-written; the sources carry the same types as JSDoc).

/** The `wavenet_edge.format_version` values this runtime reads. */
export const FORMAT_VERSIONS: readonly number[];
export const METADATA_PREFIX: "wavenet_edge.";
export const GRAPH_STEP: "step";
export const GRAPH_WINDOW: "window";
export const BOUNDARY_ID: 0;
export const DEFAULT_BATCH_SIZE: number;
export const DEFAULT_PATIENCE: number;
/** batchSize range: 1..MAX_BATCH_SIZE (65536), as in Python */
export const MAX_BATCH_SIZE: number;
/** threads range: 1..MAX_THREADS (1024), as WavenetModel.load in Python */
export const MAX_THREADS: number;
/** complete(): default maxNodes (partial names expanded before CompletionError) */
export const DEFAULT_MAX_NODES: number;
/** complete(): k range 1..MAX_K (1000) */
export const MAX_K: number;
/** complete(): maxNodes range 1..MAX_NODES (10,000,000) */
export const MAX_NODES: number;
/** The range of every integer config setting (runtime/config.py LIMITS): [low, high]. */
export const LIMITS: Readonly<Record<string, readonly [number, number]>>;

export class WavenetEdgeError extends Error {}
export class VocabError extends WavenetEdgeError {}
export class ModelFileError extends WavenetEdgeError {}
/** A model setting that makes no sense (a file's config: wrapped in a ModelFileError by loadModel). */
export class ConfigError extends WavenetEdgeError {}
/** complete() expanded maxNodes partial names without finding k completions. */
export class CompletionError extends WavenetEdgeError {}
/** Constrained generate(): maxSamples draws gave fewer than n names that fit (the message gives the acceptance rate). */
export class ConstraintError extends WavenetEdgeError {}

export class Vocab {
  constructor(chars: string[]);
  readonly chars: readonly string[];
  readonly size: number;
  unknownChars(text: string): string[];
  encode(text: string): number[];
  decode(ids: Iterable<number>): string;
  toDict(): { boundary_id: 0; chars: string[] };
  /** as Vocab.from_dict in Python: a plain object or a Map; chars a list, a string or a dict's keys */
  static fromDict(data: unknown): Vocab;
}

export interface TensorSpec { name: string; dtype: string; shape: (string | number)[] }
export interface GraphIO { inputs: TensorSpec[]; outputs: TensorSpec[]; [key: string]: unknown }

export interface ModelConfig {
  arch: "wavenet" | "lecture";
  vocab_size: number;
  max_len: number;
  channels: number;
  skip_channels: number;
  head_channels: number;
  dilations: number[];
  stacks: number;
  kernel_size: number;
  dropout: number;
  n_embd: number;
  n_hidden: number;
  block_size: number;
}

export interface ModelMetadata {
  formatVersion: number;
  graph: "step" | "window";
  /** the model config, validated as in Python, every field filled in (ModelConfig.to_dict()) */
  config: ModelConfig;
  vocab: Vocab;
  receptiveField: number;
  /** the graph's inputs and outputs as the config implies them (io_description in Python) */
  io: GraphIO;
  /** training metrics: train_loss, val_loss, step, ... */
  metrics: Record<string, any>;
  data: Record<string, any>;
  packageVersion: string;
  parameters: number;
  /** step graphs: floats per row of the opaque state; 0 for window graphs */
  stateSize: number;
  /** step graphs: the state after only boundary tokens; null for window graphs */
  initialState: Float32Array | null;
}

/** Unknown keys are refused (WavenetEdgeError naming them and the known ones). */
export interface LoadOptions {
  /** the onnxruntime module the app uses: `import * as ort from "onnxruntime-node"` (or "onnxruntime-web") */
  ort: any;
  /** intra-op threads, 1..1024 (default: onnxruntime's choice) */
  threads?: number;
  /** provider names (or `{ name, ... }`) in priority order; a name the onnxruntime build lacks is refused in one line */
  executionProviders?: any[];
  /** more onnxruntime session options, applied last (`extra.session` entries are added to the defaults') */
  sessionOptions?: Record<string, any>;
  /** what to call the model in error messages (default: the path or URL) */
  name?: string;
}

export interface SamplingOptions {
  temperature?: number;
  /** keep the k most likely tokens; 1 is greedy */
  topK?: number | null;
  /** nucleus sampling: the smallest set of most likely tokens whose mass reaches topP, in (0, 1] */
  topP?: number | null;
}

/** Unknown keys are refused (WavenetEdgeError naming them and the known ones). */
export interface GenerateOptions extends SamplingOptions {
  /** an integer number up to 2^53, a BigInt or a decimal string (any Python int; 2^63 - 1 as 9223372036854775807n) */
  seed?: number | bigint | string;
  prefix?: string;
  /** longest name in characters (default: the model's config.max_len) */
  maxLen?: number;
  /** no name twice */
  unique?: boolean;
  /** names never to yield: an array or a Set (a string is refused) */
  exclude?: Iterable<string> | null;
  /** names generated side by side, 1..65536 (does not change which names a seed gives) */
  batchSize?: number;
  /** unique/exclude: give up after this many rejected names in a row (a positive integer) */
  patience?: number;
  /** shortest name in characters (prefix included; default 0) */
  minLen?: number;
  /** every name ends with this text */
  suffix?: string;
  /** every name contains this text */
  contains?: string;
  /** with constraints: ConstraintError after this many draws (default max(100000, 1000 n)) */
  maxSamples?: number;
  /** yield empty names (the model ending at once) too: the raw draws; by default they are skipped, as wn-generate does */
  allowEmpty?: boolean;
}

/** Unknown keys are refused (WavenetEdgeError naming them and the known ones). */
export interface CompleteOptions {
  /** longest name in characters (default: the model's config.max_len) */
  maxLen?: number;
  /** CompletionError after expanding this many partial names, 1..10,000,000 (default 20,000) */
  maxNodes?: number;
}

export interface Completion {
  name: string;
  /** p(name, then the end token) under the model at temperature 1 */
  probability: number;
  /** its natural log (the value score() gives the name) */
  logprob: number;
}

export interface ScoreResult {
  /** log p(item followed by the end token), one per item, in input order */
  logprobs: number[];
  /** -sum(logprobs) / nChars */
  nllPerChar: number;
  nItems: number;
  /** characters plus one end token per item */
  nChars: number;
}

export class WavenetModel {
  /** the onnxruntime session; null after close() */
  readonly session: any;
  readonly metadata: ModelMetadata;
  readonly source: string;
  readonly graph: "step" | "window";
  /**
   * Names in index order, each as soon as it is done; the same names as the Python runtime for the same options.
   * minLen, maxLen, suffix, contains: exact draws from the model restricted to such names (the others are
   * skipped, so a seed's names keep their order); a name longer than maxLen is not produced, never cut.
   */
  generate(n: number | null, options?: GenerateOptions): AsyncGenerator<string>;
  /**
   * The k (1..1000, default 10) most probable complete names that start with `prefix`, most probable first,
   * equal probabilities in name order: exact (a best-first search), the Python runtime's list (wn-complete).
   */
  complete(prefix?: string, k?: number, options?: CompleteOptions): Promise<Completion[]>;
  /** Log-probabilities of the items (an array of strings; a string alone is refused) and the mean NLL per character. */
  score(items: Iterable<string>): Promise<ScoreResult>;
  /** Release the onnxruntime session; later calls throw WavenetEdgeError. Closing twice does nothing. */
  close(): Promise<void>;
  /** whether close() has released the session */
  readonly closed: boolean;
}

/** Open and validate a wavenet-edge .onnx file: a path (Node), a URL, or its bytes. */
export function loadModel(source: string | URL | Uint8Array | ArrayBuffer, options: LoadOptions): Promise<WavenetModel>;

/** `metadata_props` of .onnx bytes; ModelFileError for foreign, truncated, empty or ORT-format bytes. */
export function readOnnxProps(data: Uint8Array, where?: string): Record<string, string>;
export function parseMetadata(props: Record<string, string>, where?: string): ModelMetadata;
/** The graph inputs and outputs a config implies (what `wavenet_edge.io` must hold). */
export function ioDescription(config: ModelConfig, graph: "step" | "window", version?: number): GraphIO;

export class UniformSource {
  constructor(seed: number | bigint | string, length: number, first?: number);
  fill(out: Float64Array, offset: number): void;
  take(count: number): Float64Array;
}
export interface SamplingParams { temperature: number; topK: number | null; topP: number | null }
export function checkSampling(options?: SamplingOptions): SamplingParams;
export function makeSampler(params: SamplingParams, vocabSize: number): (logits: Float32Array, offset: number, u: number) => number;

/** name -> file in the package's models/ folder: { default: "wavenet.onnx", "default-int8": "wavenet.int8.onnx" } */
export const SHIPPED_MODELS: Readonly<{ default: "wavenet.onnx"; "default-int8": "wavenet.int8.onnx" }>;
/**
 * A model installed with the package: "default" (float32, wn-generate's default model) or "default-int8";
 * a file path in Node, a URL elsewhere.
 */
export function shippedModel(name?: "default" | "default-int8"): string;
