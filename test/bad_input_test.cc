// Malformed input, end to end. Two parts:
//
//  * BadInputCorpus: every row of fixtures/bad/expected.tsv is loaded through the library (the
//    loader of its kind) and through the CLI, and must fail (or pass) with the exit code and the
//    message the table says, naming the file and the JSON path or line:column. Nothing may be
//    written: the input is byte-identical afterwards, and no temp file is left beside it.
//  * ChatInput: hostile chat messages (random bytes, invalid UTF-8, 16 MiB texts, thousands of
//    directives) must be handled (Handle returns OK) with replies that are valid UTF-8, bounded in
//    size and free of control characters other than '\n'.
//
// Table columns (tab-separated; '#' lines are comments):
//   file   kind   exit   message
// kind is config | auth | transcript | dotenv | sessions | cli-args. For cli-args the first
// column is the argument list (split on spaces). In `message`, {file} stands for the path the
// loader was given (the fixture itself for the library; the file as placed in a temp state dir
// for the CLI). exit is the CLI's exit status; 0 means the library must accept the input too.
#define BOOST_TEST_MODULE bad_input
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/env_credentials.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>
#include <modelpin/replay/replay.h>

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

std::string SourceRoot() {
  const char* env = std::getenv("MODELPIN_SOURCE_ROOT");
  return env && *env ? env : MODELPIN_SOURCE_ROOT;
}

std::string Modelpin() {
  const char* env = std::getenv("MODELPIN_BUILD_ROOT");
  BOOST_REQUIRE_MESSAGE(env && *env, "MODELPIN_BUILD_ROOT is not set (run through meson test)");
  return std::string(env) + "/cli/modelpin";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  BOOST_REQUIRE(out.good());
}

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-bad-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Every regular file under `dir` (recursively) with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().string()] = ReadFile(e.path().string());
  return out;
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

// Runs the CLI with `args`, the environment cleared of credentials and pointed at `state_env`.
RunResult RunCli(const std::vector<std::string>& args, const std::string& state_env) {
  const std::string out_path = state_env + ".out", err_path = state_env + ".err";
  static const std::string bin = Modelpin();
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) ::_exit(120);
    ::dup2(out, 1);
    ::dup2(err, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::setenv("MODELPIN_STATE_DIR", state_env.c_str(), 1);
    ::unsetenv("MODELPIN_CONFIG");
    ::setenv("MODELPIN_NOW_MS", "1800000000000", 1);
    for (const char* v : {"ANTHROPIC_API_KEY", "ANTHROPIC_OAUTH_TOKEN", "OPENROUTER_API_KEY", "OPENAI_API_KEY"})
      ::unsetenv(v);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(121);
  }
  int wstatus = 0;
  BOOST_REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  RunResult r;
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return r;
}

struct Row {
  int line = 0;
  std::string file, kind, message;
  int exit = 0;
  bool writes = false;  // known defect: the refused command writes to the state dir anyway
};

// The table's escapes: \xHH and \n.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<Row> ReadTable(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  std::vector<Row> rows;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    auto cols = Split(line, '\t');
    BOOST_REQUIRE_MESSAGE(cols.size() == 4 || cols.size() == 5, path << ":" << n << ": expected 4 or 5 columns");
    BOOST_REQUIRE_MESSAGE(cols.size() == 4 || cols[4] == "writes", path << ":" << n << ": unknown note " << cols[4]);
    rows.push_back({n, cols[0], cols[1], Unescape(cols[3]), std::stoi(cols[2]), cols.size() == 5});
  }
  return rows;
}

