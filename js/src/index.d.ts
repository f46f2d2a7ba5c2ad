// Types of the wavenet-edge package (hand-written; the sources carry the same types as JSDoc).

/** The `wavenet_edge.format_version` values this runtime reads. */
export const FORMAT_VERSIONS: readonly number[];
export const METADATA_PREFIX: "wavenet_edge.";
export const GRAPH_STEP: "step";
export const GRAPH_WINDOW: "window";
export const BOUNDARY_ID: 0;
export const DEFAULT_BATCH_SIZE: number;
export const DEFAULT_PATIENCE: number;

export class WavenetEdgeError extends Error {}
export class VocabError extends WavenetEdgeError {}
export class ModelFileError extends WavenetEdgeError {}

export class Vocab {
  constructor(chars: string[]);
  readonly chars: readonly string[];
  readonly size: number;
  unknownChars(text: string): string[];
  encode(text: string): number[];
  decode(ids: Iterable<number>): string;
  toDict(): { boundary_id: 0; chars: string[] };
  static fromDict(data: unknown): Vocab;
}

export interface TensorSpec { name: string; dtype: string; shape: (string | number)[] }
export interface GraphIO { inputs: TensorSpec[]; outputs: TensorSpec[]; [key: string]: unknown }

export interface ModelMetadata {
  formatVersion: number;
  graph: "step" | "window";
  /** the model config as exported (snake_case keys: arch, vocab_size, max_len, channels, ...) */
  config: Record<string, any>;
  vocab: Vocab;
  receptiveField: number;
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

export interface LoadOptions {
  /** the onnxruntime module the app uses: `import * as ort from "onnxruntime-node"` (or "onnxruntime-web") */
  ort: any;
  /** intra-op threads (default: onnxruntime's choice) */
  threads?: number;
  executionProviders?: any[];
  /** more onnxruntime session options, applied last */
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

export interface GenerateOptions extends SamplingOptions {
  /** a safe integer, a BigInt or a decimal string (any Python int) */
  seed?: number | bigint | string;
  prefix?: string;
  /** longest name in characters (default: the model's config.max_len) */
  maxLen?: number;
  /** no name twice */
  unique?: boolean;
  /** names never to yield ("" skips empty names, as wn-generate does) */
  exclude?: Iterable<string> | null;
  /** names generated side by side (does not change which names a seed gives) */
  batchSize?: number;
  /** unique/exclude: give up after this many rejected names in a row */
  patience?: number;
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
  readonly session: any;
  readonly metadata: ModelMetadata;
  readonly source: string;
  readonly graph: "step" | "window";
  /** Names in index order, each as soon as it is done; the same names as the Python runtime for the same options. */
  generate(n: number | null, options?: GenerateOptions): AsyncGenerator<string>;
  score(items: Iterable<string>): Promise<ScoreResult>;
}

/** Open and validate a wavenet-edge .onnx file: a path (Node), a URL, or its bytes. */
export function loadModel(source: string | URL | Uint8Array | ArrayBuffer, options: LoadOptions): Promise<WavenetModel>;

/** `metadata_props` of .onnx bytes; ModelFileError for foreign, truncated, empty or ORT-format bytes. */
export function readOnnxProps(data: Uint8Array, where?: string): Record<string, string>;
export function parseMetadata(props: Record<string, string>, where?: string): ModelMetadata;

export class UniformSource {
  constructor(seed: number | bigint | string, length: number, first?: number);
  fill(out: Float64Array, offset: number): void;
  take(count: number): Float64Array;
}
export interface SamplingParams { temperature: number; topK: number | null; topP: number | null }
export function checkSampling(options?: SamplingOptions): SamplingParams;
export function makeSampler(params: SamplingParams, vocabSize: number): (logits: Float32Array, offset: number, u: number) => number;
