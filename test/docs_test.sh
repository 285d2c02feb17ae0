#!/usr/bin/env bash
# The docs hold together:
#   1. every relative link in README.md and docs/*.md (and fixtures/README.md) points to a file or
#      folder that exists, and to a heading of it when the link names an anchor (#...);
#   2. no code comment, test, script or doc cites numbered sections of a document outside the
#      repository ("spec 2.3"), issue numbers ("issue 20", "OpenClaw #5733") or files that are
#      not here (DESIGN.md): they explain in the project's own words or point to docs/;
#   3. the README's C++ example (the block after <!-- cpp-example -->) compiles against the tree's
#      headers, and its Python block parses.
# Before checking the tree it checks itself: a scratch tree with one broken link, one broken
# anchor and one cited section must fail, naming each.
#
#   docs_test.sh SOURCE_ROOT [BUILD_ROOT CXX]     (the compile check needs BUILD_ROOT and CXX)
set -euo pipefail
src=$1 build=${2:-} cxx=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# ---- 1. links ---------------------------------------------------------------------------------
# check_links ROOT FILE...: prints "FAIL file:line: ..." per bad link; exit status 1 if any.
check_links() {
  python3 - "$@" <<'PY'
import os, re, sys, unicodedata

root, files = sys.argv[1], sys.argv[2:]

def slug(heading):
    # The anchor a heading gets on GitHub and most Markdown renderers: lower case, inline markup
    # and punctuation dropped (letters, digits, spaces, '-' and '_' kept), spaces become '-'.
    h = re.sub(r"`|\*\*|\*|<[^>]+>", "", heading.strip()).lower()
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)
    h = "".join(c for c in h if c in " -_" or unicodedata.category(c)[0] in "LN")
    return h.replace(" ", "-")

anchor_cache = {}
def anchors(path):
    if path not in anchor_cache:
        seen, out, fence = {}, set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("```"):
                    fence = not fence
                    continue
                m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    out.add(s if n == 0 else f"{s}-{n}")
        anchor_cache[path] = out
    return anchor_cache[path]

bad = 0
link = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
for rel in files:
    path = os.path.join(root, rel)
    fence = False
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            text = re.sub(r"`[^`]*`", "", line)  # inline code is not a link
            for m in link.finditer(text):
                target = m.group(1)
                if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
                    continue
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.exists(dest):
                    print(f"FAIL {rel}:{no}: link to {target}: {os.path.relpath(dest, root)} does not exist")
                    bad += 1
                elif anchor:
                    if os.path.isdir(dest) or not dest.endswith(".md"):
                        print(f"FAIL {rel}:{no}: link to {target}: an anchor into a file that is not Markdown")
                        bad += 1
                    elif anchor not in anchors(dest):
                        print(f"FAIL {rel}:{no}: link to {target}: {os.path.relpath(dest, root)} has no heading #{anchor}")
                        bad += 1
sys.exit(1 if bad else 0)
PY
}

# ---- 2. citations -----------------------------------------------------------------------------
# Numbered sections of an outside document, issue numbers, and documents that are not here.
cite='(^|[^A-Za-z])[Ss]pec(ification)?( sections?)? [0-9]|[Ss]pec section|the spec([^A-Za-z]|$)|[Ii]ssues? #?[0-9]|OpenClaw #[0-9]|\(#[0-9]+[,)]|, #[0-9]+\)|DESIGN\.md|openclaw-model-spec'
# check_citations ROOT: prints "FAIL file:line: text" per citation; exit status 1 if any.
check_citations() {
  local root=$1 hits
  # What the project wrote: sources, tests, scripts, build files, docs and fixtures' comments
  # (not build directories, and not recorded OpenClaw output, *.jsonl, which is data).
  hits=$(cd "$root" && find -H sdk base grammar engine plugins replay embed cli python examples test bench fixtures docs \
           README.md dev meson.build meson_options.txt pyproject.toml .ci \
           -type f \( -name '*.jsonl' -o -name '*.sqlite' -o -name '*.so' -o -name '*.pyc' \) -prune -o \
           -type f -print 2>/dev/null |
         grep -v '^test/docs_test.sh$' |
         xargs -d '\n' grep -nIE "$cite" -- 2>/dev/null) || true
  [ -z "$hits" ] && return 0
  sed 's/^/FAIL cites an outside document or issue: /' <<<"$hits"
  return 1
}

