#!/usr/bin/env node
// Builds the addon modelpin.node (docs/node.md). The package's install script runs it with no
// arguments: meson builds the engine's static library into node/engine-build (option engine_only:
// the libraries and nothing else), then node-gyp compiles node/src/addon.cc against this Node's
// own headers and links that library into node/build/Release/modelpin.node. Nothing is
// downloaded: the headers come from the Node that runs this script (npm_config_nodedir when set).
//
// The in-tree build (test/meson.build) passes the library meson already built:
//   node node/build.js --engine-lib LIB --engine-build DIR --gyp-dir DIR --output FILE
// Environment: CXXFLAGS/LDFLAGS reach the compiler and linker (the ASan build passes its flags).
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const nodeDir = __dirname;
const root = path.resolve(nodeDir, '..');

function die(message) {
  process.stderr.write(`modelpin build: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    if (!['--engine-lib', '--engine-build', '--gyp-dir', '--output'].includes(name) || i + 1 >= argv.length) {
      process.stderr.write('usage: node node/build.js [--engine-lib LIB --engine-build DIR --gyp-dir DIR --output FILE]\n');
      process.exit(2);
    }
    out[name.slice(2)] = path.resolve(argv[i + 1]);
  }
  return out;
}

// The headers of the running Node: <prefix>/include/node (Debian's and NodeSource's layout).
function nodeHeaders() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  die(`no Node headers in ${prefix}/include/node: install them (Debian: nodejs's headers, libnode-dev) or set npm_config_nodedir`);
}

// npm's own node-gyp: npm names it in npm_config_node_gyp while it runs the install script;
// otherwise the one bundled with the npm next to this Node.
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  die('node-gyp not found (it comes with npm)');
}

// meson builds the engine's static library (libmodelpin.a) into node/engine-build.
function buildEngine() {
  const dir = path.join(nodeDir, 'engine-build');
  if (!fs.existsSync(path.join(dir, 'build.ninja'))) {
    run('meson', ['setup', dir, root, '--wrap-mode=nodownload', '-Dbuildtype=release', '-Dengine_only=true',
      '-Dpython=disabled', '-Dbenchmarks=disabled', '-Dlibedit=disabled', '-Dwerror=false']);
  }
  run('ninja', ['-C', dir, 'libmodelpin.a']);
  return { lib: path.join(dir, 'libmodelpin.a'), build: dir };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const engine = args['engine-lib'] ? { lib: args['engine-lib'], build: args['engine-build'] || root } : buildEngine();
  const gypDir = args['gyp-dir'] || nodeDir;
  if (gypDir !== nodeDir) {
    fs.mkdirSync(gypDir, { recursive: true });
    fs.copyFileSync(path.join(nodeDir, 'binding.gyp'), path.join(gypDir, 'binding.gyp'));
  }
  const env = { ...process.env };
  // node-addon-api is found from the package (binding.gyp's require), whatever the directory.
  env.NODE_PATH = [path.join(root, 'node_modules'), path.resolve(root, '..'), env.NODE_PATH].filter(Boolean).join(path.delimiter);
  if (!env.CXX && spawnSync('ccache', ['--version'], { stdio: 'ignore' }).status === 0) env.CXX = 'ccache g++';
  const gyp = nodeGyp();
  // gyp's make generator wants sources relative to the binding.gyp it reads.
  const src = path.relative(gypDir, root) || '.';
  const vars = [`-Dmodelpin_src=${src}`, `-Dengine_lib=${engine.lib}`, `-Dengine_build=${engine.build}`];
  run(process.execPath, [gyp, 'configure', `--nodedir=${nodeHeaders()}`, '--', ...vars], { cwd: gypDir, env });
  // gyp's makefile lists the engine library as a link flag, not as a prerequisite: a changed
  // library would not relink the addon, and the old engine would be copied out below. The last
  // link's outputs go first, so every run links what the engine library holds now.
  const built = path.join(gypDir, 'build', 'Release', 'modelpin.node');
  for (const f of [built, path.join(gypDir, 'build', 'Release', 'obj.target', 'modelpin.node')]) fs.rmSync(f, { force: true });
  run(process.execPath, [gyp, 'build', '--jobs=2'], { cwd: gypDir, env });
  if (args.output) fs.copyFileSync(built, args.output);
}

main();