// The library's verdict on a fixture: "" when accepted, else the error message.
std::string LoadWithLibrary(const Row& row, const std::string& path, bool* ran) {
  *ran = true;
  absl::Status st;
  if (row.kind == "config") {
    st = Config::Load(path).status();
  } else if (row.kind == "auth") {
    st = AuthStore::Load(path).status();
  } else if (row.kind == "transcript") {
    st = ParseTranscript(path, ReadFile(path)).status();
  } else if (row.kind == "dotenv") {
    st = ParseDotEnv(path, ReadFile(path)).status();
  } else {  // sessions (opened on a copy, below) and cli-args
    *ran = false;
    return "";
  }
  return st.ok() ? "" : std::string(st.message());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(BadInputCorpus)

BOOST_AUTO_TEST_CASE(EveryRowFailsAsTheTableSaysAndWritesNothing) {
  const std::string bad = SourceRoot() + "/fixtures/bad";
  const std::string state_fixture = SourceRoot() + "/fixtures/state";
  const auto before = Snapshot(bad);
  const auto rows = ReadTable(bad + "/expected.tsv");
  BOOST_TEST(rows.size() >= 30u);
  const std::string tmp = TempDir();
  std::set<std::string> covered;

  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT("expected.tsv:" << row.line << " " << row.file << " (" << row.kind << ")") {
      const std::string fixture = bad + "/" + row.file;
      if (row.kind != "cli-args") {
        BOOST_REQUIRE_MESSAGE(fs::exists(fixture), "no such fixture " << fixture);
        covered.insert(row.file);
      }

      // 1. The library, on the fixture in place (sessions: on a copy, SQLite may create files).
      // A row whose CLI dies of a signal (exit >= 128) would take this process down with it:
      // such inputs are loaded through the CLI only.
      if (row.kind != "sessions" && row.exit < 128) {
        bool ran = false;
        const std::string got = LoadWithLibrary(row, fixture, &ran);
        if (ran) {
          if (row.exit == 0) {
            BOOST_TEST(got == "", "library rejected an input the table says is accepted: " << got);
          } else {
            const std::string want = Replace(row.message, "{file}", fixture);
            BOOST_TEST(got.find(want) != std::string::npos, "library message\n  got:  " << got << "\n  want: " << want);
          }
        }
      }

      // 2. The CLI, on a fresh temp state dir that holds the input where the CLI reads it.
      const std::string state = tmp + "/s" + std::to_string(row.line);
      fs::create_directories(state);
      std::vector<std::string> args;
      std::string placed;  // where the input sits in the state dir ("" when it stays in fixtures/bad)
      if (row.kind == "config") {
        args = {"models", "status", "--config", fixture, "--state", state};
      } else if (row.kind == "auth") {
        fs::copy_file(state_fixture + "/modelpin.json", state + "/modelpin.json");
        fs::create_directories(state + "/agents/main/agent");
        placed = state + "/agents/main/agent/auth-profiles.json";
        fs::copy_file(fixture, placed);
        fs::permissions(placed, fs::perms::owner_read | fs::perms::owner_write);
        // A write verb: it must refuse, and leave the store as it was.
        args = {"models", "auth", "order", "set", "--provider", "anthropic", "anthropic:work", "--state", state};
      } else if (row.kind == "transcript") {
        args = {"replay", fixture, "--state", state};
      } else if (row.kind == "dotenv") {
        placed = state + "/.env";
        fs::copy_file(fixture, placed);
        fs::permissions(placed, fs::perms::owner_read | fs::perms::owner_write);
        args = {"models", "status", "--state", state};
      } else if (row.kind == "sessions") {
        placed = state + "/sessions.sqlite";
        fs::copy(fixture, placed, fs::copy_options::recursive);
        WriteFile(state + "/hello.txt", "hello\n/model sonnet\n");
        args = {"replay", state + "/hello.txt", "--state", state};
        // The library on the same copy, before the CLI.
        if (row.exit < 128) {
          auto st = SqliteSessionStore::Open(placed).status();
          const std::string want = Replace(row.message, "{file}", placed);
          BOOST_TEST(!st.ok());
          BOOST_TEST(std::string(st.message()).find(want) != std::string::npos,
                     "library message\n  got:  " << st.message() << "\n  want: " << want);
        }
      } else if (row.kind == "cli-args") {
        for (const auto& a : Split(row.file, ' ')) args.push_back(Replace(a, "{state}", state));
      } else {
        BOOST_FAIL("unknown kind " << row.kind);
      }
      const auto state_before = Snapshot(state);  // after the library's own look at a sessions copy
      const RunResult r = RunCli(args, state);
      const std::string want =
          Replace(Replace(row.message, "{file}", placed.empty() ? fixture : placed), "{state}", state);
      // A row that dies of a signal dies of a sanitizer report instead in a sanitizer build.
      const bool sanitizer_death = row.exit >= 128 && r.err.find("ERROR: AddressSanitizer") != std::string::npos;
      BOOST_TEST((r.status == row.exit || sanitizer_death), "exit status " << r.status << ", stderr:\n" << r.err);
      // Errors go to stderr, as one line; what an accepted input prints goes to stdout.
      const std::string& where = row.exit == 0 ? r.out : r.err;
      BOOST_TEST(where.find(want) != std::string::npos, "CLI " << (row.exit == 0 ? "stdout" : "stderr")
                                                              << "\n  got:  " << where << "\n  want: " << want);
      if (row.exit == 1 || row.exit == 2) {
        BOOST_TEST((!r.err.empty() && r.err.find('\n') == r.err.size() - 1), "an error is one line, got:\n" << r.err);
      }
      // Nothing half-written: every file of the state dir as before (a lock file may appear), and
      // the input placed there byte-identical to the fixture.
      auto state_after = Snapshot(state);
      state_after.erase(state + "/agents/main/agent/auth-profiles.json.lock");
      if (row.kind == "sessions") {  // SQLite's side files of a refused database, if any, must be empty
        for (const char* side : {"-wal", "-shm", "-journal"}) {
          auto it = state_after.find(placed + side);
          if (it != state_after.end()) {
            BOOST_TEST(it->second.empty(), placed << side << " holds " << it->second.size() << " bytes");
            state_after.erase(it);
          }
        }
      }
      const bool placed_same = placed.empty() || !fs::is_regular_file(placed) || ReadFile(placed) == ReadFile(fixture);
      if (row.writes) {  // a known defect, listed in the table: fails once it is fixed
        BOOST_TEST((state_after != state_before || !placed_same),
                   "nothing was written now: drop the \"writes\" note of this row");
      } else {
        BOOST_TEST((state_after == state_before), "files in the state dir changed or appeared");
        BOOST_TEST(placed_same, placed << " is no longer byte-identical to " << fixture);
      }
    }
  }

  // Every fixture has a row (the table and the corpus do not drift apart).
  for (const auto& e : fs::directory_iterator(bad)) {
    const std::string name = e.path().filename().string();
    if (name == "expected.tsv" || name == "fuzz-json.dict") continue;
    BOOST_TEST(covered.count(name) == 1u, "fixtures/bad/" << name << " has no row in expected.tsv");
  }
  BOOST_TEST((Snapshot(bad) == before), "a loader wrote into fixtures/bad");
  fs::remove_all(tmp);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

constexpr size_t kMaxReply = 64 * 1024;

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). Returns the offset of the
// first invalid byte, or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned c = b[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((b[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (b[i + k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

