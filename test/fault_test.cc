// Faults are normal input (docs/faults.md). Each case below injects one failure at one of the
// engine's seams (the session store, the auth-health store, the auth store file, the clock, a
// plugin), on the first message an agent sees or after earlier messages, and then keeps talking:
// more messages while the fault lasts, then, once it has cleared, an ordinary message, a
// ReportOutcome and commands. The rule every case checks:
//   - a message that fails gets a clear error (the status names what failed), never a crash;
//   - the first message after the fault clears is answered normally;
//   - nothing acknowledged is lost, and no cache serves what the store does not hold (the
//     engine's view of the session is what a fresh connection to the store reads).
#define BOOST_TEST_MODULE fault
#include <sqlite3.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>
#include "test/golden.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15

// How an injected fault answers.
enum class Fault {
  kNone,
  kError,      // Unavailable; nothing happened
  kLostReply,  // the write landed, but its answer was lost (Unavailable): "may have been applied"
  kTimeout,    // DeadlineExceeded; nothing happened
};

absl::Status Injected(Fault f, const char* where) {
  if (f == Fault::kTimeout) return absl::DeadlineExceededError(absl::StrCat("injected timeout: ", where));
  return absl::UnavailableError(absl::StrCat("injected failure: ", where));
}

// The operations of a store a fault can hit.
enum class Op { kRead, kWrite, kConfirm, kVersion, kHealthRead, kHealthUpdate };

struct Faults {
  std::mutex mu;
  std::map<Op, Fault> armed;
  Fault At(Op op) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = armed.find(op);
    return it == armed.end() ? Fault::kNone : it->second;
  }
};

// A session store in front of a real one that fails on command.
class FaultySessionStore : public SessionStore {
 public:
  FaultySessionStore(std::unique_ptr<SessionStore> inner, std::shared_ptr<Faults> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override {
    if (Fault f = faults_->At(Op::kRead); f != Fault::kNone) return Injected(f, "session read");
    return inner_->Load(agent, key, into);
  }
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override {
    return Write(Op::kWrite, [&] { return inner_->Put(agent, key, state); });
  }
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override {
    if (Fault f = faults_->At(Op::kRead); f != Fault::kNone) return Injected(f, "session keys");
    return inner_->Keys(agent);
  }
  absl::Status LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                             uint64_t& version, Read read) override {
    if (Fault f = faults_->At(Op::kRead); f != Fault::kNone) return Injected(f, "session read");
    return inner_->LoadVersioned(agent, key, into, version, read);
  }
  absl::Status PutIfVersion(const std::string& agent, const std::string& key, const SessionState& state,
                            uint64_t version) override {
    return Write(Op::kWrite, [&] { return inner_->PutIfVersion(agent, key, state, version); });
  }
  absl::Status Confirm(const std::string& agent, const std::string& key, uint64_t version) override {
    if (Fault f = faults_->At(Op::kConfirm); f != Fault::kNone) return Injected(f, "session confirm");
    return inner_->Confirm(agent, key, version);
  }

 private:
  template <typename Fn>
  absl::Status Write(Op op, Fn&& fn) {
    Fault f = faults_->At(op);
    if (f == Fault::kNone) return fn();
    if (f == Fault::kLostReply) (void)fn();
    return Injected(f, "session write");
  }
  std::unique_ptr<SessionStore> inner_;
  std::shared_ptr<Faults> faults_;
};

