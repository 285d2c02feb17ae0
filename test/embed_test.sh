#!/usr/bin/env bash
# Installs modelpin into a scratch destdir, builds examples/embed against the installed
# pkg-config file alone (no source tree include paths), and runs it on the fixture state. Then a
# client that builds its engine with Engine::Create opens its stores through the installed
# factories (engine/sessions/store_factory.h), the only way: the backends' classes are not
# installed (docs/embedding.md).
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null
pc=$(find "$tmp/dest" -name modelpin.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no modelpin.pc installed"; exit 1; }
# Relocate the installed .pc to the destdir, as a packager would.
mkdir -p "$tmp/pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$pc" > "$tmp/pc/modelpin.pc"
export PKG_CONFIG_PATH="$tmp/pc"
flags=$(pkg-config --cflags --libs modelpin)
libdir=$(pkg-config --variable=libdir modelpin)
# A sanitized library needs a sanitized consumer (the ASan runtime must come first).
sanitize=$(meson introspect --buildoptions "$build" |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"))')
extra=()
[ "$sanitize" = none ] || extra=("-fsanitize=$sanitize")
g++ -std=c++20 "${extra[@]}" -o "$tmp/embed" "$src/examples/embed/main.cc" $flags -Wl,-rpath,"$libdir"
out=$("$tmp/embed" "$src/fixtures/state" "/model opus@anthropic:work" "hello there")
expected="reply: Session model reset to configured default (opus (anthropic/claude-opus-4-5)). Auth profile set to anthropic:work.
route: anthropic/claude-opus-4-5 via anthropic:work anthropic:default"
if [ "$out" != "$expected" ]; then
  printf 'FAIL: embed printed:\n%s\nexpected:\n%s\n' "$out" "$expected"
  exit 1
fi
echo "ok: examples/embed built from the installed pkg-config file and replied as expected"

# --- The stores as an embedder sees them: interfaces and factories ------------------------------
inc=$(pkg-config --variable=includedir modelpin)
classes=$(grep -rlE '(class|struct) (MemorySessionStore|SqliteSessionStore|RedisSessionStore|RedisAuthHealth)\b' "$inc" || true)
[ -z "$classes" ] || { echo "FAIL: installed headers declare a store backend: $classes"; exit 1; }
cat > "$tmp/stores.cc" <<'CC'
#include <iostream>
#include <map>

#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>

// stores STATE DB: an engine on each store, each sending its messages to one session.
absl::Status Run(const std::string& state, absl::StatusOr<std::unique_ptr<modelpin::SessionStore>> sessions,
                 std::vector<std::string> messages) {
  auto config = modelpin::Config::Load(state + "/modelpin.json");
  if (!config.ok()) return config.status();
  if (!sessions.ok()) return sessions.status();
  auto engine = modelpin::Engine::Create(*std::move(config), *std::move(sessions),
                                         {.state_dir = state, .environment = std::map<std::string, std::string>{},
                                          .plugins = modelpin::BuiltinPlugins()});
  if (!engine.ok()) return engine.status();
  for (const auto& text : messages) {
    auto out = (*engine)->Handle({.session_key = "demo", .text = text});
    if (!out.ok()) return out.status();
    for (const auto& r : out->replies) std::cout << "reply: " << r.text << "\n";
    if (out->route) std::cout << "route: " << out->route->model.Label() << "\n";
  }
  return absl::OkStatus();
}

int main(int, char** argv) {
  const std::string state = argv[1], db = argv[2];
  for (auto st : {Run(state, modelpin::OpenSqliteSessionStore(db), {"/model sonnet"}),
                  Run(state, modelpin::OpenSqliteSessionStore(db), {"hello"}),            // the pin was kept
                  Run(state, modelpin::NewMemorySessionStore(), {"/model sonnet", "hello"}),
                  Run(state, modelpin::NewMemorySessionStore(), {"hello"}),               // a fresh store
                  Run(state, modelpin::OpenSqliteSessionStore(state), {"hello"})})        // a folder: refused
    if (!st.ok()) std::cout << "error: " << st.message() << "\n";
}
CC
g++ -std=c++20 -Wall -Wextra -Werror "${extra[@]}" -o "$tmp/stores" "$tmp/stores.cc" $flags -Wl,-rpath,"$libdir"
cp -r "$src/fixtures/state" "$tmp/state"
out=$("$tmp/stores" "$tmp/state" "$tmp/state/mine.sqlite")
expected="reply: Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged.
route: anthropic/claude-sonnet-4-5
reply: Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged.
route: anthropic/claude-sonnet-4-5
route: anthropic/claude-opus-4-5
error: $tmp/state: is a directory, not a session store"
if [ "$out" != "$expected" ]; then
  printf 'FAIL: the stores client printed:\n%s\nexpected:\n%s\n' "$out" "$expected"
  exit 1
fi
echo "ok: a client opens SQLite and memory stores through the installed factories alone"
