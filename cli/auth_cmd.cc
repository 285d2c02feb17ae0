// `modelpin models auth list|remove|cooldowns|usage|setup-token`: the credential lifecycle. Health is
// read and cleared through the same UsageStats the engine's rotation rules write.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>
#include <modelpin/cli/cli.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/auth/profile_json.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/usage_json.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kListHelp = R"(usage: modelpin models auth list [--provider P] [--json] [--agent ID] [--config FILE] [--state DIR]

The agent's saved auth profiles, in store order: id, provider, type, the secret masked, expiry
and health (ok, cooldown until ..., disabled (auth|billing) until ..., a model cooling down,
expired), with the error count, and the last day's calls and cost ("unknown" for calls of a
model without a price). --json: {agentId, authStatePath, profiles: [... usage: {window: "1d", ...}]}.
)";

constexpr const char* kRemoveHelp = R"(usage: modelpin models auth remove ID [--agent ID] [--config FILE] [--state DIR]

Deletes a saved profile (logout) from the agent's own store, with its health, its lastGood
entries and its place in stored orders. The config's auth.profiles/auth.order are not edited.
)";

constexpr const char* kCooldownsHelp = R"(usage: modelpin models auth cooldowns [--provider P] [--json] [--agent ID] [--config FILE] [--state DIR]
       modelpin models auth cooldowns clear [ID | --provider P] [--agent ID] [--config FILE] [--state DIR]

Lists the profiles that are cooling down or disabled now (whole profile or one model), until
when and why. `clear` makes them usable again: cooldowns, disables and error counts are reset
(last use is kept); for one profile, one provider's, or every profile.
)";

constexpr const char* kSetupTokenHelp = R"(usage: modelpin models auth setup-token --provider anthropic [--profile-id ID] [--expires-in DURATION]
                                        [--agent ID] [--config FILE] [--state DIR]

The Claude subscription path: runs `claude setup-token` (Claude Code's CLI, found on PATH) on
this terminal, takes the long-lived token it prints (sk-ant-oat01-...) and saves it as
paste-token does (default id anthropic:manual). Needs a terminal; elsewhere, run
`claude setup-token` on a machine with one and store the token with
`modelpin models auth paste-token --provider anthropic`.
)";

struct Loaded {
  std::unique_ptr<Engine> engine;
  std::string agent;
  std::shared_ptr<const AuthStore> store;
};

absl::StatusOr<Loaded> Load(const Common& common) {
  Loaded l;
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return engine.status();
  l.engine = *std::move(engine);
  auto agent = KnownAgent(*l.engine, common.agent);
  if (!agent.ok()) return agent.status();
  l.agent = *agent;
  auto store = l.engine->Auth(l.agent);
  if (!store.ok()) return store.status();
  l.store = *store;
  return l;
}

// The type is printed beside it: the masked secret alone.
std::string Masked(const Credential& c, MaskingMode mode) {
  return MaskedCredential(c, mode, CredentialLabel::kSecretOnly);
}

ProfileHealth HealthOf(const Credential& c, const AuthStore& store, int64_t now) {
  return CredentialHealth(c, store, now);
}

bool OfProvider(const Credential& c, const std::string& provider) { return OfAuthProvider(c, provider); }

// A profile's health in --json (engine/auth/profile_json.h): what GET /v1/profiles says, without
// its failedProbes and quota.
void HealthJson(JsonWriter& w, const ProfileHealth& h) { WriteHealthJsonMembers(w, h, /*probes_and_quota=*/false); }

// Defined with `models auth usage` below.
std::string CostText(const UsageCounts& c);
void CountsJson(JsonWriter& w, const UsageCounts& c, std::string_view window = {});

// "; last 1d: 3 calls, $0.0140": what a profile used in the last day, for `models auth list`.
std::string DayUsageText(const UsageCounts& c) {
  return absl::StrCat("; last 1d: ", c.calls, c.calls == 1 ? " call, " : " calls, ", CostText(c));
}

}  // namespace

