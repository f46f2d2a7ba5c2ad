/**
 * One onnxruntime-web run at a time on the page: onnxruntime-web's wasm backend cannot run two
 * sessions' (or one session's) `run` calls at once (the second reads a value the first has freed:
 * "Reading data from non-tensor typed value is not supported"), and the page's generation and its
 * autocomplete both use the model. `takingTurns(ort)` is the `ort` to hand to loadModel: the same module,
 * whose sessions' `run` calls queue behind each other (a long generation and the autocomplete interleave
 * call by call).
 */

/**
 * @param {any} ort the onnxruntime-web module
 * @returns {any} an `ort` for loadModel whose sessions take turns
 */
export function takingTurns(ort) {
  let last = Promise.resolve();
  /** @param {any} session */
  const wrap = (session) => new Proxy(session, {
    get(target, key) {
      if (key === "run") {
        return (/** @type {any[]} */ ...args) => {
          const result = last.then(() => target.run(...args));
          last = result.catch(() => undefined);
          return result;
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return Object.freeze({
    ...ort,
    InferenceSession: { create: async (/** @type {any[]} */ ...args) => wrap(await ort.InferenceSession.create(...args)) },
  });
}
