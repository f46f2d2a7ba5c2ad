/**
 * Reading a local model file, Node's way (selected by package.json "imports" "#read-file", condition "node").
 * The browser build gets ./read_file.browser.js instead, so that a browser bundle has no `node:` import.
 */
export { readFile } from "node:fs/promises";
