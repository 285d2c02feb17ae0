// "Pins people can trust" (docs/pins.md, docs/masking.md): masking modes, addressed commands, scoped pins (--once,
// --for, --turns), the pin history on every session store, /model undo, and pins that a config
// change made invalid. One rule per test.
#define BOOST_TEST_MODULE pins
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/plugins/builtin.h>
#include "absl/strings/str_cat.h"
#include "test/golden.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'796'126'400'000;  // 2026-12-01T12:00:00Z
constexpr int64_t kMinute = 60'000;

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-pins-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

// The fixture state's models and aliases, plus `extra` top-level members (",\"modelpin\": {...}").
std::string ConfigText(const std::string& extra = "", const std::string& defaults_extra = "") {
  return R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}, "models": {
    "anthropic/claude-opus-4-5": {"alias": "opus"}, "anthropic/claude-sonnet-4-5": {"alias": "sonnet"},
    "openrouter/meta-llama/llama-3.3-70b-instruct": {"alias": "llama"}})" +
         defaults_extra + R"(}}, "auth": {"profiles": {
    "anthropic:default": {"provider": "anthropic", "mode": "api_key"},
    "anthropic:work": {"provider": "anthropic", "mode": "token"},
    "openrouter:default": {"provider": "openrouter", "mode": "api_key"}}})" +
         extra + "}";
}

struct PinsFixture {
  std::string dir = TempDir();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  PinsFixture() { fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive); }
  ~PinsFixture() { fs::remove_all(dir); }
  enum class Store { kMemory, kSqlite };
  std::unique_ptr<Engine> Make(const std::string& config_text = ConfigText(), Store store = Store::kMemory,
                               bool strict = false) {
    auto config = Config::Parse("test.json", config_text);
    BOOST_REQUIRE_MESSAGE(config.ok(), config.status().message());
    std::unique_ptr<SessionStore> sessions;
    if (store == Store::kMemory) {
      sessions = std::make_unique<MemorySessionStore>();
    } else {
      auto s = SqliteSessionStore::Open(dir + "/sessions.sqlite");
      BOOST_REQUIRE(s.ok());
      sessions = *std::move(s);
    }
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = dir;
    o.clock = clock;
    o.auth_recheck_ms = 0;
    o.strict = strict;
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(*std::move(config), std::move(sessions), o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  }
};

Outcome Say(Engine& e, const std::string& text, const std::string& key = "") {
  auto o = e.Handle({.session_key = key, .text = text});
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
  return *std::move(o);
}

std::string FirstReply(const Outcome& o) { return o.replies.empty() ? "" : o.replies.front().text; }
std::string RouteModel(const Outcome& o) { return o.route ? o.route->model.Label() : "(no route)"; }

const char* kKey = "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

}  // namespace

// ---- masking modes ----

BOOST_AUTO_TEST_CASE(CompatMaskingIsOpenClawsFirstAndLastEight) {
  BOOST_TEST(MaskSecret(kKey, MaskingMode::kCompat) == "sk-ant-a...AAAAAAAA");
  BOOST_TEST(MaskSecret(kKey) == MaskSecret(kKey, MaskingMode::kCompat));
}

BOOST_AUTO_TEST_CASE(PrefixMaskingShowsOnlyTheKeyTypePrefix) {
  BOOST_TEST(MaskSecret(kKey, MaskingMode::kPrefix) == "sk-ant-...");
  BOOST_TEST(MaskSecret("sk-or-v1-CCCCCCCCCCCCCCCCCCCCCCCCCCCC", MaskingMode::kPrefix) == "sk-or-...");
  // No letters-then-dash prefix, or one that would be a third of a short secret: nothing shown.
  BOOST_TEST(MaskSecret("0123456789abcdef0123", MaskingMode::kPrefix) == "...");
  BOOST_TEST(MaskSecret("ab-cdef", MaskingMode::kPrefix) == "...");
}

