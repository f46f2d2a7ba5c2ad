/**
 * Reading a local model file where there is no file system (package.json "imports" "#read-file", conditions
 * "browser" and "default"): model.js only asks for it in Node, so this is reached only by a browser build run
 * under Node; it says what to pass instead. Node's own build reads files with ./read_file.node.js.
 * @param {string | URL} file
 * @returns {Promise<Uint8Array>}
 */
export async function readFile(file) {
  throw new Error("this is wavenet-edge's browser build, which reads no local files: pass a URL (http:, https:, "
    + `blob:, data:) or the model's bytes instead of ${JSON.stringify(String(file))}`);
}