# ---- self-check -------------------------------------------------------------------------------
mkdir -p "$tmp/self/docs" "$tmp/self/engine"
cat >"$tmp/self/README.md" <<'EOF'
# Title
See [the guide](docs/guide.md#the-second-part), [a page](docs/missing.md), [here](#title) and
`[not a link](nowhere.md)`.
EOF
cat >"$tmp/self/docs/guide.md" <<'EOF'
# Guide
## The second part
[back](../README.md#no-such-heading) [ok](../README.md#title)
EOF
printf '// The removal rules of spec 2.3.\nint x;\n' >"$tmp/self/engine/a.cc"
out=$(check_links "$tmp/self" README.md docs/guide.md || true)
grep -q 'README.md:2: link to docs/missing.md' <<<"$out" &&
  grep -q 'guide.md:3: link to ../README.md#no-such-heading' <<<"$out" &&
  [ "$(grep -c FAIL <<<"$out")" = 2 ] ||
  { printf 'FAIL self-check: the link check did not flag exactly the two bad links:\n%s\n' "$out"; exit 1; }
out=$(check_citations "$tmp/self" || true)
grep -q 'engine/a.cc:1:' <<<"$out" ||
  { printf 'FAIL self-check: the citation check missed "spec 2.3":\n%s\n' "$out"; exit 1; }
echo "ok   self-check: a broken link, a broken anchor and a cited section are caught"

# ---- the tree ---------------------------------------------------------------------------------
docs=(README.md fixtures/README.md)
for f in "$src"/docs/*.md; do docs+=("docs/${f##*/}"); done
if out=$(check_links "$src" "${docs[@]}"); then
  echo "ok   every relative link and anchor of ${#docs[@]} pages resolves"
else
  printf '%s\n' "$out"; fail=1
fi
if out=$(check_citations "$src"); then
  echo "ok   no comment, test, script or doc cites spec sections, issue numbers or absent documents"
else
  printf '%s\n' "$out"; fail=1
fi

# ---- 3. the README's examples -----------------------------------------------------------------
# The block of the given language that follows MARKER (or the first such block without one).
block() {  # block FILE LANG [MARKER]
  awk -v lang="$2" -v marker="${3:-}" '
    marker != "" && index($0, marker) { armed = 1; next }
    !inb && $0 == "```" lang && (marker == "" || armed) { inb = 1; next }
    inb && $0 == "```" { exit }
    inb { print }' "$1"
}
block "$src/README.md" python >"$tmp/example.py"
if [ ! -s "$tmp/example.py" ]; then
  echo "FAIL README.md has no python block"; fail=1
elif python3 -c 'import ast,sys; ast.parse(open(sys.argv[1]).read())' "$tmp/example.py"; then
  echo "ok   the README's Python example parses"
else
  echo "FAIL the README's Python example does not parse"; fail=1
fi
if [ -n "$build" ] && [ -n "$cxx" ]; then
  block "$src/README.md" cpp '<!-- cpp-example -->' >"$tmp/body.cc"
  # The helpers the example leaves to the bot, declared; then the example exactly as printed.
  { echo '#include <string>'
    echo '#include <string_view>'
    echo 'void SendToChat(const std::string& chat, const std::string& text);'
    echo 'bool CallModel(const std::string& model, const std::string& secret, const std::string& text);'
    echo 'template <class Text> void Log(const Text& text);'
    cat "$tmp/body.cc"; } >"$tmp/example.cc"
  # docs/embedding.md shows the same example: it must not drift from the one compiled here.
  block "$src/docs/embedding.md" cpp '<!-- cpp-example' >"$tmp/embedding.cc"
  if ! cmp -s "$tmp/body.cc" "$tmp/embedding.cc"; then
    echo "FAIL docs/embedding.md's C++ example differs from the README's:"
    diff "$tmp/body.cc" "$tmp/embedding.cc" || true
    fail=1
  fi
  # Warnings are errors: an example that drops a Status ([[nodiscard]]) teaches the wrong thing.
  if [ ! -s "$tmp/body.cc" ]; then
    echo "FAIL README.md has no cpp block after <!-- cpp-example -->"; fail=1
  elif "$cxx" -std=c++20 -fsyntax-only -Wall -Werror -I"$build/sdk" -I"$src" -I"$src/sdk" -I"$build" "$tmp/example.cc" 2>"$tmp/cc.err"; then
    echo "ok   the README's C++ example compiles against the tree's headers"
  else
    echo "FAIL the README's C++ example does not compile:"; cat "$tmp/cc.err"; fail=1
  fi
fi
exit $fail
