// modelpin's rotation defaults against what OpenClaw 2026.9.6 really did when its provider failed:
// fixtures/rotation-oracle/<scenario>/recorded.jsonl, made by fixtures/tools/regen-rotation-oracle.sh
// (the oracle harness against fixtures/tools/stand-in-provider.py). No oracle, no network: each
// scenario's messages go through the engine (config/rotation-oracle.json, the seed's auth store),
// every attempt OpenClaw made is reported back at the time it was made, and then
//   * the order modelpin plans (route profiles, then the fallback models' profiles) must begin
//     with the profiles OpenClaw tried, in the order it tried them. OpenClaw retries a 429 on the
//     same profile (up to 9 times, 1 s to 30 s apart) before it records a failure and rotates;
//     those retries are a bot's own HTTP retries, not steps of the plan, so a run of attempts on
//     one profile is one entry, and one report: the outcome of its last attempt;
//   * each profile's stored health must match OpenClaw's usageStats: error count, failures by
//     class, cooldown and disable lengths (relative to the failure), the disabled reason, and
//     lastUsed/lastGood where OpenClaw wrote them.
// Times: OpenClaw stamps a failure when it handles the response, up to a few seconds after the
// request the stand-in logged; modelpin is told at the request's time. Instants compare within
// kSlackMs (cooldowns are 30 s apart, so a wrong step still shows).
#define BOOST_TEST_MODULE rotation_oracle
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>
#include "rapidjson/document.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kT0 = 1'796'000'000'000;  // the first request of a scenario (2026-12-01T...)
constexpr int64_t kSlackMs = 5'000;  // OpenClaw on a busy machine: up to ~3 s after the request

