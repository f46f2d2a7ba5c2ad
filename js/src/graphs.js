/**
 * One interface over the two graph kinds (the twin of runtime/graphs.py): consume one token per row,
 * return next-token logits. Names, shapes and the start state come from the metadata, never hard-coded.
 *
 *     const runner = makeRunner(ort, session, meta);
 *     const rows = runner.rows(startState, startToken, width);   // owns the state and the tokens it feeds
 *     rows.tokens[r] = BigInt(token); const logits = await rows.step();   // Float32Array [width * V]
 *
 * Step graph (Fast WaveNet, Paine et al. 2016): the state is opaque, [B, S] float32, fed back as it comes
 * out. Window graph: the state is the last receptive-field tokens [B, R] int64, rolled by one per step.
 */
import { GRAPH_STEP } from "./contract.js";
import { BOUNDARY_ID } from "./vocab.js";

/**
 * @typedef {import("./contract.js").ModelMetadata} ModelMetadata
 * @typedef {{ Tensor: any }} OrtModule
 * @typedef {{ run(feeds: Record<string, any>, fetches?: Record<string, any>): Promise<Record<string, any>> }} OrtSession
 */

/** @param {Float32Array} a @param {Float32Array} b same values, -0 and NaN included */
function sameBits(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Rows of a batch on the step graph: state [B * S] float32, tokens [B] int64. The state ping-pongs between
 * two buffers bound as preallocated outputs (no allocation per step, as IOBinding in Python) where the
 * backend fills them (checked on the first step); otherwise plain runs.
 */
class StepRows {
  /**
   * @param {StepRunner} runner @param {Float32Array} startState [S] @param {number} startToken
   * @param {number} width
   */
  constructor(runner, startState, startToken, width) {
    this.runner = runner;
    this.startState = startState;
    this.startToken = BigInt(startToken);
    /** @type {boolean | null} null: not known yet (the first step finds out) */
    this.preallocated = null;
    this.bind(new Float32Array(width * runner.stateSize), new BigInt64Array(width));
    for (let r = 0; r < width; r++) this.reset(r);
  }

  /** @param {Float32Array} state [B * S] @param {BigInt64Array} tokens [B] */
  bind(state, tokens) {
    const { ort, stateSize, vocabSize } = this.runner;
    const width = tokens.length;
    this.width = width;
    this.tokens = tokens;
    this.states = [state, new Float32Array(width * stateSize)];
    this.parity = 0; // states[parity] is the state the next step consumes
    this.tensors = {
      tokens: new ort.Tensor("int64", tokens, [width]),
      states: this.states.map((buffer) => new ort.Tensor("float32", buffer, [width, stateSize])),
      logits: new ort.Tensor("float32", new Float32Array(width * vocabSize), [width, vocabSize]),
    };
  }

  /** The state the next step consumes, [B * S]. */
  get state() {
    return this.states[this.parity];
  }

  /** Consume `tokens`; resolves to logits Float32Array [width * V]. */
  async step() {
    if (this.runner.queues) {  // format 2: the runner gathers the queues' oldest vectors and shifts the state
      const next = 1 - this.parity;
      const out = await this.runner.advance(this.state, this.tokens);
      this.states[next].set(out.state);
      this.parity = next;
      return out.logits;
    }
    const { session, names } = this.runner;
    const { tokens, states, logits } = this.tensors;
    const feeds = { [names.tokens]: tokens, [names.state]: states[this.parity] };
    const next = 1 - this.parity;
    if (this.preallocated === true) {
      await session.run(feeds, { [names.logits]: logits, [names.nextState]: states[next] });
      this.parity = next;
      return /** @type {Float32Array} */ (logits.data);
    }
    const out = await session.run(feeds);
    const outLogits = /** @type {Float32Array} */ (out[names.logits].data);
    const outState = /** @type {Float32Array} */ (out[names.nextState].data);
    if (this.preallocated === null) {
      // first step: do preallocated outputs get written? (onnxruntime-node: yes; onnxruntime-web's wasm
      // backend leaves CPU buffers untouched.) Use them from now on only if they hold the same values.
      let filled = true;
      try {
        await session.run(feeds, { [names.logits]: logits, [names.nextState]: states[next] });
      } catch {
        filled = false; // this backend refuses preallocated outputs
      }
      this.preallocated = filled && sameBits(/** @type {Float32Array} */ (logits.data), outLogits)
        && sameBits(/** @type {Float32Array} */ (states[next].data), outState);
    }
    this.states[next].set(outState);
    this.parity = next;
    return outLogits;
  }

  /** Row `slot` starts over: the start state and the start token. @param {number} slot */
  reset(slot) {
    this.state.set(this.startState, slot * this.runner.stateSize);
    this.tokens[slot] = this.startToken;
  }

  /** Keep the rows whose `keep[r]` is true, in order. @param {boolean[]} keep */
  keep(keep) {
    const S = this.runner.stateSize;
    const width = keep.filter(Boolean).length;
    const state = new Float32Array(width * S);
    const tokens = new BigInt64Array(width);
    let w = 0;
    for (let r = 0; r < keep.length; r++) {
      if (!keep[r]) continue;
      state.set(this.state.subarray(r * S, (r + 1) * S), w * S);
      tokens[w++] = this.tokens[r];
    }
    this.bind(state, tokens);
  }
}

/** Rows of a batch on the window graph: windows [B * R] int64 rolled in place, tokens [B] int64. */
class WindowRows {
  /**
   * @param {WindowRunner} runner @param {BigInt64Array} startState [R] @param {number} startToken
   * @param {number} width
   */
  constructor(runner, startState, startToken, width) {
    this.runner = runner;
    this.startState = startState;
    this.startToken = BigInt(startToken);
    this.width = width;
    this.windows = new BigInt64Array(width * runner.field);
    this.tokens = new BigInt64Array(width);
    for (let r = 0; r < width; r++) this.reset(r);
  }

  async step() {
    const R = this.runner.field;
    for (let r = 0; r < this.width; r++) {
      this.windows.copyWithin(r * R, r * R + 1, (r + 1) * R);
      this.windows[(r + 1) * R - 1] = this.tokens[r];
    }
    return this.runner.logits(this.windows, this.width);
  }

  /** @param {number} slot */
  reset(slot) {
    this.windows.set(this.startState, slot * this.runner.field);
    this.tokens[slot] = this.startToken;
  }

  /** @param {boolean[]} keep */
  keep(keep) {
    const R = this.runner.field;
    const width = keep.filter(Boolean).length;
    const windows = new BigInt64Array(width * R);
    const tokens = new BigInt64Array(width);
    let w = 0;
    for (let r = 0; r < keep.length; r++) {
      if (!keep[r]) continue;
      windows.set(this.windows.subarray(r * R, (r + 1) * R), w * R);
      tokens[w++] = this.tokens[r];
    }
    this.windows = windows;
    this.tokens = tokens;
    this.width = width;
  }
}

/** tokens [B] int64, state [B, S] float32 -> logits [B, V], next state [B, S]. */
export class StepRunner {
  /** @param {OrtModule} ort @param {OrtSession} session @param {ModelMetadata} meta */
  constructor(ort, session, meta) {
    this.ort = ort;
    this.session = session;
    this.vocabSize = meta.vocab.size;
    this.stateSize = meta.stateSize;
    this.initial = /** @type {Float32Array} */ (meta.initialState);
    const [tokens, state] = meta.io.inputs.map((t) => t.name);
    const [logits, nextState] = meta.io.outputs.map((t) => t.name);
    this.names = { tokens, state, logits, nextState };
    /** format 2: per layer { offset, size, input, output } of its queue in the flat state; null in format 1 */
    this.queues = Array.isArray(meta.io.queues) ? meta.io.queues : null;
    this.channels = this.queues ? meta.io.inputs[1].shape[1] : 0;
  }

  /** State [batch * S] after only boundary tokens. @param {number} batch */
  initialState(batch) {
    const state = new Float32Array(batch * this.stateSize);
    for (let r = 0; r < batch; r++) state.set(this.initial, r * this.stateSize);
    return state;
  }

  /**
   * One step for `batch` rows: resolves to { logits [B * V], state [B * S] }.
   * @param {Float32Array} state @param {BigInt64Array} tokens
   */
  async advance(state, tokens) {
    const batch = tokens.length;
    const { ort, names } = this;
    if (this.queues) return this.advanceQueues(state, tokens);
    const out = await this.session.run({
      [names.tokens]: new ort.Tensor("int64", tokens, [batch]),
      [names.state]: new ort.Tensor("float32", state, [batch, this.stateSize]),
    });
    return { logits: /** @type {Float32Array} */ (out[names.logits].data), state: /** @type {Float32Array} */ (out[names.nextState].data) };
  }

  /**
   * Format 2: feed each layer's oldest queue vector, then shift every queue by one and append the graph's
   * newest vector (runtime/contract.py: step_feeds and next_state).
   * @param {Float32Array} state [B * S] @param {BigInt64Array} tokens [B]
   */
  async advanceQueues(state, tokens) {
    const batch = tokens.length;
    const { ort, names, stateSize: S, channels: C } = this;
    const queues = /** @type {any[]} */ (this.queues);
    /** @type {Record<string, any>} */
    const feeds = { [names.tokens]: new ort.Tensor("int64", tokens, [batch]) };
    for (const q of queues) {
      const oldest = new Float32Array(batch * C);
      for (let r = 0; r < batch; r++) oldest.set(state.subarray(r * S + q.offset, r * S + q.offset + C), r * C);
      feeds[q.input] = new ort.Tensor("float32", oldest, [batch, C]);
    }
    const out = await this.session.run(feeds);
    const next = new Float32Array(batch * S);
    for (const q of queues) {
      const newest = /** @type {Float32Array} */ (out[q.output].data);
      for (let r = 0; r < batch; r++) {
        const at = r * S + q.offset;
        next.set(state.subarray(at + C, at + q.size), at);
        next.set(newest.subarray(r * C, (r + 1) * C), at + q.size - C);
      }
    }
    return { logits: /** @type {Float32Array} */ (out[names.logits].data), state: next };
  }

  /** @param {Float32Array} startState @param {number} startToken @param {number} width */
  rows(startState, startToken, width) {
    return new StepRows(this, startState, startToken, width);
  }
}

/** tokens [B, R] int64 -> logits [B, V]; the state is the window before the token being consumed. */
export class WindowRunner {
  /** @param {OrtModule} ort @param {OrtSession} session @param {ModelMetadata} meta */
  constructor(ort, session, meta) {
    this.ort = ort;
    this.session = session;
    this.vocabSize = meta.vocab.size;
    this.field = meta.receptiveField;
    this.names = { tokens: meta.io.inputs[0].name, logits: meta.io.outputs[0].name };
  }

  /** @param {number} batch */
  initialState(batch) {
    return new BigInt64Array(batch * this.field).fill(BigInt(BOUNDARY_ID));
  }

  /** @param {BigInt64Array} state @param {BigInt64Array} tokens */
  async advance(state, tokens) {
    const R = this.field;
    const batch = tokens.length;
    const windows = new BigInt64Array(batch * R);
    for (let r = 0; r < batch; r++) {
      windows.set(state.subarray(r * R + 1, (r + 1) * R), r * R);
      windows[(r + 1) * R - 1] = tokens[r];
    }
    return { logits: await this.logits(windows, batch), state: windows };
  }

  /** [N * R] int64 windows -> Float32Array [N * V] logits. @param {BigInt64Array} windows @param {number} n */
  async logits(windows, n) {
    const out = await this.session.run({ [this.names.tokens]: new this.ort.Tensor("int64", windows, [n, this.field]) });
    return /** @type {Float32Array} */ (out[this.names.logits].data);
  }

  /** @param {BigInt64Array} startState @param {number} startToken @param {number} width */
  rows(startState, startToken, width) {
    return new WindowRows(this, startState, startToken, width);
  }
}

/** @param {OrtModule} ort @param {OrtSession} session @param {ModelMetadata} meta */
export function makeRunner(ort, session, meta) {
  return meta.graph === GRAPH_STEP ? new StepRunner(ort, session, meta) : new WindowRunner(ort, session, meta);
}
