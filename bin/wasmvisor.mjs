#!/usr/bin/env node
// The `wasmvisor` command as an ES module, for the paths and scripts that name it: the shim is
// bin/wasmvisor.cjs (CommonJS starts faster: see its comment), which package.json's bin names.
import './wasmvisor.cjs';