std::string Root() {
  const char* env = std::getenv("MODELPIN_SOURCE_ROOT");
  return env && *env ? env : MODELPIN_SOURCE_ROOT;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Attempt {
  int64_t t = 0;
  std::string profile, model;
  int status = 0;
  int64_t retry_after_ms = 0;  // the Retry-After the stand-in sent (seconds in the header)
};

// What OpenClaw stored for one profile (times relative to the first request, absent = nullopt).
struct Stored {
  std::optional<int64_t> error_count, last_failure_at, cooldown_until, disabled_until, last_used;
  std::string cooldown_model, disabled_reason;
  std::map<std::string, int> failure_counts;
};

struct Step {
  int number = 0;
  std::string input;
  std::vector<Attempt> attempts;
  std::map<std::string, Stored> usage;
  std::map<std::string, std::string> last_good;
  std::map<std::string, std::string> session;  // the session's string fields
  int64_t started = 0;
};

std::optional<int64_t> Num(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return it->value.GetInt64();
}

std::string Str(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

std::vector<Step> LoadRecorded(const fs::path& file) {
  std::vector<Step> steps;
  std::istringstream lines(Read(file));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    rapidjson::Document d;
    d.Parse(line.c_str());
    BOOST_REQUIRE_MESSAGE(!d.HasParseError() && d.IsObject(), file << ": bad line " << line);
    Step s;
    s.number = static_cast<int>(*Num(d, "step"));
    s.input = Str(d, "input");
    s.started = Num(d, "started").value_or(0);
    for (const auto& [k, v] : d["session"].GetObject())
      if (v.IsString()) s.session[k.GetString()] = v.GetString();
    for (const auto& a : d["attempts"].GetArray()) {
      std::string retry_after = Str(a, "retryAfter");
      s.attempts.push_back({*Num(a, "t"), Str(a, "profile"), Str(a, "model"), static_cast<int>(*Num(a, "status")),
                            retry_after.empty() ? 0 : std::stoll(retry_after) * 1000});
    }
    for (const auto& [id, u] : d["usageStats"].GetObject()) {
      Stored st;
      st.error_count = Num(u, "errorCount");
      st.last_failure_at = Num(u, "lastFailureAt");
      st.cooldown_until = Num(u, "cooldownUntil");
      st.disabled_until = Num(u, "disabledUntil");
      st.last_used = Num(u, "lastUsed");
      st.cooldown_model = Str(u, "cooldownModel");
      st.disabled_reason = Str(u, "disabledReason");
      if (auto fc = u.FindMember("failureCounts"); fc != u.MemberEnd() && fc->value.IsObject())
        for (const auto& [k, v] : fc->value.GetObject()) st.failure_counts[k.GetString()] = v.GetInt();
      s.usage[id.GetString()] = st;
    }
    for (const auto& [provider, id] : d["lastGood"].GetObject()) s.last_good[provider.GetString()] = id.GetString();
    steps.push_back(std::move(s));
  }
  return steps;
}

// The error class a bot reports for the stand-in's HTTP status (engine/auth/rotation.h).
CallReport ReportFor(const Attempt& a) {
  CallReport r{a.profile, ErrorClass::kOk, a.retry_after_ms, ""};
  switch (a.status) {
    case 200: break;
    case 401: case 403: r.error = ErrorClass::kAuth; break;
    case 402: r.error = ErrorClass::kBilling; break;
    case 404: r.error = ErrorClass::kModelNotFound; r.model = a.model; break;
    case 429: r.error = ErrorClass::kRateLimit; r.model = a.model; break;
    case 529: r.error = ErrorClass::kOverloaded; r.model = a.model; break;
    default: r.error = ErrorClass::kServerError; break;
  }
  return r;
}

// modelpin's failure class names for OpenClaw's.
std::string ClassName(const std::string& openclaw) { return openclaw == "auth_permanent" ? "auth" : openclaw; }

std::string Show(const std::vector<std::pair<std::string, std::string>>& v) {
  std::vector<std::string> parts;
  for (const auto& [m, p] : v) parts.push_back(absl::StrCat(m, " via ", p));
  return absl::StrJoin(parts, ", ");
}

// A difference between modelpin and OpenClaw: where (scenario, step), what ("plan", "session",
// "<profile> cooldownUntil", ...), and both sides for people.
struct Difference {
  std::string scenario;
  int step = 0;
  std::string what, detail;
};

void CheckScenario(const fs::path& dir, std::vector<Difference>& out) {
  const std::string name = dir.filename().string();
  auto config = Config::Load(Root() + "/fixtures/config/rotation-oracle.json");
  BOOST_REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  EngineOptions options{.plugins = BuiltinPlugins()};  // "/model opus@anthropic:work" is a command
  options.state_dir = Root() + "/fixtures/state";  // the seed's store; never written (Simulate)
  options.environment = std::map<std::string, std::string>{};
  auto engine = Engine::Create(*std::move(config), nullptr, std::move(options));
  BOOST_REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  auto clock = std::make_shared<FakeClock>(kT0);
  (*engine)->Simulate(clock);

  for (const Step& s : LoadRecorded(dir / "recorded.jsonl")) {
    const std::string where = absl::StrCat(name, " #", s.number, " \"", s.input, "\"");
    auto differ = [&](const std::string& what, const std::string& detail) {
      out.push_back({name, s.number, what, detail});
    };
    // OpenClaw plans its attempts when it takes the message (its run then takes a while before
    // the first request), so the route is asked for at that time.
    clock->Set(kT0 + s.started);
    auto o = (*engine)->Handle({.text = s.input});
    BOOST_REQUIRE_MESSAGE(o.ok(), where << ": " << o.status().ToString());
    // The session's auth pin as the message left it.
    {
      auto theirs = s.session.find("authProfileOverride");
      auto theirs_source = s.session.find("authProfileOverrideSource");
      std::string t = theirs == s.session.end() ? "" : theirs->second;
      std::string ts = theirs_source == s.session.end() ? "" : theirs_source->second;
      std::string m = o->session.auth_profile_override.value_or("");
      std::string ms = o->session.auth_profile_override_source.value_or("");
      if (t != m || ts != ms) differ("session", absl::StrCat("pin ", m, " (", ms, "), OpenClaw ", t, " (", ts, ")"));
    }
    if (!o->route) {  // a command: nothing reaches a model
      if (!s.attempts.empty()) differ("plan", "OpenClaw called a model, modelpin routes nothing");
      continue;
    }

    // The plan, flattened: the route's profiles that can be used now (cooling and disabled ones
    // are listed last for people, and OpenClaw does not try them), then each later model's.
    std::vector<std::pair<std::string, std::string>> plan, tried;
    for (const auto& [id, h] : (*engine)->RouteHealth("main", *o->route))
      if (h.state == ProfileHealth::State::kOk &&
          std::find(o->route->profiles.begin(), o->route->profiles.end(), id) != o->route->profiles.end())
        plan.emplace_back(o->route->model.Label(), id);
    for (const auto& c : o->route->plan)
      for (const auto& p : c.profiles) plan.emplace_back(c.model.Label(), p);
    for (const Attempt& a : s.attempts)
      if (tried.empty() || tried.back() != std::make_pair(a.model, a.profile)) tried.emplace_back(a.model, a.profile);
    std::vector<std::pair<std::string, std::string>> head(plan.begin(), plan.begin() + std::min(plan.size(), tried.size()));
    BOOST_TEST_MESSAGE(where << ": OpenClaw tried [" << Show(tried) << "]; modelpin plans [" << Show(plan) << "]");
    if (head != tried) differ("plan", absl::StrCat("OpenClaw tried [", Show(tried), "], modelpin plans [", Show(plan), "]"));
    // One report per profile tried: the outcome of its last attempt, at that attempt's time.
    for (size_t i = 0; i < s.attempts.size(); ++i) {
      const Attempt& a = s.attempts[i];
      if (i + 1 < s.attempts.size() && s.attempts[i + 1].profile == a.profile && s.attempts[i + 1].model == a.model)
        continue;
      clock->Set(kT0 + a.t);
      auto st = (*engine)->ReportOutcome("main", "agent:main:main", ReportFor(a));
      BOOST_REQUIRE_MESSAGE(st.ok(), where << ": " << st.ToString());
    }

    // Stored health, profile by profile (every profile either side knows).
    auto auth = (*engine)->Auth("main");
    BOOST_REQUIRE(auth.ok());
    std::set<std::string> ids;
    for (const auto& [id, u] : s.usage) ids.insert(id);
    for (const auto& [id, u] : (*auth)->Health().usage) ids.insert(id);
    auto rel = [](int64_t abs) { return abs ? std::optional<int64_t>(abs - kT0) : std::nullopt; };
    auto near = [](std::optional<int64_t> a, std::optional<int64_t> b) {
      return a.has_value() == b.has_value() && (!a || std::llabs(*a - *b) <= kSlackMs);
    };
    auto show = [](std::optional<int64_t> v) { return v ? std::to_string(*v) : std::string("none"); };
    for (const std::string& id : ids) {
      const UsageStats mine = (*auth)->Usage(id);
      const Stored theirs = s.usage.count(id) ? s.usage.at(id) : Stored{};
      auto check = [&](bool same, const std::string& field, const std::string& m, const std::string& t) {
        if (!same) differ(absl::StrCat(id, " ", field), absl::StrCat(m, ", OpenClaw ", t));
      };
      check(mine.error_count == theirs.error_count.value_or(0), "errorCount", std::to_string(mine.error_count),
            std::to_string(theirs.error_count.value_or(0)));
      std::map<std::string, int> their_counts;
      for (const auto& [k, v] : theirs.failure_counts) their_counts[ClassName(k)] += v;
      std::map<std::string, int> my_counts(mine.failure_counts.begin(), mine.failure_counts.end());
      auto counts = [](const std::map<std::string, int>& c) {
        std::vector<std::string> parts;
        for (const auto& [k, v] : c) parts.push_back(absl::StrCat(k, "=", v));
        return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
      };
      check(my_counts == their_counts, "failureCounts", counts(my_counts), counts(their_counts));
      check(near(rel(mine.last_failure_at), theirs.last_failure_at), "lastFailureAt", show(rel(mine.last_failure_at)),
            show(theirs.last_failure_at));
      // A cooldown: the profile's, or (OpenClaw's cooldownModel) that model's only.
      std::optional<int64_t> my_cooldown = rel(mine.cooldown_until);
      if (!theirs.cooldown_model.empty()) {
        const std::string model = absl::StrCat(id.substr(0, id.find(':')), "/", theirs.cooldown_model);
        auto it = mine.model_cooldowns.find(model);
        my_cooldown = it == mine.model_cooldowns.end() ? std::nullopt : rel(it->second);
      } else if (!my_cooldown && !mine.model_cooldowns.empty()) {
        my_cooldown = rel(mine.model_cooldowns.begin()->second);  // OpenClaw cooled the whole profile
      }
      check(near(my_cooldown, theirs.cooldown_until), "cooldownUntil", show(my_cooldown),
            show(theirs.cooldown_until) + (theirs.cooldown_model.empty() ? "" : " for " + theirs.cooldown_model));
      check(near(rel(mine.disabled_until), theirs.disabled_until), "disabledUntil", show(rel(mine.disabled_until)),
            show(theirs.disabled_until));
      check(mine.disabled_reason == ClassName(theirs.disabled_reason), "disabledReason", mine.disabled_reason,
            theirs.disabled_reason);
      if (theirs.last_used)
        check(near(rel(mine.last_used), theirs.last_used), "lastUsed", show(rel(mine.last_used)), show(theirs.last_used));
    }
    for (const auto& [provider, id] : s.last_good) {
      const std::string* mine = (*auth)->LastGood(provider);
      if (!mine || *mine != id) differ(absl::StrCat("lastGood.", provider), absl::StrCat(mine ? *mine : "none", ", OpenClaw ", id));
    }
  }
}

// fixtures/rotation-oracle/known-differences.tsv: scenario TAB step TAB what TAB why. Each is a
// difference modelpin keeps on purpose (docs/rotation.md); one that stops differing fails too.
std::set<std::tuple<std::string, int, std::string>> KnownDifferences() {
  std::set<std::tuple<std::string, int, std::string>> out;
  std::istringstream lines(Read(Root() + "/fixtures/rotation-oracle/known-differences.tsv"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    for (size_t at = 0;;) {
      size_t tab = line.find('\t', at);
      f.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) break;
      at = tab + 1;
    }
    BOOST_REQUIRE_MESSAGE(f.size() == 4 && !f[3].empty(), "known-differences.tsv: bad line " << line);
    out.emplace(f[0], std::stoi(f[1]), f[2]);
  }
  return out;
}

std::vector<fs::path> Scenarios() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(Root() + "/fixtures/rotation-oracle"))
    if (e.is_directory() && fs::exists(e.path() / "recorded.jsonl")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(EveryScenarioHasItsRecording) {
  for (const auto& e : fs::directory_iterator(Root() + "/fixtures/rotation-oracle"))
    if (e.is_directory())
      for (const char* f : {"transcript.txt", "script.json", "recorded.jsonl"})
        BOOST_CHECK_MESSAGE(fs::exists(e.path() / f), e.path().filename().string() << " has no " << f);
  BOOST_TEST(Scenarios().size() >= 1u);
}

BOOST_AUTO_TEST_CASE(PlansAndStoredHealthMatchOpenClaw) {
  std::vector<Difference> found;
  for (const fs::path& dir : Scenarios()) CheckScenario(dir, found);
  auto known = KnownDifferences();
  std::set<std::tuple<std::string, int, std::string>> seen;
  for (const Difference& d : found) {
    auto key = std::make_tuple(d.scenario, d.step, d.what);
    seen.insert(key);
    BOOST_CHECK_MESSAGE(known.count(key), d.scenario << " #" << d.step << " " << d.what << ": " << d.detail);
    if (known.count(key)) BOOST_TEST_MESSAGE("known: " << d.scenario << " #" << d.step << " " << d.what << ": " << d.detail);
  }
  for (const auto& [scenario, step, what] : known)
    BOOST_CHECK_MESSAGE(seen.count({scenario, step, what}),
                        "known-differences.tsv lists " << scenario << " #" << step << " " << what
                                                       << ", which now matches OpenClaw: remove the line");
}
