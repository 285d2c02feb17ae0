#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack` in the repository, then `npm install` of that
# tarball in an empty project, which runs the package's install script (node/build.js: meson
# builds the engine's static library, node-gyp compiles the addon against this Node's own headers;
# nothing is downloaded but node-addon-api from the npm registry or npm's cache). Then the
# installed package handles messages, and its files are what package.json's "files" allows.
#   test/node_package_test.sh SOURCE_ROOT
set -euo pipefail
src=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelpin-npm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# npm pack writes the tarball; --ignore-scripts: packing runs no build.
(cd "$src" && npm pack --ignore-scripts --pack-destination "$tmp" --json >"$tmp/pack.json") || fail "npm pack"
tgz=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["filename"])' "$tmp/pack.json")
[ -f "$tmp/$tgz" ] || fail "npm pack wrote no $tgz"
# Only sources: no build output, node_modules, tests or fixtures.
tar -tzf "$tmp/$tgz" >"$tmp/list"
if grep -E '^package/(node_modules|build[^/]*|node/build|node/engine-build|fixtures|test|node/tests)/' "$tmp/list"; then
  fail "the tarball holds files it should not (above)"
fi
for f in package/package.json package/node/index.js package/node/index.d.ts package/node/binding.gyp \
         package/node/build.js package/node/src/addon.cc package/meson.build package/engine/turn/engine.cc \
         package/sdk/modelpin/version.h.in; do
  grep -qx "$f" "$tmp/list" || fail "the tarball lacks $f"
done
echo "npm pack: $tgz, $(wc -l <"$tmp/list") files"

mkdir "$tmp/app"
cd "$tmp/app"
echo '{"name": "app", "version": "1.0.0", "private": true}' >package.json
# The build's own output goes to the log; shown when it fails.
npm install --prefer-offline --no-audit --no-fund "$tmp/$tgz" >"$tmp/install.log" 2>&1 ||
  { tail -n 60 "$tmp/install.log" >&2; fail "npm install $tgz"; }
[ -f node_modules/modelpin/node/build/Release/modelpin.node ] || fail "no addon after npm install"
grep -q "Downloading\|download" "$tmp/install.log" && { grep -n "ownload" "$tmp/install.log" >&2; fail "the install downloaded something"; }

cat >check.js <<'JS'
const assert = require('node:assert/strict');
const { Engine, ModelpinError } = require('modelpin');
(async () => {
  const engine = new Engine({ sessions: ':memory:' });
  const pin = engine.handleSync('/model sonnet', { session: 'chat' });
  assert.match(pin.replies[0].text, /sonnet/);
  const out = await engine.handle('hello', { session: 'chat' });
  assert.match(out.route.model, /^claude-sonnet/);  // OpenClaw's defaults: no config
  assert.throws(() => new Engine({ config: '/nonexistent/modelpin.json' }), ModelpinError);
  console.log('installed package: ok');
})().catch((e) => { console.error(e); process.exit(1); });
JS
env -u MODELPIN_NODE_ADDON node check.js