// A shared auth-health store (as Redis would be) in memory, that fails on command.
class FaultyHealth : public AuthHealthStore {
 public:
  explicit FaultyHealth(std::shared_ptr<Faults> faults) : faults_(std::move(faults)) {}
  absl::StatusOr<AuthHealth> Read(const std::string& agent) override {
    if (Fault f = faults_->At(Op::kHealthRead); f != Fault::kNone) return Injected(f, "health read");
    std::lock_guard<std::mutex> lock(mu_);
    return health_[agent];
  }
  absl::StatusOr<uint64_t> Version(const std::string& agent) override {
    if (Fault f = faults_->At(Op::kVersion); f != Fault::kNone) return Injected(f, "health version");
    std::lock_guard<std::mutex> lock(mu_);
    return versions_[agent];
  }
  absl::Status Update(const std::string& agent, const std::string& profile_id, const std::string& provider,
                      const Change& change) override {
    Fault f = faults_->At(Op::kHealthUpdate);
    if (f == Fault::kError || f == Fault::kTimeout) return Injected(f, "health update");
    std::lock_guard<std::mutex> lock(mu_);
    AuthHealth& h = health_[agent];
    UsageStats u = h.usage[profile_id];
    std::string last_good = h.last_good[provider];
    if (absl::Status st = change(u, last_good); !st.ok()) return st;
    h.usage[profile_id] = u;
    if (!last_good.empty()) h.last_good[provider] = last_good;
    ++versions_[agent];
    if (f == Fault::kLostReply) return Injected(f, "health update");
    return absl::OkStatus();
  }
  AuthHealth Snapshot(const std::string& agent) {
    std::lock_guard<std::mutex> lock(mu_);
    return health_[agent];
  }

 private:
  std::shared_ptr<Faults> faults_;
  std::mutex mu_;
  std::map<std::string, AuthHealth> health_;
  std::map<std::string, uint64_t> versions_;
};

// A run-time-like plugin that misbehaves on command: "/boom" is its command, "/bang" its directive.
enum class PluginFault { kNone, kCommandThrows, kCommandThrowsNonStd, kFindThrows, kApplyThrows, kBadSpan };

class MisbehavingPlugin : public Plugin {
 public:
  explicit MisbehavingPlugin(std::shared_ptr<std::atomic<PluginFault>> mode) : mode_(std::move(mode)) {}
  std::string_view name() const override { return "boom"; }
  std::vector<CommandInfo> Commands() const override {
    return {CommandInfo{.name = "boom", .summary = "Counts in a session field."},
            CommandInfo{.name = "bang", .summary = "A directive that sets a session field."}};
  }
  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    size_t at = text.find("/bang");
    if (at == std::string_view::npos) return std::nullopt;
    if (*mode_ == PluginFault::kFindThrows) throw std::runtime_error("find exploded");
    if (*mode_ == PluginFault::kBadSpan) return DirectiveHit{{at + 1000, at}, {}};
    return DirectiveHit{{at, at + 5}, {}};
  }
  DirectiveResult ApplyDirective(const DirectiveHit&, TurnContext& ctx) const override {
    ctx.session.plugin_state["boom.bang"] = "set";
    if (*mode_ == PluginFault::kApplyThrows) throw std::runtime_error("apply exploded");
    return DirectiveResult::Ack("Bang set.");
  }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    if (text.rfind("/boom", 0) != 0) return std::nullopt;
    // The change comes before the failure: the engine must drop it.
    int n = std::atoi(ctx.session.plugin_state["boom.count"].c_str());
    ctx.session.plugin_state["boom.count"] = std::to_string(n + 1);
    if (*mode_ == PluginFault::kCommandThrows) throw std::runtime_error("command exploded");
    if (*mode_ == PluginFault::kCommandThrowsNonStd) throw 42;
    return std::vector<Reply>{{absl::StrCat("Count ", n + 1, "."), false}};
  }

 private:
  std::shared_ptr<std::atomic<PluginFault>> mode_;
};

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-fault-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  BOOST_REQUIRE(f.good());
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// One engine over a copy of fixtures/state, with its sessions in SQLite behind a
// FaultySessionStore, a FaultyHealth when `shared_health`, a fake clock and the misbehaving plugin.
struct Rig {
  std::string dir = TempDir();
  std::shared_ptr<Faults> faults = std::make_shared<Faults>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  std::shared_ptr<std::atomic<PluginFault>> plugin_mode = std::make_shared<std::atomic<PluginFault>>(PluginFault::kNone);
  std::shared_ptr<FaultyHealth> health;
  std::unique_ptr<Engine> engine;
  std::string auth_path;
  std::string good_auth;