int RunAuthList(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth list";
  if (int rc = ParseVerb(args, verb, kListHelp, {"--provider"}, {"--json"}); rc >= 0) return rc;
  if (!args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  auto l = Load(common);
  if (!l.ok()) return Fail(l.status());
  const int64_t now = l->engine->NowMs();
  const std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (args.Has("--json")) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("agentId");
    Str(w, l->agent);
    w.Key("authStatePath");
    Str(w, l->store->path());
    w.Key("profiles");
    w.StartArray();
    for (const auto& c : l->store->profiles()) {
      if (!OfProvider(c, provider)) continue;
      StartProfileJson(w, c);
      w.Key("type");
      Str(w, c.type);
      w.Key("secret");
      Str(w, Masked(c, l->engine->config().masking()));
      w.Key("expires");
      if (c.expires) Str(w, FormatUtc(*c.expires));
      else w.Null();
      HealthJson(w, HealthOf(c, *l->store, now));
      w.Key("usage");  // the last day's, as GET /v1/profiles; `models auth usage` has every window
      CountsJson(w, InWindow(l->store->UsageRef(c.id).usage, UsageWindow::k1d, now), UsageWindowName(UsageWindow::k1d));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return kExitOk;
  }
  std::cout << "Agent: " << l->agent << "\nAuth store: " << Engine::DisplayPath(l->store->path()) << "\n";
  int shown = 0;
  for (const auto& c : l->store->profiles()) {
    if (!OfProvider(c, provider)) continue;
    ++shown;
    std::cout << "- " << c.id << " (" << c.provider << ", " << c.type << ") " << Masked(c, l->engine->config().masking())
              << (c.expires ? (*c.expires <= now ? " expired " : " expires ") + FormatUtc(*c.expires) : std::string())
              << ": " << HealthOf(c, *l->store, now).Text()
              << DayUsageText(InWindow(l->store->UsageRef(c.id).usage, UsageWindow::k1d, now)) << "\n";
  }
  if (shown == 0)
    std::cout << "No saved profiles" << (provider.empty() ? "" : " for " + provider)
              << ". Store one with: modelpin models auth paste-api-key --provider "
              << (provider.empty() ? "P" : provider) << "\n";
  return kExitOk;
}

int RunAuthRemove(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth remove";
  if (int rc = ParseVerb(args, verb, kRemoveHelp, {}, {}); rc >= 0) return rc;
  if (args.positional().size() != 1) return Usage(verb, "expected one profile ID");
  const std::string id(text::Trim(args.positional()[0]));
  auto l = Load(common);
  if (!l.ok()) return Fail(l.status());
  absl::Status st = UpdateOwnStore(*l->engine, l->agent, [&](AuthStore& s) -> absl::Status {
    if (!s.RemoveProfile(id))
      return absl::NotFoundError(absl::StrCat("Auth profile \"", id, "\" not found in ", AgentDir(common, l->agent),
                                              ". Run modelpin models auth list to see saved profiles."));
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(st);
  std::cout << "Removed " << id << " from " << Engine::DisplayPath(l->engine->OwnAuthStorePath(l->agent)) << "\n";
  return kExitOk;
}

int RunAuthCooldowns(std::vector<std::string> argv) {
  Common common;
  bool clear = !argv.empty() && argv[0] == "clear";
  if (clear) argv.erase(argv.begin());
  Args args(std::move(argv), &common);
  const std::string verb = clear ? "models auth cooldowns clear" : "models auth cooldowns";
  if (int rc = ParseVerb(args, verb, kCooldownsHelp, {"--provider"}, clear ? std::vector<std::string>{} : std::vector<std::string>{"--json"});
      rc >= 0)
    return rc;
  const std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (args.Has("--provider") && provider.empty()) return Usage(verb, "--provider is empty");
  if (!clear && !args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  if (clear && args.positional().size() > 1) return Usage(verb, "expected at most one profile ID");
  if (clear && !args.positional().empty() && !provider.empty()) return Usage(verb, "give an ID or --provider, not both");
  auto l = Load(common);
  if (!l.ok()) return Fail(l.status());
  const int64_t now = l->engine->NowMs();

  if (clear) {
    const std::string id = args.positional().empty() ? "" : std::string(text::Trim(args.positional()[0]));
    auto cleared = ClearCooldowns(*l->engine, l->agent, id, provider, AgentDir(common, l->agent));
    if (!cleared.ok()) return Fail(cleared.status());
    if (cleared->empty()) std::cout << "Nothing to clear.\n";
    else std::cout << "Cleared cooldowns and error counts of " << absl::StrJoin(*cleared, ", ") << ".\n";
    return kExitOk;
  }

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  int shown = 0;
  for (const auto& c : l->store->profiles()) {
    if (!OfProvider(c, provider)) continue;
    const UsageStats& u = l->store->Usage(c.id);
    std::vector<std::pair<std::string, ProfileHealth>> rows;  // (model or "", health)
    ProfileHealth whole = DescribeHealth(u, "", now);
    if (whole.state == ProfileHealth::State::kCooldown || whole.state == ProfileHealth::State::kDisabled)
      rows.emplace_back("", whole);
    for (const auto& [model, until] : u.model_cooldowns)
      if (until > now) rows.emplace_back(model, DescribeHealth(u, model, now));
    for (const auto& [model, h] : rows) {
      ++shown;
      if (args.Has("--json")) {
        StartProfileJson(w, c);
        w.Key("model");
        StrOrNull(w, model);
        HealthJson(w, h);
        w.EndObject();
      } else {
        std::cout << "- " << c.id << ": " << h.Text() << " (" << FormatRemaining(h.until - now) << " left)\n";
      }
    }
  }
  w.EndArray();
  if (args.Has("--json")) std::cout << buf.GetString() << "\n";
  else if (shown == 0) std::cout << "No profile is cooling down or disabled.\n";
  return kExitOk;
}

// ---- usage -------------------------------------------------------------------------------------

namespace {

constexpr const char* kUsageHelp = R"(usage: modelpin models auth usage [--provider P] [--window 5h|1d|7d|30d] [--json] [--agent ID] [--config FILE] [--state DIR]

What each saved profile's reported calls used: calls, failures, input/output/cache tokens and
cost in USD from the catalog's prices ("unknown" for calls of a model without a price, never 0),
in a rolling window (default 1d; --json: every window unless --window) and in total, and the
budget that stops a profile now, if any (docs/usage-and-budgets.md).
--json: {agentId, profiles: [{id, provider, windows: {"1d": {...}}, total: {...}, budget}]}.
)";

// "$0.0123", "unknown", or "$0.0123 + unknown (2 unpriced calls)".
std::string CostText(const UsageCounts& c) {
  std::string known = absl::StrCat("$", absl::StrFormat("%.4f", c.cost_usd));
  if (c.CostKnown()) return known;
  std::string unknown = absl::StrCat("unknown (", c.unpriced, c.unpriced == 1 ? " unpriced call)" : " unpriced calls)");
  return c.cost_usd > 0 ? known + " + " + unknown : unknown;
}

void CountsJson(JsonWriter& w, const UsageCounts& c, std::string_view window) { WriteUsageCountsJson(w, c, window); }

}  // namespace

int RunAuthUsage(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth usage";
  if (int rc = ParseVerb(args, verb, kUsageHelp, {"--provider", "--window"}, {"--json"}); rc >= 0) return rc;
  if (!args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::optional<UsageWindow> only;
  if (args.Has("--window")) {
    only = ParseUsageWindow(text::Trim(args.Value("--window")));
    if (!only) return Usage(verb, "--window must be 5h, 1d, 7d or 30d");
  }
  const std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  auto l = Load(common);
  if (!l.ok()) return Fail(l.status());
  const int64_t now = l->engine->NowMs();
  if (args.Has("--json")) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    WriteUsageReportJson(w, l->agent, *l->store, now, [&](const Credential& c) { return OfProvider(c, provider); },
                         {only, /*failure_counts=*/true});
    std::cout << buf.GetString() << "\n";
    return kExitOk;
  }
  const UsageWindow win = only.value_or(UsageWindow::k1d);
  std::cout << "Agent: " << l->agent << "\nWindow: " << UsageWindowName(win) << "\n";
  int shown = 0;
  for (const auto& c : l->store->profiles()) {
    if (!OfProvider(c, provider)) continue;
    ++shown;
    const UsageStats& u = l->store->Usage(c.id);
    UsageCounts n = InWindow(u.usage, win, now);
    std::cout << "- " << c.id << ": " << n.calls << (n.calls == 1 ? " call" : " calls");
    if (n.failures) std::cout << " (" << n.failures << " failed)";
    std::cout << ", tokens " << n.tokens.input << " in / " << n.tokens.output << " out / " << n.tokens.cache_read
              << " cache read / " << n.tokens.cache_write << " cache write, cost " << CostText(n) << "; total "
              << u.usage.total.calls << (u.usage.total.calls == 1 ? " call, " : " calls, ") << CostText(u.usage.total);
    if (u.budget_until > now)
      std::cout << "; over budget (" << u.budget_reason << ") until " << FormatUtc(u.budget_until);
    std::cout << "\n";
  }
  if (shown == 0) std::cout << "No saved profiles" << (provider.empty() ? "" : " for " + provider) << ".\n";
  return kExitOk;
}

// ---- setup-token -------------------------------------------------------------------------------

namespace {

// The executable `name` on $PATH, or "".
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string_view rest = path;
  while (true) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    // Built in place: g++ 12 -O3 reports a false -Wrestrict on `dir = "."` then `dir + "/"`.
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

// Runs `argv` on a new pseudo-terminal, relaying it to and from this terminal (so an
// interactive program behaves as on a terminal), and returns everything it printed.
absl::StatusOr<std::string> RunOnPty(const std::vector<std::string>& argv) {
  winsize ws{};
  ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, ws.ws_row ? &ws : nullptr);
  if (pid < 0) return absl::InternalError(absl::StrCat("cannot open a pseudo-terminal: ", std::strerror(errno)));
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  termios saved{};
  bool raw = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  std::string captured;
  char buf[4096];
  bool stdin_open = true;
  while (true) {
    pollfd fds[2] = {{master, POLLIN, 0}, {STDIN_FILENO, static_cast<short>(stdin_open ? POLLIN : 0), 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO: the program closed its terminal
      captured.append(buf, static_cast<size_t>(n));
      if (::write(STDOUT_FILENO, buf, static_cast<size_t>(n)) < 0) {
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) stdin_open = false;
      else if (::write(master, buf, static_cast<size_t>(n)) < 0) {
      }
    }
  }
  if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return absl::AbortedError(absl::StrCat(argv[0], " ", argv[1], " did not finish (exit status ",
                                           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ")"));
  return captured;
}

// The last Claude setup token (sk-ant-oat01-...) in a program's output; escape sequences are
// skipped.
std::string FindSetupToken(std::string_view out) {
  std::string plain;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\x1b' && i + 1 < out.size() && out[i + 1] == '[') {
      i += 2;
      while (i < out.size() && !(out[i] >= 0x40 && out[i] <= 0x7e)) ++i;
      continue;
    }
    plain += out[i];
  }
  std::string token;
  for (size_t at = plain.find("sk-ant-oat01-"); at != std::string::npos; at = plain.find("sk-ant-oat01-", at + 1)) {
    size_t end = at;
    while (end < plain.size() && (std::isalnum(static_cast<unsigned char>(plain[end])) || plain[end] == '-' || plain[end] == '_'))
      ++end;
    token = plain.substr(at, end - at);
  }
  return token;
}

}  // namespace

int RunSetupToken(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth setup-token";
  if (int rc = ParseVerb(args, verb, kSetupTokenHelp, {"--provider", "--profile-id", "--expires-in"}, {}); rc >= 0)
    return rc;
  if (!args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (provider.empty()) return MissingProvider();
  if (provider != "anthropic")
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "setup-token knows anthropic only (claude setup-token); for ", provider,
        " store a token with: modelpin models auth paste-token --provider ", provider)));
  std::optional<int64_t> lifetime;
  if (args.Has("--expires-in")) {
    lifetime = ParseDurationMs(args.Value("--expires-in"));
    if (!lifetime) return Usage(verb, "bad --expires-in \"" + args.Value("--expires-in") + "\" (e.g. 30m, 12h, 365d)");
  }
  std::string id(text::Trim(args.Value("--profile-id")));
  if (args.Has("--profile-id") && id.empty()) return Usage(verb, "--profile-id is empty");
  if (id.empty()) id = DefaultProfileId(provider);
  const std::string alternative =
      "run `claude setup-token` where it can, then store its token with: modelpin models auth paste-token "
      "--provider anthropic";
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO))
    return Fail(absl::FailedPreconditionError("setup-token needs an interactive terminal (claude setup-token asks "
                                              "you to sign in); without one, " + alternative));
  std::string claude = FindOnPath("claude");
  if (claude.empty())
    return Fail(absl::NotFoundError("claude (Claude Code's CLI) is not on PATH; install it, or " + alternative));

  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  auto agent = KnownAgent(**engine, common.agent);
  if (!agent.ok()) return Fail(agent.status());

  auto out = RunOnPty({claude, "setup-token"});
  if (!out.ok()) return Fail(out.status());
  std::string token = FindSetupToken(*out);
  if (token.empty())
    return Fail(absl::NotFoundError("claude setup-token printed no token (sk-ant-oat01-...); " + alternative));
  if (std::string bad = BadSecret(token, "token"); !bad.empty()) return Fail(absl::InvalidArgumentError(bad));
  Credential c;
  c.id = id;
  c.type = "token";
  c.provider = provider;
  c.secret = token;
  if (lifetime) c.expires = (*engine)->NowMs() + *lifetime;
  std::cout << "\n";
  return SaveCredential(**engine, *agent, c);
}

}  // namespace modelpin::cli