// The first C0 control character other than '\n', or npos.
size_t FirstControl(std::string_view s) {
  for (size_t k = 0; k < s.size(); ++k)
    if (static_cast<unsigned char>(s[k]) < 0x20 && s[k] != '\n') return k;
  return std::string_view::npos;
}


std::string Escape(std::string_view s, size_t max = 200) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

struct ChatFixture {
  ChatFixture() {
    dir = TempDir();
    fs::copy(SourceRoot() + "/fixtures/state", dir, fs::copy_options::recursive);
    fs::permissions(dir + "/agents/main/agent/auth-profiles.json", fs::perms::owner_read | fs::perms::owner_write);
    auto config = Config::Load(dir + "/modelpin.json");
    BOOST_REQUIRE_MESSAGE(config.ok(), config.status().message());
    EngineOptions options{.plugins = BuiltinPlugins()};
    options.state_dir = dir;
    options.clock = std::make_shared<FakeClock>(1'800'000'000'000);
    options.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(*std::move(config), std::make_unique<MemorySessionStore>(), options);
    BOOST_REQUIRE_MESSAGE(e.ok(), e.status().message());
    engine = *std::move(e);
  }
  ~ChatFixture() { fs::remove_all(dir); }

  // Handles `text` and checks the reply invariants; returns the replies.
  std::vector<Reply> Check(const std::string& what, const std::string& text,
                           const std::string& session = "agent:main:main") {
    auto o = engine->Handle({.agent_id = "main", .session_key = session, .text = text});
    BOOST_REQUIRE_MESSAGE(o.ok(), what << ": Handle failed: " << o.status().message());
    for (size_t i = 0; i < o->replies.size(); ++i) {
      const std::string_view r = o->replies[i].text;
      BOOST_TEST_CONTEXT(what << " (input " << Escape(text, 80) << "), reply " << i << ": " << Escape(r)) {
        const size_t bad = FirstInvalidUtf8(r);
        BOOST_TEST(bad == std::string_view::npos, "invalid UTF-8 at byte " << bad);
        BOOST_TEST(r.size() < kMaxReply, "reply of " << r.size() << " bytes");
        const size_t ctl = FirstControl(r);
        BOOST_TEST(ctl == std::string::npos, "control character at byte " << ctl);
      }
    }
    return o->replies;
  }