  explicit Rig(bool shared_health) {
    fs::remove(dir);
    fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
    auth_path = dir + "/agents/main/agent/auth-profiles.json";
    good_auth = ReadText(auth_path);
    auto config = Config::Load(dir + "/modelpin.json");
    BOOST_REQUIRE(config.ok());
    auto sqlite = SqliteSessionStore::Open(dir + "/sessions.sqlite");
    BOOST_REQUIRE_MESSAGE(sqlite.ok(), sqlite.status().message());
    EngineOptions o{.plugins = BuiltinPlugins()};
    BOOST_REQUIRE(o.plugins.Add(std::make_shared<MisbehavingPlugin>(plugin_mode)).ok());
    o.state_dir = dir;
    o.clock = clock;
    o.auth_recheck_ms = 0;
    o.environment = std::map<std::string, std::string>{};
    if (shared_health) {
      health = std::make_shared<FaultyHealth>(faults);
      o.auth_health = health;
    }
    auto e = Engine::Create(*std::move(config),
                            std::make_unique<FaultySessionStore>(*std::move(sqlite), faults), o);
    BOOST_REQUIRE_MESSAGE(e.ok(), e.status().message());
    engine = *std::move(e);
  }
  ~Rig() { fs::remove_all(dir); }

  // The session as a fresh connection to the store reads it (no cache of this engine's).
  SessionState Stored() {
    auto fresh = SqliteSessionStore::Open(dir + "/sessions.sqlite");
    BOOST_REQUIRE_MESSAGE(fresh.ok(), fresh.status().message());
    auto s = (*fresh)->Get("main", "agent:main:main");
    BOOST_REQUIRE_MESSAGE(s.ok(), s.status().message());
    return *s;
  }
  // The engine's view of the session equals the store's.
  void CheckNoStaleCache(const std::string& when) {
    auto seen = engine->Session("main", "");
    BOOST_REQUIRE_MESSAGE(seen.ok(), when << ": " << seen.status().message());
    BOOST_TEST(seen->StorageJson() == Stored().StorageJson(), when << ": the engine serves what the store does not hold");
  }
};

std::string Model(const SessionState& s) {
  return s.model_override ? absl::StrCat(s.provider_override.value_or("?"), "/", *s.model_override) : "default";
}

// ---- the table: store, health, auth file and clock faults ----

struct StoreCase {
  const char* name;
  bool shared_health;
  Op op;
  Fault fault;
  bool later;                // false: the fault is there on the agent's first message
  const char* faulted_text;  // sent (twice) while the fault lasts
  bool must_fail;            // whether that message must come back as an error
};

const StoreCase kStoreCases[] = {
    // The session store.
    {"read error, first message", false, Op::kRead, Fault::kError, false, "hello", true},
    {"read error, later", false, Op::kRead, Fault::kError, true, "hello", true},
    {"read timeout, later", false, Op::kRead, Fault::kTimeout, true, "/model status", true},
    {"write error, first message", false, Op::kWrite, Fault::kError, false, "/model opus@anthropic:work", true},
    {"write error, later", false, Op::kWrite, Fault::kError, true, "/model opus@anthropic:work", true},
    {"write timeout, later", false, Op::kWrite, Fault::kTimeout, true, "/model opus@anthropic:work", true},
    {"write lost reply, first message", false, Op::kWrite, Fault::kLostReply, false, "/model opus@anthropic:work", true},
    {"write lost reply, later", false, Op::kWrite, Fault::kLostReply, true, "/model opus@anthropic:work", true},
    {"auto pin write error, first message", false, Op::kWrite, Fault::kError, false, "hello", true},
    {"confirm error, later", false, Op::kConfirm, Fault::kError, true, "/model status", false},
    {"confirm timeout, first message", false, Op::kConfirm, Fault::kTimeout, false, "/model status", false},
    // A shared auth-health store.
    {"health version error, first message", true, Op::kVersion, Fault::kError, false, "hello", true},
    {"health version error, later", true, Op::kVersion, Fault::kError, true, "hello", true},
    {"health version timeout, later", true, Op::kVersion, Fault::kTimeout, true, "/model status", true},
    {"health read error, first message", true, Op::kHealthRead, Fault::kError, false, "hello", true},
    {"health read timeout, first message", true, Op::kHealthRead, Fault::kTimeout, false, "/model opus", true},
    {"health update error, later", true, Op::kHealthUpdate, Fault::kError, true, "hello", false},
    {"health update lost reply, later", true, Op::kHealthUpdate, Fault::kLostReply, true, "hello", false},
};

