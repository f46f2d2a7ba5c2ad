/**
 * One interface over the two graph kinds (the twin of runtime/graphs.py): consume one token per row,
 * return next-token logits. Names, shapes and the start state come from the metadata, never hard-coded.
 *
 *     const runner = makeRunner(ort, session, meta);
 *     const rows = runner.rows(startState, startToken, width);   // owns the state and the tokens it feeds
 *     rows.tokens[r] = BigInt(token); const logits = await rows.step();   // Float32Array [width * V]
 *
 * Step graph (Fast WaveNet, Paine et al. 2016): format 1's state is opaque, [B, S] float32, fed back as it
 * comes out; format 2's queues live in rings outside the graph (RingRows; `advance` shifts a flat state, for
 * scoring). Window graph: the state is the last receptive-field tokens [B, R] int64, rolled by one per step.
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
 * Rows of a batch on a format-1 step graph (the queues shift inside the graph): state [B * S] float32, tokens [B] int64. The state ping-pongs between
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

/**
 * Format 2 (the twin of runtime/graphs.py `_RingRows`): layer l's queue is a ring of m_l slots (m_l: the
 * power of two above its dilation d_l), each slot a [B, C] block of one Float32Array ring [sum m_l, B, C].
 * At step t the graph reads oldest_l from slot (t - d_l) mod m_l and writes newest_l into slot t mod m_l,
 * both tensors views of the ring (`ring.subarray`): nothing is shifted or copied. The feeds and fetches
 * repeat with period max m_l, so one pair per phase is made once and reused. A row that starts over gets
 * the start queues written into the slots where step t will look for them. Where the backend does not fill
 * preallocated outputs (onnxruntime-web's wasm; checked on the first step) the runs are plain and the
 * newest vectors are copied into their slots.
 */
class RingRows {
  /**
   * @param {StepRunner} runner @param {Float32Array} startState [S] @param {number} startToken
   * @param {number} width
   */
  constructor(runner, startState, startToken, width) {
    this.runner = runner;
    const queues = /** @type {any[]} */ (runner.queues);
    const C = runner.channels;
    this.c = C;
    this.dilations = queues.map((q) => q.size / C);
    this.sizes = this.dilations.map((d) => 2 ** (32 - Math.clz32(d))); // m_l > d_l, a power of two
    this.offsets = []; // first slot of each ring
    let slots = 0;
    for (const m of this.sizes) { this.offsets.push(slots); slots += m; }
    this.slots = slots;
    this.period = Math.max(...this.sizes);
    this.startToken = BigInt(startToken);
    this.queues = queues.map((q) => startState.subarray(q.offset, q.offset + q.size)); // per layer [d * C], oldest first
    /** @type {Map<number, { slots: number[], values: Float32Array }>} */
    this.templates = new Map();
    this.t = 0;
    /** @type {boolean | null} null: not known yet (the first step finds out) */
    this.preallocated = null;
    this.bind(new Float32Array(slots * width * C), new BigInt64Array(width));
    for (let r = 0; r < width; r++) this.reset(r);
  }

  /**
   * The start queues laid out in the rings as step `phase` (mod period) reads them: the ring slots that
   * matter [K] and their vectors [K * C] (entry j of layer l's queue, the input of step t - d + j, goes to
   * slot (t - d + j) mod m_l; the other slots are written before they are read).
   * @param {number} phase
   */
  template(phase) {
    let entry = this.templates.get(phase);
    if (entry === undefined) {
      const slots = [];
      for (let l = 0; l < this.sizes.length; l++) {
        const d = this.dilations[l], m = this.sizes[l];
        for (let j = 0; j < d; j++) slots.push(this.offsets[l] + (((phase - d + j) % m) + m) % m);
      }
      const values = new Float32Array(slots.length * this.c);
      let at = 0;
      for (const queue of this.queues) { values.set(queue, at); at += queue.length; }
      entry = { slots, values };
      this.templates.set(phase, entry);
    }
    return entry;
  }