  std::string dir;
  std::unique_ptr<Engine> engine;
};

std::string Repeat(const std::string& unit, size_t total) {
  std::string s;
  s.reserve(total + unit.size());
  while (s.size() < total) s += unit;
  s.resize(total);
  return s;
}

constexpr size_t k16MiB = 16u << 20;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ChatInput, ChatFixture)

BOOST_AUTO_TEST_CASE(RandomBytesAfterDirectives) {
  std::mt19937 rng(20261124);
  const std::vector<std::string> prefixes = {"", "/model ", "/model sonnet@", "/models ", "/think ", "/model status ",
                                             "hi /model ", "/m", "/model opus@anthropic:", "/models anthropic "};
  for (int i = 0; i < 2000; ++i) {
    std::string text = prefixes[static_cast<size_t>(i) % prefixes.size()];
    const size_t n = rng() % 64;
    for (size_t k = 0; k < n; ++k) text += static_cast<char>(rng() & 0xFF);
    Check("random #" + std::to_string(i), text, "agent:main:random" + std::to_string(i % 7));
  }
}

BOOST_AUTO_TEST_CASE(InvalidUtf8InEveryPosition) {
  const std::vector<std::string> bad = {"\x1b[2J\xff\x01x", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                                        "\x80", "\xf0\x9f\x98", "\xc3", std::string("\0", 1), "\x1b[31m", "\r", "\x7f"};
  const std::vector<std::string> shapes = {"/model X", "/model sonnetX", "/model X@anthropic:work",
                                           "/model opus@X", "/models X", "/model status X", "X /model sonnet",
                                           "/think X", "/model anthropic/X", "/model sonnet@anthropic:workX"};
  for (const auto& b : bad)
    for (const auto& shape : shapes) Check("invalid UTF-8", Replace(shape, "X", b));
}

BOOST_AUTO_TEST_CASE(SixteenMiBOfText) { Check("16 MiB text", Repeat("hello world ", k16MiB)); }

BOOST_AUTO_TEST_CASE(SixteenMiBOfModelDirectives) { Check("16 MiB of \"/model \"", Repeat("/model ", k16MiB)); }

BOOST_AUTO_TEST_CASE(SixteenMiBOfSlashes) { Check("16 MiB of '/'", Repeat("/", k16MiB)); }

// Arguments echoed in replies ("Model set to anthropic/X", "Auth profile \"X\" ...",
// "Unrecognized thinking level \"X\"", "Unknown provider: X") must be cut, not copied whole.
BOOST_AUTO_TEST_CASE(SixteenMiBArguments) {
  for (const std::string prefix : {"/model ", "/model opus@", "/think ", "/models ", "/model sonnet@anthropic:"})
    Check(prefix + " + 16 MiB", prefix + Repeat("x", k16MiB));
  Check("/model + 16 MiB of invalid UTF-8", "/model " + Repeat("\xff", k16MiB));
  Check("/model + 16 MiB of '@'", "/model " + Repeat("@", k16MiB));
  Check("/models + 16 MiB of ESC", "/models " + Repeat("\x1b", k16MiB));
  Check("/models anthropic + 16 MiB", "/models anthropic " + Repeat("9", k16MiB));
}

BOOST_AUTO_TEST_CASE(ThousandsOfDirectivesInOneMessage) {
  Check("5000 x /model sonnet", Repeat("/model sonnet ", 5000 * 14));
  Check("5000 x /model opus@anthropic:work", Repeat("/model opus@anthropic:work ", 5000 * 28));
  Check("5000 x /think high", Repeat("/think high ", 5000 * 12));
  Check("3000 mixed", Repeat("/model sonnet /think low /model status hi ", 3000 * 43));
  Check("5000 x /models", Repeat("/models ", 5000 * 8));
}

BOOST_AUTO_TEST_SUITE_END()