// What the turns after a fault must do: answer an ordinary message, record an outcome, run
// commands, and keep what they acknowledge.
void RecoverAndContinue(Rig& rig, const std::string& name) {
  Engine& e = *rig.engine;
  auto hello = e.Handle({.text = "hello after the fault"});
  BOOST_REQUIRE_MESSAGE(hello.ok(), name << ": first message after the fault: " << hello.status().message());
  BOOST_REQUIRE_MESSAGE(hello->route.has_value(), name << ": an ordinary message must be routed");
  BOOST_TEST(!hello->route->profiles.empty(), name);
  rig.CheckNoStaleCache(name + ", after the first message");
  auto reported = e.ReportOutcome("main", "agent:main:main", hello->route->profiles.front(), CallResult::kSuccess);
  BOOST_TEST(reported.ok(), name << ": ReportOutcome: " << reported.message());
  auto status = e.Handle({.text = "/model status"});
  BOOST_REQUIRE_MESSAGE(status.ok(), name << ": /model status: " << status.status().message());
  BOOST_TEST(!status->replies.empty(), name);
  auto pin = e.Handle({.text = "/model sonnet@anthropic:default"});
  BOOST_REQUIRE_MESSAGE(pin.ok(), name << ": a pin after the fault: " << pin.status().message());
  BOOST_TEST(Model(pin->session) == "anthropic/claude-sonnet-4-5", name);
  BOOST_TEST(Model(rig.Stored()) == "anthropic/claude-sonnet-4-5", name << ": the acknowledged pin is stored");
  auto boom = e.Handle({.text = "/boom"});
  BOOST_REQUIRE_MESSAGE(boom.ok(), name << ": a plugin command: " << boom.status().message());
  rig.CheckNoStaleCache(name + ", at the end");
}

BOOST_AUTO_TEST_CASE(EveryStoreFaultLeavesTheEngineAnswering) {
  for (const StoreCase& c : kStoreCases) {
    BOOST_TEST_CONTEXT(c.name) {
      Rig rig(c.shared_health);
      Engine& e = *rig.engine;
      SessionState acknowledged;
      if (c.later) {
        auto pin = e.Handle({.text = "/model opus@anthropic:default"});
        BOOST_REQUIRE_MESSAGE(pin.ok(), pin.status().message());
        auto hello = e.Handle({.text = "hello"});
        BOOST_REQUIRE_MESSAGE(hello.ok(), hello.status().message());
        acknowledged = hello->session;
        BOOST_REQUIRE(e.ReportOutcome("main", "agent:main:main", hello->route->profiles.front(), CallResult::kSuccess).ok());
      }
      {
        std::lock_guard<std::mutex> lock(rig.faults->mu);
        rig.faults->armed[c.op] = c.fault;
      }
      for (int i = 0; i < 2; ++i) {
        auto o = e.Handle({.text = c.faulted_text});
        // A write whose reply was lost did land: the same change again has nothing left to write.
        const bool must_fail = c.must_fail && (i == 0 || c.fault != Fault::kLostReply);
        if (must_fail) BOOST_TEST(!o.ok(), "message " << i << " under the fault was answered as if nothing failed");
        if (!o.ok()) BOOST_TEST(absl::StrContains(o.status().message(), "injected"),
                                "the error says what failed: " << o.status().message());
      }
      if (c.op == Op::kHealthUpdate) {
        auto st = e.ReportOutcome("main", "agent:main:main", "anthropic:work", CallResult::kRateLimit);
        BOOST_TEST(!st.ok(), "a failed health update is reported");
        BOOST_TEST(absl::StrContains(st.message(), "injected"), st.message());
        // The next route must see what the store holds: the cooldown, when the write landed.
        auto o = e.Handle({.text = "hello"});
        BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
        const bool cooling = rig.health->Snapshot("main").usage["anthropic:work"].cooldown_until > kNow;
        BOOST_TEST(cooling == (c.fault == Fault::kLostReply));
        auto auth = e.Auth("main");
        BOOST_REQUIRE(auth.ok());
        BOOST_TEST(((*auth)->Usage("anthropic:work").cooldown_until > kNow) == cooling,
                   "the engine's view of the health is what the store holds");
      }
      // Nothing acknowledged before the fault is lost (a lost reply may have applied the change).
      if (c.later && c.fault != Fault::kLostReply)
        BOOST_TEST(Model(rig.Stored()) == Model(acknowledged), "the pin acknowledged before the fault");
      {
        std::lock_guard<std::mutex> lock(rig.faults->mu);
        rig.faults->armed.clear();
      }
      RecoverAndContinue(rig, c.name);
    }
  }
}

