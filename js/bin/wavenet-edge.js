#!/usr/bin/env node
// The `wavenet-edge` command: see src/cli.js.
import { main } from "../src/cli.js";

process.exitCode = await main(process.argv.slice(2));