BOOST_AUTO_TEST_CASE(FingerprintMaskingIsAShortSha256AndShowsNoByteOfTheKey) {
  // sha256("abc") = ba7816bf...
  BOOST_TEST(Fingerprint("abc") == "ba7816bf");
  // sha256("") = e3b0c442..., and a 56-byte message crosses a block boundary.
  BOOST_TEST(Fingerprint("") == "e3b0c442");
  BOOST_TEST(Fingerprint("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61");
  std::string fp = MaskSecret(kKey, MaskingMode::kFingerprint);
  BOOST_TEST(fp.rfind("fp:", 0) == 0u);
  BOOST_TEST(fp.size() == 11u);
  BOOST_TEST(fp.find("sk-") == std::string::npos);
  BOOST_TEST(MaskSecret(std::string(kKey) + "x", MaskingMode::kFingerprint) != fp);  // tells keys apart
  // Control characters and surrounding blanks are not part of the key.
  BOOST_TEST(MaskSecret(std::string(" ") + kKey + "\n", MaskingMode::kFingerprint) == fp);
}

BOOST_AUTO_TEST_CASE(MaskedCredentialKeepsItsTypeLabelInEveryMode) {
  Credential token;
  token.id = "a:t";
  token.type = "token";
  token.provider = "anthropic";
  token.secret = kKey;
  BOOST_TEST(MaskedCredential(token, MaskingMode::kPrefix) == "token:sk-ant-...");
  BOOST_TEST(MaskedCredential(token, MaskingMode::kFingerprint).rfind("token:fp:", 0) == 0u);
  Credential none;
  none.id = "a:n";
  none.type = "api_key";
  none.provider = "anthropic";
  BOOST_TEST(MaskedCredential(none, MaskingMode::kFingerprint) == "missing");
}

// One renderer. Outputs that print the type beside the secret (`models auth list`,
// "Saved ID (token) ...") and environment credentials go through MaskedCredential too.
BOOST_AUTO_TEST_CASE(EveryCredentialIsRenderedByMaskedCredential) {
  auto credential = [](const char* type, std::string secret) {
    Credential c;
    c.id = std::string("a:") + type;
    c.type = type;
    c.provider = "anthropic";
    c.secret = std::move(secret);
    return c;
  };
  for (MaskingMode mode : {MaskingMode::kCompat, MaskingMode::kPrefix, MaskingMode::kFingerprint}) {
    Credential token = credential("token", kKey);
    BOOST_TEST(MaskedCredential(token, mode, CredentialLabel::kSecretOnly) == MaskSecret(kKey, mode));
    BOOST_TEST(MaskedCredential(token, mode) == "token:" + MaskSecret(kKey, mode));
    Credential oauth = credential("oauth", kKey);
    oauth.email = "me@x.com";
    BOOST_TEST(MaskedCredential(oauth, mode) == "OAuth (me@x.com)");
    BOOST_TEST(MaskedCredential(oauth, mode, CredentialLabel::kSecretOnly) == MaskSecret(kKey, mode));
    Credential ref = credential("api_key", "");
    ref.has_secret_ref = true;
    BOOST_TEST(MaskedCredential(ref, mode, CredentialLabel::kSecretOnly) == "ref");
    BOOST_TEST(MaskedCredential(credential("api_key", ""), mode, CredentialLabel::kSecretOnly) == "missing");
    EnvCredential env;
    env.provider = "anthropic";
    env.variable = "ANTHROPIC_API_KEY";
    env.value = kKey;
    env.source = "environment";
    BOOST_TEST(MaskedCredential(env, mode) == MaskSecret(kKey, mode));
  }
  // No rendering shows the secret.
  BOOST_TEST(MaskedCredential(credential("api_key", kKey)).find(kKey) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(MaskingModeIsReadFromConfigAndUnknownModesAreErrors) {
  auto c = Config::Parse("c.json", R"({"modelpin": {"masking": "fingerprint"}})");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST((c->masking() == MaskingMode::kFingerprint));
  BOOST_TEST((Config::Parse("c.json", "{}")->masking() == MaskingMode::kCompat));
  auto bad = Config::Parse("c.json", R"({"modelpin": {"masking": "hide"}})");
  BOOST_TEST(std::string(bad.status().message()) ==
             "c.json: $.modelpin.masking (1:26): unknown masking mode \"hide\" (expected compat, prefix or fingerprint)");
}

BOOST_FIXTURE_TEST_CASE(StatusUsesTheConfiguredMaskingMode, PinsFixture) {
  auto e = Make(ConfigText(R"(, "modelpin": {"masking": "prefix"})"));
  std::string status = FirstReply(Say(*e, "/model status"));
  BOOST_TEST(status.find("anthropic:default=sk-ant-...") != std::string::npos);
  BOOST_TEST(status.find("anthropic:work=token:sk-ant-...") != std::string::npos);
  BOOST_TEST(status.find("AAAAAAAA") == std::string::npos);
  std::string explain = FirstReply(Say(*e, "/model explain sonnet"));
  BOOST_TEST(explain.find("AAAAAAAA") == std::string::npos);
  BOOST_TEST(explain.find("BBBBBBBB") == std::string::npos);
}

// ---- addressed commands ----

BOOST_AUTO_TEST_CASE(StripBotAddressRemovesOnlyThisBotsName) {
  std::string out;
  using grammar::Addressing;
  BOOST_TEST((grammar::StripBotAddress("/model@MyBot sonnet", "mybot", out) == Addressing::kThisBot));
  BOOST_TEST(out == "/model sonnet");
  BOOST_TEST((grammar::StripBotAddress("/model@other sonnet", "mybot", out) == Addressing::kOtherBot));
  BOOST_TEST((grammar::StripBotAddress("hi /think@mybot high", "mybot", out) == Addressing::kThisBot));
  BOOST_TEST(out == "hi /think high");
  BOOST_TEST((grammar::StripBotAddress("mail me@mybot.org", "mybot", out) == Addressing::kNone));
  BOOST_TEST((grammar::StripBotAddress("/model@mybotx", "mybot", out) == Addressing::kOtherBot));
  BOOST_TEST((grammar::StripBotAddress("x /model@mybotx", "mybot", out) == Addressing::kNone));
}

BOOST_FIXTURE_TEST_CASE(CommandsAddressedToThisBotAreItsOwn, PinsFixture) {
  auto e = Make(ConfigText(R"(, "commands": {"botName": "@PinBot"})"));
  Outcome o = Say(*e, "/model@pinbot sonnet");
  BOOST_TEST(FirstReply(o) == "Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged.");
  BOOST_TEST(*o.session.model_override == "claude-sonnet-4-5");
  BOOST_TEST(FirstReply(Say(*e, "/models@PinBot")).rfind("Providers:", 0) == 0u);
}

BOOST_FIXTURE_TEST_CASE(CommandsAddressedToAnotherBotAreOrdinaryText, PinsFixture) {
  auto e = Make(ConfigText(R"(, "commands": {"botName": "pinbot"})"));
  for (std::string text : {"/model@otherbot sonnet", "/models@otherbot", "/think@otherbot high /model opus"}) {
    Outcome o = Say(*e, text);
    BOOST_TEST(o.replies.empty(), text);
    BOOST_REQUIRE(o.route.has_value());
    BOOST_TEST(o.route->text == text);
    BOOST_TEST(!o.session.model_override.has_value());
  }
}

BOOST_FIXTURE_TEST_CASE(WithoutABotNameTheAddressedFormIsOpenClaws, PinsFixture) {
  auto e = Make();
  // OpenClaw: "/model@x" is no directive (END-CHECK fails on '@'), "/models@x" is /models.
  Outcome model = Say(*e, "/model@pinbot sonnet");
  BOOST_TEST(model.replies.empty());
  BOOST_TEST(model.route.has_value());
  BOOST_TEST(FirstReply(Say(*e, "/models@pinbot")).find("Unknown provider") == 0u);
}

BOOST_AUTO_TEST_CASE(BadBotNamesAreConfigErrors) {
  auto bad = Config::Parse("c.json", R"({"commands": {"botName": "my bot"}})");
  BOOST_TEST(std::string(bad.status().message()).find("c.json: $.commands.botName (1:26): invalid bot name") == 0u);
}

// ---- scoped pins ----

BOOST_FIXTURE_TEST_CASE(OncePinsTheNextRoutedMessageOnly, PinsFixture) {
  auto e = Make();
  Outcome ack = Say(*e, "/model sonnet --once");
  BOOST_TEST(FirstReply(ack) ==
             "Model set to sonnet (anthropic/claude-sonnet-4-5) for the next message only; then back to the configured "
             "default (anthropic/claude-opus-4-5).");
  // Commands do not use it up; the next ordinary message does.
  BOOST_TEST(FirstReply(Say(*e, "/model")).find("Pinned: for the next message only") != std::string::npos);
  BOOST_TEST(RouteModel(Say(*e, "hello")) == "anthropic/claude-sonnet-4-5");
  Outcome after = Say(*e, "again");
  BOOST_TEST(RouteModel(after) == "anthropic/claude-opus-4-5");
  BOOST_TEST(after.replies.empty());  // expiry is silent
  BOOST_TEST(FirstReply(Say(*e, "/model")).find("Pinned:") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(TurnsCountsRoutedMessagesAndReturnsToTheSessionPin, PinsFixture) {
  auto e = Make();
  Say(*e, "/model opus@anthropic:default");
  BOOST_TEST(FirstReply(Say(*e, "/model llama --turns 2")).find("for the next 2 messages; then back to the configured default "
                                                              "(anthropic/claude-opus-4-5) with auth profile anthropic:default.") !=
             std::string::npos);
  BOOST_TEST(RouteModel(Say(*e, "one")) == "openrouter/meta-llama/llama-3.3-70b-instruct");
  BOOST_TEST(FirstReply(Say(*e, "/model status")).find("Pinned: for the next message only") != std::string::npos);
  BOOST_TEST(RouteModel(Say(*e, "two")) == "openrouter/meta-llama/llama-3.3-70b-instruct");
  Outcome three = Say(*e, "three");
  BOOST_TEST(RouteModel(three) == "anthropic/claude-opus-4-5");
  // The user's own pin, profile included, is back.
  BOOST_TEST(three.route->profiles.front() == "anthropic:default");
  BOOST_TEST(*three.session.auth_profile_override_source == "user");
}

BOOST_FIXTURE_TEST_CASE(ForEndsAtItsTimeAndSaysUntilWhen, PinsFixture) {
  auto e = Make();
  BOOST_TEST(FirstReply(Say(*e, "/model sonnet --for 2h")) ==
             "Model set to sonnet (anthropic/claude-sonnet-4-5) for 2 hours, until 14:00 UTC; then back to the "
             "configured default (anthropic/claude-opus-4-5).");
  clock->Advance(90 * kMinute);
  BOOST_TEST(FirstReply(Say(*e, "/model")).find("Pinned: until 14:00 UTC (30m left)") != std::string::npos);
  BOOST_TEST(RouteModel(Say(*e, "hello")) == "anthropic/claude-sonnet-4-5");
  clock->Advance(30 * kMinute);
  BOOST_TEST(RouteModel(Say(*e, "hello")) == "anthropic/claude-opus-4-5");
  // A pin that ends on another day names the date.
  BOOST_TEST(FirstReply(Say(*e, "/model sonnet --for 1d")).find("for 1 day, until 2026-12-02 14:00 UTC") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(AScopedPinDuringAScopedPinReturnsToTheSessionsOwnSelection, PinsFixture) {
  auto e = Make();
  Say(*e, "/model sonnet --for 2h");
  BOOST_TEST(FirstReply(Say(*e, "/model llama --once")).find("then back to the configured default") != std::string::npos);
  Say(*e, "x");
  BOOST_TEST(RouteModel(Say(*e, "y")) == "anthropic/claude-opus-4-5");
}

BOOST_FIXTURE_TEST_CASE(APlainSelectionEndsAScopedPin, PinsFixture) {
  auto e = Make();
  Say(*e, "/model sonnet --once");
  Say(*e, "/model llama");
  Say(*e, "x");
  BOOST_TEST(RouteModel(Say(*e, "y")) == "openrouter/meta-llama/llama-3.3-70b-instruct");
}

BOOST_FIXTURE_TEST_CASE(NonsenseScopesAreRefusedNamingTheValue, PinsFixture) {
  auto e = Make();
  const std::pair<const char*, const char*> cases[] = {
      {"/model sonnet --for 0m", "Invalid duration \"0m\" for --for"},
      {"/model sonnet --for 99999d", "Invalid duration \"99999d\" for --for"},
      {"/model sonnet --for 2x", "Invalid duration \"2x\" for --for"},
      {"/model sonnet --for 31d", "Invalid duration \"31d\" for --for"},
      {"/model sonnet --turns 0", "Invalid count \"0\" for --turns"},
      {"/model sonnet --turns 101", "Invalid count \"101\" for --turns"},
      {"/model sonnet --turns", "--turns needs a number of messages"},
      {"/model sonnet --for", "--for needs a duration"},
      {"/model sonnet --once --for 2h", "Use only one of --once, --for and --turns."},
      {"/model sonnet --turns 2 --once", "Use only one of --once, --for and --turns."},
      {"/model sonnet --once -a", "--once pins this session only; it cannot be combined with -a or -g."},
      {"/model status --once", "--once needs a model selection"},
  };
  for (const auto& [text, reply] : cases) {
    Outcome o = Say(*e, text);
    BOOST_TEST(FirstReply(o).find(reply) == 0u, text << ": " << FirstReply(o));
    BOOST_TEST(o.replies.front().is_error, text);
    BOOST_TEST(!o.session.model_override.has_value(), text);
  }
  BOOST_TEST(FirstReply(Say(*e, "/model sonnet --for 30d")).find("for 30 days") != std::string::npos);
  BOOST_TEST(FirstReply(Say(*e, "/model sonnet --for 90M")).find("for 90 minutes") != std::string::npos);
}

// ---- history and undo ----

void HistoryIsStoredOn(PinsFixture& f, PinsFixture::Store store) {
  {
    auto e = f.Make(ConfigText(), store);
    Say(*e, "/model sonnet");
    Say(*e, "hello");
    Say(*e, "/model llama --once");
    Say(*e, "hi");
  }
  auto e = f.Make(ConfigText(), store);
  auto s = e->Session("main", "agent:main:main");
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(s->modelpin.get() != nullptr);
  const auto& h = s->modelpin->history;
  BOOST_REQUIRE(h.size() == 5u);
  BOOST_TEST(*h[0].source == "user");
  BOOST_TEST(DescribeSelection(*h[0].to) == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(*h[1].source == "auto");
  BOOST_TEST(*h[2].scope == "--once");
  BOOST_TEST(*h[3].source == "auto");
  BOOST_TEST(*h[4].source == "expiry");
  BOOST_TEST(DescribeSelection(*h[4].to) == "anthropic/claude-sonnet-4-5, anthropic:work (auto)");
  // OpenClaw's fields stay in OpenClaw's layout; modelpin's live under "modelpin".
  BOOST_TEST(s->OracleJson().find("history") == std::string::npos);
  BOOST_TEST(s->StorageJson().find("\"modelpin\":{\"selections\":[") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(HistoryIsStoredInSqlite, PinsFixture) { HistoryIsStoredOn(*this, Store::kSqlite); }

BOOST_AUTO_TEST_CASE(MemoryStoreRoundTripsHistoryAndScope) {
  MemorySessionStore store;
  SessionState s;
  s.provider_override = "anthropic";
  s.model_override = "claude-sonnet-4-5";
  s.RecordPinChange(kNow, PinSource::kUser, PinSelection{});
  s.modelpin.SetScope(PinScope{.kind = PinScope::Kind::kTurns, .turns_left = 3, .set_at_ms = kNow, .until_ms = 0, .restore = {}});
  BOOST_REQUIRE(store.Put("main", "k", s).ok());
  SessionState back = store.Get("main", "k").value();
  BOOST_TEST((back == s));
  BOOST_TEST(back.modelpin->history.size() == 1u);
  // The JSON form every other store keeps parses back to the same state.
  BOOST_TEST((SessionState::FromStorageJson(s.StorageJson()).value() == s));
  BOOST_REQUIRE(store.Put("main", "k", SessionState{}).ok());
  BOOST_TEST(store.size() == 0u);
}

// Sessions share their modelpin data until one of them changes it: a change on one copy (a
// counted turn, a new event, a scope ended) never shows in another.
BOOST_AUTO_TEST_CASE(ModelpinDataIsCopyOnWrite) {
  SessionState a;
  a.provider_override = "anthropic";
  a.model_override = "claude-sonnet-4-5";
  a.RecordPinChange(kNow, PinSource::kUser, PinSelection{});
  a.modelpin.SetScope(PinScope{.kind = PinScope::Kind::kTurns, .turns_left = 2, .set_at_ms = kNow, .until_ms = 0, .restore = {}});
  SessionState b = a;
  BOOST_TEST(a.modelpin.get() == b.modelpin.get());  // shared, not copied
  BOOST_TEST(b.modelpin.CountTurn() == 1);
  BOOST_TEST(a.modelpin->scope->turns_left == 2);
  BOOST_TEST(b.modelpin.CountTurn() == 0);  // private now: counted in place
  b.EndPinScope(kNow + 1, PinSource::kExpiry);
  BOOST_TEST(!b.modelpin->scope);
  BOOST_TEST(b.modelpin->history.size() == 2u);
  BOOST_TEST(*b.modelpin->history.back().source == "expiry");
  BOOST_TEST(!b.model_override);  // back on the default the scope restores
  BOOST_TEST(a.modelpin->history.size() == 1u);
  BOOST_TEST(*a.model_override == "claude-sonnet-4-5");
  // Equal values intern to one pointer; events compare by value through it.
  BOOST_TEST((Interned(std::string("user")) == a.modelpin->history[0].source));
  BOOST_TEST(!(Interned(std::string("auto")) == a.modelpin->history[0].source));
  // Clearing the scope of a session without history leaves no data at all.
  SessionState c;
  c.modelpin.SetScope(PinScope{.kind = PinScope::Kind::kOnce, .turns_left = 1, .set_at_ms = 0, .until_ms = 0, .restore = {}});
  BOOST_TEST(!c.modelpin.empty());
  c.modelpin.SetScope(std::nullopt);
  BOOST_TEST(!c.modelpin);
}

// Stored history names each distinct selection once; the inline form of earlier stores still reads.
BOOST_AUTO_TEST_CASE(StoredHistoryListsEachSelectionOnce) {
  SessionState s;
  for (int i = 0; i < 50; ++i) {
    PinSelection before = s.Selection();
    s.provider_override = "anthropic";
    s.model_override = i % 2 ? "claude-opus-4-5" : "claude-sonnet-4-5";
    s.RecordPinChange(kNow + i, PinSource::kUser, before);
  }
  const std::string json = s.ModelpinJson();
  BOOST_TEST(json.find("\"selections\":[{},{\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-5\"},"
                       "{\"provider\":\"anthropic\",\"model\":\"claude-opus-4-5\"}]") != std::string::npos);
  BOOST_TEST(json.find("[" + std::to_string(kNow + 1) + ",\"user\",1,2]") != std::string::npos);
  BOOST_TEST(json.size() < 1500u);
  // Reading 70 stored events keeps the latest 50, in order.
  SessionState many;
  for (int i = 0; i < 70; ++i) {
    PinSelection before = many.Selection();
    many.provider_override = "anthropic";
    many.model_override = "m" + std::to_string(i);
    many.RecordPinChange(kNow + i, PinSource::kUser, before);
  }
  std::string stored = many.StorageJson();
  auto back = SessionState::FromStorageJson(stored);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == many));
  BOOST_TEST(*back->modelpin->history.front().to->model == "m20");
  BOOST_TEST((SessionState::FromStorageJson(s.StorageJson()).value() == s));
  auto old = SessionState::FromStorageJson(
      R"({"modelOverride":"m","providerOverride":"p","modelpin":{"history":[{"at":5,"source":"user","from":{},)"
      R"("to":{"provider":"p","model":"m"}}]}})");
  BOOST_REQUIRE(old.ok());
  BOOST_REQUIRE(old->modelpin->history.size() == 1u);
  BOOST_TEST(DescribePinEvent(old->modelpin->history[0]) == "1970-01-01 00:00 UTC user: default -> p/m");
}

BOOST_AUTO_TEST_CASE(HistoryIsCappedAtFiftyEvents) {
  SessionState s;
  for (int i = 0; i < 70; ++i) {
    PinSelection before = s.Selection();
    s.model_override = "m" + std::to_string(i);
    s.provider_override = "anthropic";
    s.RecordPinChange(kNow + i, PinSource::kUser, before);
  }
  BOOST_TEST(s.modelpin->history.size() == ModelpinSessionData::kHistoryCap);
  BOOST_TEST(*s.modelpin->history.back().to->model == "m69");
  BOOST_TEST(*s.modelpin->history.front().to->model == "m20");
}

namespace {
// Pins `model` on `s` at `at`, recording the change in its history.
void PinModel(SessionState& s, const std::string& model, int64_t at) {
  PinSelection before = s.Selection();
  s.provider_override = "anthropic";
  s.model_override = model;
  s.RecordPinChange(at, PinSource::kUser, before);
}
}  // namespace

// Longer histories are windows of a shared append-only event buffer (pin_history.cc): appending
// where a history ends writes one event, copying none. Two copies of one session that both
// append keep their own histories, across buffer boundaries; a scoped pin on a copy leaves the
// other as it was.
BOOST_AUTO_TEST_CASE(CopiesOfAHistoryAppendIndependently) {
  SessionState a;
  for (int i = 0; i < 60; ++i) PinModel(a, "m" + std::to_string(i), kNow + i);
  const ModelpinData shared = a.modelpin;
  SessionState b = a;
  PinModel(a, "a-0", kNow + 100);  // takes the buffer's next slot
  PinModel(b, "b-0", kNow + 100);  // that slot is taken: b moves to a buffer of its own
  for (const SessionState* s : {&a, &b}) {
    BOOST_TEST(s->modelpin->history.size() == ModelpinSessionData::kHistoryCap);
    BOOST_TEST(*s->modelpin->history[48].to->model == "m59");
    BOOST_TEST(*s->modelpin->history.front().to->model == "m11");
  }
  BOOST_TEST(*a.modelpin->history.back().to->model == "a-0");
  BOOST_TEST(*b.modelpin->history.back().to->model == "b-0");
  BOOST_TEST(*shared->history.back().to->model == "m59");  // the history both were copied from
  for (int i = 1; i < 200; ++i) {  // far past the buffer's size: a and b never see each other's
    PinModel(a, "a-" + std::to_string(i), kNow + 100 + i);
    if (i % 3 == 0) PinModel(b, "b-" + std::to_string(i), kNow + 100 + i);
  }
  for (size_t k = 0; k < ModelpinSessionData::kHistoryCap; ++k) {
    BOOST_TEST(*a.modelpin->history[k].to->model == "a-" + std::to_string(150 + k));
    BOOST_TEST(a.modelpin->history[k].at_ms == kNow + 250 + static_cast<int64_t>(k));
  }
  BOOST_TEST(*b.modelpin->history.back().to->model == "b-198");
  BOOST_TEST(*b.modelpin->history[48].to->model == "b-195");
  BOOST_TEST(*shared->history.back().to->model == "m59");
  // A scoped pin on a copy shares its events but not its scope; a history read back compares equal.
  SessionState c = b;
  c.modelpin.SetScope(PinScope{.kind = PinScope::Kind::kTurns, .turns_left = 2, .set_at_ms = kNow, .until_ms = 0, .restore = {}});
  BOOST_TEST(!b.modelpin->scope);
  BOOST_TEST((c.modelpin->history == b.modelpin->history));
  BOOST_TEST(c.modelpin.CountTurn() == 1);
  PinModel(c, "c-0", kNow + 400);
  BOOST_TEST(*b.modelpin->history.back().to->model == "b-198");
  BOOST_TEST(*c.modelpin->history.back().to->model == "c-0");
  BOOST_TEST((SessionState::FromStorageJson(c.StorageJson()).value() == c));
}

// Threads appending to copies of one shared history each keep their own events, and every
// value is freed when the copies go (the ASan suite runs this too).
BOOST_AUTO_TEST_CASE(ThreadsAppendingToCopiesOfOneHistoryKeepTheirOwn) {
  const size_t before = Interned<PinSelection>::LiveCount();
  {
    SessionState shared;
    for (int i = 0; i < 50; ++i) PinModel(shared, "base-" + std::to_string(i), kNow + i);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t, &shared, &wrong] {
        for (int round = 0; round < 50; ++round) {
          SessionState mine = shared;  // every thread appends where the shared history ends
          for (int i = 0; i < 40; ++i) {
            const std::string model = absl::StrCat("t", t, "-", i % 9);
            PinModel(mine, model, kNow + 1000 + i);
            if (*mine.modelpin->history.back().to->model != model) ++wrong;
          }
          const PinHistory& h = mine.modelpin->history;
          if (h.size() != ModelpinSessionData::kHistoryCap || *h[10].to->model != absl::StrCat("t", t, "-0") ||
              *h[9].to->model != "base-49")
            ++wrong;
        }
      });
    for (auto& th : threads) th.join();
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(*shared.modelpin->history.back().to->model == "base-49");
  }
  BOOST_TEST(Interned<PinSelection>::LiveCount() == before);
}

// A session that a thread-local object still holds when its thread ends (a client's per-thread
// Outcome) lets go of its history after the thread's other objects: every block and buffer is
// freed once, and none twice (the ASan build catches a double free; this one aborts in malloc).
// (An earlier per-thread cache of history blocks freed one twice.)
BOOST_AUTO_TEST_CASE(HistoryHeldByAThreadLocalIsFreedOnceWhenTheThreadEnds) {
  for (int round = 0; round < 20; ++round) {
    std::thread t([round] {
      thread_local SessionState held;  // destroyed when the thread ends
      held.model_override = "start";
      SessionState s;
      for (int i = 0; i < 120; ++i) {  // full histories, replaced on every pin
        PinSelection before = s.Selection();
        s.model_override = "m" + std::to_string((i + round) % 3);
        s.provider_override = "anthropic";
        s.RecordPinChange(kNow + i, PinSource::kUser, before);
        if (i % 7 == 0) held = s;  // the history it holds stays; later ones move on
      }
      held = s;
      BOOST_TEST(held.modelpin->history.size() == ModelpinSessionData::kHistoryCap);
    });
    t.join();
  }
}

BOOST_FIXTURE_TEST_CASE(HistoryShowsTheLastTen, PinsFixture) {
  auto e = Make();
  BOOST_TEST(FirstReply(Say(*e, "/model history")) == "No model or auth profile changes recorded for this session yet.");
  for (int i = 0; i < 6; ++i) {
    Say(*e, "/model sonnet");
    Say(*e, "/model opus@anthropic:default");
  }
  std::string h = FirstReply(Say(*e, "/model history"));
  BOOST_TEST(h.rfind("Model history (last 10 of 12 changes, oldest first):\n1. 2026-12-01 12:00 UTC user: ", 0) == 0u);
  BOOST_TEST(h.find("\n10. ") != std::string::npos);
  BOOST_TEST(h.find("\n11. ") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(UndoRestoresThePreviousSelectionAndSaysWhat, PinsFixture) {
  auto e = Make();
  Say(*e, "/model sonnet@anthropic:default");
  clock->Advance(kMinute);
  Say(*e, "/model llama");
  Say(*e, "hello");  // an automatic pin: not what undo undoes
  Outcome undo = Say(*e, "/model undo");
  BOOST_TEST(FirstReply(undo) ==
             "Restored anthropic/claude-sonnet-4-5 with auth profile anthropic:default, undoing the user change of "
             "2026-12-01 12:01 UTC.");
  BOOST_TEST(*undo.session.model_override == "claude-sonnet-4-5");
  BOOST_TEST(*undo.session.auth_profile_override == "anthropic:default");
  BOOST_TEST(*undo.session.modelpin->history.back().source == "undo");
  // Undo again goes back to where the undo came from.
  BOOST_TEST(FirstReply(Say(*e, "/model undo")).find("Restored openrouter/meta-llama/llama-3.3-70b-instruct") == 0u);
}

BOOST_FIXTURE_TEST_CASE(UndoWithNothingToUndoIsRefused, PinsFixture) {
  auto e = Make();
  Say(*e, "hello");
  Outcome o = Say(*e, "/model undo");
  BOOST_TEST(o.replies.front().is_error);
  BOOST_TEST(FirstReply(o).find("Nothing to undo") == 0u);
}

// ---- pins that config changes made invalid ----

BOOST_FIXTURE_TEST_CASE(AModelPinThePolicyNoLongerAllowsIsDropped, PinsFixture) {
  Say(*Make(ConfigText(), Store::kSqlite), "/model llama");
  const std::string narrowed =
      ConfigText("", R"(, "modelPolicy": {"allow": ["anthropic/*"]})");
  auto e = Make(narrowed, Store::kSqlite);
  Outcome o = Say(*e, "hello");
  BOOST_TEST(RouteModel(o) == "anthropic/claude-opus-4-5");
  BOOST_TEST(o.replies.empty());  // compatible mode: silently, as OpenClaw
  const auto& h = o.session.modelpin->history;
  BOOST_REQUIRE(h.size() >= 2u);
  BOOST_TEST(*h[h.size() - 2].source == "invalid");  // then the automatic pin of the route
  BOOST_TEST(DescribeSelection(*h[h.size() - 2].from) == "openrouter/meta-llama/llama-3.3-70b-instruct");
}

BOOST_FIXTURE_TEST_CASE(StrictModeSaysOnceThatAModelPinWasDropped, PinsFixture) {
  Say(*Make(ConfigText(), Store::kSqlite), "/model llama");
  auto e = Make(ConfigText("", R"(, "modelPolicy": {"allow": ["anthropic/*"]})"), Store::kSqlite, true);
  Outcome o = Say(*e, "hello");
  BOOST_TEST(FirstReply(o) ==
             "Your pinned model openrouter/meta-llama/llama-3.3-70b-instruct was dropped: "
             "agents.defaults.modelPolicy.allow no longer allows it. Back to the default, anthropic/claude-opus-4-5.");
  BOOST_TEST(RouteModel(o) == "anthropic/claude-opus-4-5");
  BOOST_TEST(Say(*e, "again").replies.empty());
}

BOOST_FIXTURE_TEST_CASE(StrictModeSaysOnceThatAProfilePinWasDropped, PinsFixture) {
  Say(*Make(ConfigText(), Store::kSqlite), "/model opus@anthropic:default");
  // The profile leaves the auth store.
  std::string path = dir + "/agents/main/agent/auth-profiles.json";
  std::string store = testing::ReadFile(path);
  size_t at = store.find("\"anthropic:default\"");
  size_t end = store.find("},", at);
  store.erase(at, end + 2 - at);
  { std::ofstream(path, std::ios::trunc) << store; }
  auto e = Make(ConfigText(), Store::kSqlite, true);
  Outcome o = Say(*e, "hello");
  BOOST_TEST(FirstReply(o) == "Your pinned auth profile anthropic:default was dropped: it is no longer in the auth store.");
  BOOST_TEST(o.route->profiles.front() == "anthropic:work");
  BOOST_TEST(*o.session.modelpin->history.back().source == "invalid");
  BOOST_TEST(Say(*e, "again").replies.empty());
}

// ---- a model's own credential (agents.defaults.models.<ref>.authProfile) ----

BOOST_FIXTURE_TEST_CASE(AModelsOwnAuthProfileIsPinnedBySelectingIt, PinsFixture) {
  std::string config = ConfigText();
  const std::string plain = R"("anthropic/claude-sonnet-4-5": {"alias": "sonnet"})";
  config.replace(config.find(plain), plain.size(),
                 R"("anthropic/claude-sonnet-4-5": {"alias": "sonnet", "authProfile": "anthropic:default"})");
  auto e = Make(config);
  Outcome o = Say(*e, "/model sonnet");
  BOOST_TEST(FirstReply(o) ==
             "Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged. "
             "Auth profile set to anthropic:default (the model's authProfile).");
  BOOST_TEST(*o.session.auth_profile_override == "anthropic:default");
  BOOST_TEST(*o.session.auth_profile_override_source == "user");
  BOOST_TEST(Say(*e, "hi").route->profiles.front() == "anthropic:default");
  // A profile the user names wins; other models are not affected.
  BOOST_TEST(*Say(*e, "/model sonnet@anthropic:work").session.auth_profile_override == "anthropic:work");
  BOOST_TEST(FirstReply(Say(*e, "/model llama")).find("Auth profile") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(AModelsAuthProfileMustBeAProfileId) {
  auto bad = Config::Parse("c.json", R"({"agents": {"defaults": {"models": {"a/b": {"authProfile": 3}}}}})");
  BOOST_TEST(std::string(bad.status().message()) ==
             "c.json: $.agents.defaults.models[\"a/b\"].authProfile (1:60): expected a string, found a number");
}

BOOST_AUTO_TEST_CASE(ProfileAccessRulesSayWhoMayPin) {
  auto c = Config::Parse("c.json", R"({"commands": {"ownerAllowFrom": ["boss"]},
    "modelpin": {"profileAccess": {"anthropic:work": {"allowFrom": ["alice"]}, "openai:team": {"allowFrom": ["*"]}}}})");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  BOOST_TEST(c->MayPinProfile("anthropic:work", "alice", false));
  BOOST_TEST(!c->MayPinProfile("anthropic:work", "bob", false));
  BOOST_TEST(!c->MayPinProfile("anthropic:work", "", false));  // an unknown sender is nobody listed
  BOOST_TEST(c->MayPinProfile("anthropic:work", "boss", true));  // owners may
  BOOST_TEST(c->MayPinProfile("openai:team", "bob", false));     // "*": everyone
  BOOST_TEST(c->MayPinProfile("anthropic:default", "bob", false));  // no rule: as OpenClaw
}

BOOST_AUTO_TEST_CASE(ProfileAccessErrorsNameThePath) {
  struct Case {
    const char* json;
    const char* want;
  };
  for (const Case& t : std::initializer_list<Case>{
           {R"({"modelpin": {"profileAccess": []}})", "$.modelpin.profileAccess (1:32): expected an object, found an array"},
           {R"({"modelpin": {"profileAccess": {"": {"allowFrom": []}}}})",
            "$.modelpin.profileAccess[\"\"] (1:37): expected an auth profile id, found an empty name"},
           {R"({"modelpin": {"profileAccess": {"a:w": {}}}})",
            "$.modelpin.profileAccess[\"a:w\"] (1:40): expected \"allowFrom\": the senders who may pin this profile"},
           {R"({"modelpin": {"profileAccess": {"a:w": {"allowFrom": "x"}}}})",
            "$.modelpin.profileAccess[\"a:w\"].allowFrom (1:54): expected an array of strings, found a string"},
           {R"({"modelpin": {"profileAccess": {"a:w": {"alowFrom": []}}}})",
            "$.modelpin.profileAccess[\"a:w\"].alowFrom (1:53): unknown key (a profile's access rule has only \"allowFrom\")"},
       }) {
    auto bad = Config::Parse("c.json", t.json);
    BOOST_REQUIRE(!bad.ok());
    BOOST_TEST(std::string(bad.status().message()) == absl::StrCat("c.json: ", t.want));
  }
}

// A refused pin changes nothing, the next message is answered, and the operator's order still
// routes through the restricted profile.
BOOST_FIXTURE_TEST_CASE(ARefusedPinChangesNothingAndRoutingIsUnaffected, PinsFixture) {
  auto engine = Make(ConfigText(R"(, "modelpin": {"profileAccess": {"anthropic:work": {"allowFrom": ["alice"]}}})"));
  auto* e = &engine;
  for (const char* key : {"agent:main:telegram:group:1", "agent:main:telegram:direct:bob"}) {
    auto refused = (*e)->Handle({.session_key = key, .text = "/model sonnet@anthropic:work", .sender = "bob"});
    BOOST_REQUIRE(refused.ok());
    BOOST_REQUIRE_EQUAL(refused->replies.size(), 1u);
    BOOST_TEST(refused->replies[0].is_error);
    BOOST_TEST(refused->replies[0].text.find("modelpin.profileAccess") != std::string::npos);
    BOOST_TEST(!refused->session.auth_profile_override.has_value());
    BOOST_TEST(!refused->session.model_override.has_value());
    auto next = (*e)->Handle({.session_key = key, .text = "hello", .sender = "bob"});
    BOOST_REQUIRE(next.ok() && next->route);
    BOOST_TEST(next->route->model.model == "claude-opus-4-5");
    auto allowed = (*e)->Handle({.session_key = key, .text = "/model sonnet@anthropic:work", .sender = "alice"});
    BOOST_REQUIRE(allowed.ok());
    BOOST_TEST(!allowed->replies.at(0).is_error);
    BOOST_TEST(allowed->session.auth_profile_override.value_or("") == "anthropic:work");
  }
}