BOOST_AUTO_TEST_CASE(AMalformedAuthStoreFailsEachMessageUntilRepaired) {
  for (bool later : {false, true}) {
    BOOST_TEST_CONTEXT((later ? "later" : "first message")) {
      Rig rig(false);
      Engine& e = *rig.engine;
      if (later) BOOST_REQUIRE(e.Handle({.text = "/model opus@anthropic:default"}).ok());
      WriteText(rig.auth_path, "{\"profiles\": {\"anthropic:work\": ");  // cut short
      rig.clock->Advance(5);  // a new mtime is not needed: the size changed
      for (const char* text : {"hello", "/model status", "/model sonnet", "/boom"}) {
        auto o = e.Handle({.text = text});
        BOOST_TEST(!o.ok(), text << " was answered with a malformed auth store");
        if (!o.ok()) BOOST_TEST(absl::StrContains(o.status().message(), "auth-profiles.json"), o.status().message());
      }
      BOOST_TEST(!e.ReportOutcome("main", "agent:main:main", "anthropic:work", CallResult::kSuccess).ok());
      WriteText(rig.auth_path, rig.good_auth);
      RecoverAndContinue(rig, later ? "malformed auth store, later" : "malformed auth store, first message");
    }
  }
}

BOOST_AUTO_TEST_CASE(AClockThatJumpsLeavesTheEngineAnswering) {
  Rig rig(false);
  Engine& e = *rig.engine;
  BOOST_REQUIRE(e.Handle({.text = "/model sonnet@anthropic:default --for 1h"}).ok());
  BOOST_REQUIRE(e.ReportOutcome("main", "agent:main:main", "anthropic:work", CallResult::kRateLimit).ok());
  for (int64_t jump : {-86'400'000LL, 365LL * 86'400'000, -365LL * 86'400'000, 0LL, 2 * 3'600'000LL}) {
    rig.clock->Set(rig.clock->NowMs() + jump);
    auto o = e.Handle({.text = "hello"});
    BOOST_REQUIRE_MESSAGE(o.ok(), "jump " << jump << ": " << o.status().message());
    BOOST_TEST(o->route.has_value());
    BOOST_TEST(e.ReportOutcome("main", "agent:main:main", o->route->profiles.front(), CallResult::kSuccess).ok());
    auto st = e.Handle({.text = "/model status"});
    BOOST_REQUIRE_MESSAGE(st.ok(), st.status().message());
    rig.CheckNoStaleCache(absl::StrCat("after a jump of ", jump, " ms"));
  }
  // Two hours on, the one-hour pin has ended.
  BOOST_TEST(Model(rig.Stored()) == "default");
  RecoverAndContinue(rig, "clock jumps");
}

// ---- plugins ----

struct PluginCase {
  const char* name;
  PluginFault fault;
  const char* text;
};

const PluginCase kPluginCases[] = {
    {"command throws", PluginFault::kCommandThrows, "/boom"},
    {"command throws a non-exception", PluginFault::kCommandThrowsNonStd, "/boom"},
    {"directive search throws", PluginFault::kFindThrows, "hello /bang"},
    {"directive search throws, directive alone", PluginFault::kFindThrows, "/bang"},
    {"directive throws", PluginFault::kApplyThrows, "hello /bang"},
    {"directive with a span outside the text", PluginFault::kBadSpan, "hello /bang there"},
};

