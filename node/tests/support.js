// Shared by the node tests: the source tree, the CLI, a writable copy of fixtures/state.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const SOURCE_ROOT = process.env.MODELPIN_SOURCE_ROOT || path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(SOURCE_ROOT, 'fixtures');

function cli() {
  const p = process.env.MODELPIN_CLI;
  if (!p) throw new Error('MODELPIN_CLI is not set: run these tests through `meson test -C build node`');
  return p;
}

// A temp dir removed when the test ends.
function tempDir(t, name = 'modelpin-node-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A writable copy of fixtures/state (config, auth store with anthropic:work and others).
function stateCopy(t) {
  const dest = path.join(tempDir(t), 'state');
  fs.cpSync(path.join(FIXTURES, 'state'), dest, { recursive: true });
  return dest;
}

module.exports = { SOURCE_ROOT, FIXTURES, cli, tempDir, stateCopy };