  /** @param {Float32Array} ring [slots * B * C] @param {BigInt64Array} tokens [B] */
  bind(ring, tokens) {
    const { ort, vocabSize } = this.runner;
    const width = tokens.length;
    this.width = width;
    this.tokens = tokens;
    this.ring = ring;
    this.logits = new ort.Tensor("float32", new Float32Array(width * vocabSize), [width, vocabSize]);
    this.tokensTensor = new ort.Tensor("int64", tokens, [width]);
    /** @type {({ feeds: Record<string, any>, fetches: Record<string, any>, newest: Float32Array[] } | undefined)[]} */
    this.runs = new Array(this.period); // made on first use
  }

  /** The ring slot `slot` (all rows), [B * C], a view. @param {number} slot */
  slot(slot) {
    const block = this.width * this.c;
    return this.ring.subarray(slot * block, (slot + 1) * block);
  }

  /** The feeds and fetches of step `phase` (mod period), views of the ring. @param {number} phase */
  run(phase) {
    const { ort, names } = this.runner;
    const queues = /** @type {any[]} */ (this.runner.queues);
    const shape = [this.width, this.c];
    /** @type {Record<string, any>} */
    const feeds = { [names.tokens]: this.tokensTensor };
    /** @type {Record<string, any>} */
    const fetches = { [names.logits]: this.logits };
    const newest = [];
    for (let l = 0; l < queues.length; l++) {
      const d = this.dilations[l], m = this.sizes[l], offset = this.offsets[l];
      feeds[queues[l].input] = new ort.Tensor("float32", this.slot(offset + (((phase - d) % m) + m) % m), shape);
      newest.push(this.slot(offset + (phase % m)));
      fetches[queues[l].output] = new ort.Tensor("float32", newest[l], shape);
    }
    return (this.runs[phase] = { feeds, fetches, newest });
  }

  /** Consume `tokens`; resolves to logits Float32Array [width * V]. */
  async step() {
    const { session, names } = this.runner;
    const queues = /** @type {any[]} */ (this.runner.queues);
    const phase = this.t % this.period;
    const { feeds, fetches, newest } = this.runs[phase] ?? this.run(phase);
    if (this.preallocated === true) {
      await session.run(feeds, fetches);
      this.t += 1;
      return /** @type {Float32Array} */ (this.logits.data);
    }
    const out = await session.run(feeds);
    const outLogits = /** @type {Float32Array} */ (out[names.logits].data);
    if (this.preallocated === null) {
      // first step: do preallocated outputs get written? (onnxruntime-node: yes; onnxruntime-web's wasm
      // backend leaves CPU buffers untouched.) Use them from now on only if they hold the same values. The
      // newest slots are not read by this step (m_l > d_l), so a second run sees the same inputs.
      let filled = true;
      try {
        await session.run(feeds, fetches);
      } catch {
        filled = false; // this backend refuses preallocated outputs
      }
      this.preallocated = filled && sameBits(/** @type {Float32Array} */ (this.logits.data), outLogits)
        && queues.every((q, l) => sameBits(newest[l], /** @type {Float32Array} */ (out[q.output].data)));
    }
    for (let l = 0; l < queues.length; l++) newest[l].set(/** @type {Float32Array} */ (out[queues[l].output].data));
    this.t += 1;
    return outLogits;
  }

  /** Row `row` starts over: the start queues where step t reads them, and the start token. @param {number} row */
  reset(row) {
    const { slots, values } = this.template(this.t % this.period);
    const C = this.c, block = this.width * C;
    for (let k = 0; k < slots.length; k++) {
      this.ring.set(values.subarray(k * C, (k + 1) * C), slots[k] * block + row * C);
    }
    this.tokens[row] = this.startToken;
  }

  /** Keep the rows whose `keep[r]` is true, in order; the ring is rebuilt for them. @param {boolean[]} keep */
  keep(keep) {
    const C = this.c, block = this.width * C;
    const width = keep.filter(Boolean).length;
    const ring = new Float32Array(this.slots * width * C);
    const tokens = new BigInt64Array(width);
    let w = 0;
    for (let r = 0; r < keep.length; r++) {
      if (!keep[r]) continue;
      for (let s = 0; s < this.slots; s++) {
        ring.set(this.ring.subarray(s * block + r * C, s * block + (r + 1) * C), (s * width + w) * C);
      }
      tokens[w++] = this.tokens[r];
    }
    this.bind(ring, tokens);
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
    if (this.queues) return new RingRows(this, startState, startToken, width);
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