BOOST_AUTO_TEST_CASE(AFailingPluginGetsAnErrorReplyAndChangesNothing) {
  for (const PluginCase& c : kPluginCases) {
    BOOST_TEST_CONTEXT(c.name) {
      Rig rig(false);
      Engine& e = *rig.engine;
      BOOST_REQUIRE(e.Handle({.text = "/model opus@anthropic:default"}).ok());
      BOOST_REQUIRE(e.Handle({.text = "/boom"}).ok());
      const SessionState before = rig.Stored();
      *rig.plugin_mode = c.fault;
      for (int i = 0; i < 2; ++i) {
        auto o = e.Handle({.text = absl::StrCat(c.text, " /model sonnet")});
        BOOST_REQUIRE_MESSAGE(o.ok(), "a failing plugin is not a store error: " << o.status().message());
        BOOST_TEST(!o->route.has_value(), "the message must not go on to the model as ordinary text");
        BOOST_REQUIRE(!o->replies.empty());
        const Reply& last = o->replies.back();
        BOOST_TEST(last.is_error);
        BOOST_TEST(absl::StrContains(last.text, "boom"), "the reply names the plugin: " << last.text);
        BOOST_TEST(rig.Stored().StorageJson() == before.StorageJson(), "the session is unchanged");
        BOOST_TEST(o->session.StorageJson() == before.StorageJson());
      }
      *rig.plugin_mode = PluginFault::kNone;
      auto ok = e.Handle({.text = "/boom"});
      BOOST_REQUIRE(ok.ok());
      BOOST_TEST(ok->replies.front().text == "Count 2.");
      RecoverAndContinue(rig, c.name);
    }
  }
}

}  // namespace

// ---- the SQLite store's versions, between two connections (two processes) ----

BOOST_AUTO_TEST_CASE(SqliteRefusesAWriteMadeOnAStaleRead) {
  std::string dir = TempDir();
  const std::string path = dir + "/sessions.sqlite";
  auto a = SqliteSessionStore::Open(path);
  auto b = SqliteSessionStore::Open(path);
  BOOST_REQUIRE(a.ok() && b.ok());
  SessionState s;
  uint64_t va = 0, vb = 0;
  BOOST_REQUIRE((*a)->LoadVersioned("main", "k", s, va).ok());
  BOOST_TEST(va == 0u);
  s.model_override = "one";
  BOOST_REQUIRE((*a)->PutIfVersion("main", "k", s, va).ok());
  // b read nothing; its insert on "no row" loses.
  SessionState t;
  t.model_override = "two";
  BOOST_TEST(absl::IsAborted((*b)->PutIfVersion("main", "k", t, 0)));
  BOOST_REQUIRE((*b)->LoadVersioned("main", "k", t, vb).ok());
  BOOST_TEST(*t.model_override == "one");
  BOOST_TEST(vb == 1u);
  // a's cached read (version 1) goes stale when b writes; a's write on it is refused, and a's
  // next cached read is b's change, not what a remembered.
  BOOST_REQUIRE((*a)->LoadVersioned("main", "k", s, va).ok());
  t.model_override = "three";
  BOOST_REQUIRE((*b)->PutIfVersion("main", "k", t, vb).ok());
  BOOST_TEST(absl::IsAborted((*a)->Confirm("main", "k", va)));
  s.model_override = "four";
  BOOST_TEST(absl::IsAborted((*a)->PutIfVersion("main", "k", s, va)));
  BOOST_REQUIRE((*a)->LoadVersioned("main", "k", s, va).ok());
  BOOST_TEST(*s.model_override == "three");
  BOOST_TEST(va == 2u);
  BOOST_TEST((*a)->Confirm("main", "k", va).ok());
  // An emptied session keeps its row and version: b's write on the old version still loses.
  BOOST_REQUIRE((*a)->PutIfVersion("main", "k", SessionState{}, va).ok());
  BOOST_TEST(absl::IsAborted((*b)->PutIfVersion("main", "k", t, vb)));
  BOOST_TEST((*a)->Keys("main")->empty());
  // Plain Put (the CLI's reset) raises the version too.
  BOOST_REQUIRE((*a)->LoadVersioned("main", "k", s, va).ok());
  BOOST_REQUIRE((*b)->Put("main", "k", t).ok());
  BOOST_TEST(absl::IsAborted((*a)->PutIfVersion("main", "k", s, va)));
  fs::remove_all(dir);
}

// A store whose meta table names a schema that is not a whole number (another program's file,
// or a damaged one) is refused at open, read-write and read-only, and by doctor's examination,
// naming the file and the value; it is never read as schema 0 ("abc") or 3 ("3x"), nor changed.
// Once the value is a schema again the store opens and serves its sessions.
BOOST_AUTO_TEST_CASE(SqliteSchemaThatIsNotANumberIsRefused) {
  std::string dir = TempDir();
  const std::string path = dir + "/sessions.sqlite";
  SessionState pinned;
  pinned.model_override = "m";
  {
    auto s = SqliteSessionStore::Open(path);
    BOOST_REQUIRE(s.ok());
    BOOST_REQUIRE((*s)->Put("main", "k", pinned).ok());
  }
  auto set_schema = [&](const std::string& value) {
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const std::string sql = "UPDATE meta SET value='" + value + "' WHERE key='schema'";
    BOOST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  };
  for (const std::string bad : {"abc", "3x", "-1", "99999999999"}) {
    BOOST_TEST_CONTEXT("schema \"" << bad << "\"") {
      set_schema(bad);
      const std::string want = absl::StrCat(path, ": not a usable session store: its schema version \"", bad, "\"");
      for (bool read_only : {false, true}) {
        auto s = SqliteSessionStore::Open(path, read_only);
        BOOST_REQUIRE(!s.ok());
        BOOST_TEST(absl::StartsWith(s.status().message(), want), s.status().message());
      }
      BOOST_TEST(absl::StartsWith(SqliteSessionStore::Examine(path).open_error, want));
    }
  }
  set_schema(std::to_string(SqliteSessionStore::kSchemaVersion));
  auto s = SqliteSessionStore::Open(path);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().message());
  BOOST_TEST((*(*s)->Get("main", "k") == pinned));
  BOOST_TEST((*s)->Put("main", "k", SessionState{}).ok());
  fs::remove_all(dir);
}

// A store of schema 2 (no version column) is migrated at open; its rows start at version 1.
BOOST_AUTO_TEST_CASE(SqliteSchema2StoreGetsVersions) {
  std::string dir = TempDir();
  const std::string path = dir + "/sessions.sqlite";
  {
    auto s = SqliteSessionStore::Open(path);
    BOOST_REQUIRE(s.ok());
  }
  // Back to schema 2 by hand: the table as schema 2 made it.
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db,
                             "DROP TABLE sessions; CREATE TABLE sessions(agent TEXT NOT NULL, session_key TEXT NOT NULL,"
                             " entry_json TEXT NOT NULL, updated_at INTEGER NOT NULL DEFAULT (unixepoch()),"
                             " UNIQUE(agent, session_key)); INSERT INTO sessions(agent, session_key, entry_json)"
                             " VALUES('main','k','{\"modelOverride\":\"m\"}'); UPDATE meta SET value='2';",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  {
    auto ro = SqliteSessionStore::Open(path, /*read_only=*/true);  // read as it is, not migrated
    BOOST_REQUIRE_MESSAGE(ro.ok(), ro.status().message());
    BOOST_TEST(*(*ro)->Get("main", "k")->model_override == "m");
    BOOST_TEST(!(*ro)->Put("main", "k", SessionState{}).ok());
  }
  auto s = SqliteSessionStore::Open(path);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().message());
  SessionState st;
  uint64_t v = 0;
  BOOST_REQUIRE((*s)->LoadVersioned("main", "k", st, v).ok());
  BOOST_TEST(*st.model_override == "m");
  BOOST_TEST(v == 1u);
  BOOST_TEST((*s)->PutIfVersion("main", "k", st, v).ok());
  BOOST_TEST(SqliteSessionStore::Examine(path).schema == SqliteSessionStore::kSchemaVersion);
  fs::remove_all(dir);
}
