#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/json_file.h>
#include <modelpin/cli/cli.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/sessions/redis_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/plugins/model/views.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kDoctorHelp = R"(usage: modelpin doctor [--agent ID] [--json] [--config FILE] [--state DIR]
                       [--plugin PATH]...

Checks what a person would check by hand, and says what to do about each finding:
  - the config parses (a key under "modelpin" it does not know is an error); keys elsewhere
    that modelpin does not read (OpenClaw's own) are listed as ignored
  - the default model, fallbacks, aliases and allowlist entries resolve
  - each auth store parses, is private (mode 0600), and every profile has its secret
  - profiles named in auth.order or a stored order exist and belong to that provider
  - expired and expiring (24 h) tokens
  - providers of configured models that have no credential at all
  - the session store: it opens (a shared one answers), can be written, has room on its
    disk, passes SQLite's PRAGMA quick_check, and every session in it reads
  - a redis-sentinel:// store: the primary, its replicas, and whether the sentinels agree
  - <state>/.env parses and is private

Exit status: 0 clean, 1 errors, 2 warnings only.
)";

enum class Level { kOk, kWarning, kError };

struct Finding {
  Level level;
  std::string what;
  std::string fix;  // what to do; "" when nothing
};

const char* Name(Level l) { return l == Level::kOk ? "ok" : l == Level::kWarning ? "warning" : "error"; }

class Doctor {
 public:
  Doctor(const Common& common, std::string agent) : common_(common), agent_(std::move(agent)) {}

  void Run() {
    auto config = LoadConfig(common_);
    if (!config.ok()) {
      Add(Level::kError, std::string(config.status().message()), "fix the file at the position named");
      return;
    }
    Add(Level::kOk, absl::StrCat("config ", common_.ConfigPath(), " parses"), "");
    ListIgnoredKeys(*config);
    CheckSessions(*config);
    auto engine = MakeEngine(common_, false, nullptr, {}, /*read_only=*/true);
    if (!engine.ok()) {
      Add(Level::kError, std::string(engine.status().message()), AdviceFor(engine.status()));
      return;
    }
    Engine& e = **engine;
    for (const auto& w : e.env().warnings()) Add(Level::kWarning, w, "");
    std::string agent = e.ResolveAgent(agent_);
    CheckAuthStores(e, agent);
    CheckModels(e, agent);
    CheckSentinels(e.config());
  }

  const std::vector<Finding>& findings() const { return findings_; }

 private:
  void Add(Level level, std::string what, std::string fix) { findings_.push_back({level, std::move(what), std::move(fix)}); }

  // Keys outside `modelpin` that modelpin does not read (OpenClaw's own): listed so an operator
  // sees what has no effect here (docs/configuration.md lists the keys modelpin reads).
  void ListIgnoredKeys(const Config& config) {
    constexpr size_t kShown = 40;
    const auto& keys = config.ignored_keys();
    for (size_t i = 0; i < keys.size() && i < kShown; ++i)
      Add(Level::kOk, absl::StrCat("ignored: ", keys[i], " (modelpin does not read it)"), "");
    if (keys.size() > kShown)
      Add(Level::kOk, absl::StrCat("ignored: ", keys.size() - kShown, " more keys modelpin does not read"), "");
  }

  void CheckAuthStores(Engine& e, const std::string& agent) {
    std::string path = e.EffectiveAuthStorePath(agent);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      Add(Level::kWarning, absl::StrCat("no auth store at ", path),
          absl::StrCat("store a credential: modelpin models auth paste-api-key --provider <provider>"));
      return;
    }
    auto store = AuthStore::Load(path);
    if (!store.ok()) {
      Add(Level::kError, std::string(store.status().message()), "fix the file at the position named");
      return;
    }
    if (st.st_mode & 077)
      Add(Level::kWarning, absl::StrFormat("%s is readable by group or others (mode %03o)", path, st.st_mode & 0777),
          absl::StrCat("chmod 600 ", path));
    else
      Add(Level::kOk, absl::StrCat("auth store ", path, " parses and is private"), "");
    int64_t now = e.NowMs();
    const Config& config = e.config();
    for (const auto& c : store->profiles()) {
      if (c.secret.empty() && !c.has_secret_ref)
        Add(Level::kError, absl::StrCat("profile ", c.id, " has no secret"),
            absl::StrCat("store it again: modelpin models auth paste-", c.type == "api_key" ? "api-key" : "token",
                         " --provider ", c.provider, " --profile-id ", c.id));
      // Disabled by the rotation rules for a reason a person must fix (a 401, a billing failure).
      if (UsageStats u = store->Usage(c.id); u.disabled_until > now && !u.disabled_reason.empty()) {
        bool billing = u.disabled_reason == "billing";
        Add(billing ? Level::kWarning : Level::kError,
            absl::StrCat("profile ", c.id, " is ", DescribeHealth(u, "", now).Text()),
            billing ? absl::StrCat("check the account's billing, then: modelpin models auth cooldowns clear ", c.id)
                    : absl::StrCat("replace the credential: modelpin models auth paste-",
                                   c.type == "api_key" ? "api-key" : "token", " --provider ", c.provider,
                                   " --profile-id ", c.id));
      }
      if (c.type != "api_key" && c.expires) {
        if (*c.expires <= now)
          Add(Level::kError, absl::StrCat("profile ", c.id, " (", c.type, ") expired ", FormatRemaining(now - *c.expires), " ago"),
              absl::StrCat("replace it: modelpin models auth paste-token --provider ", c.provider, " --profile-id ", c.id,
                           " --expires-in 365d"));
        else if (*c.expires - now <= 24 * 3'600'000)
          Add(Level::kWarning, absl::StrCat("profile ", c.id, " (", c.type, ") expires in ", FormatRemaining(*c.expires - now)),
              absl::StrCat("replace it soon: modelpin models auth paste-token --provider ", c.provider, " --profile-id ",
                           c.id));
      }
    }
    auto check_order = [&](const std::string& where, const std::string& provider, const std::vector<std::string>& ids) {
      for (const auto& id : ids) {
        const Credential* c = store->Find(id);
        if (c == nullptr)
          Add(Level::kWarning, absl::StrCat(where, " names ", id, ", which is not in ", path),
              absl::StrCat("remove it from ", where, " or store it"));
        else if (AuthProvider(c->provider) != AuthProvider(provider))
          Add(Level::kError, absl::StrCat(where, " names ", id, ", which is for ", c->provider, ", not ", provider),
              absl::StrCat("remove it from ", where));
      }
    };
    for (const auto& [provider, ids] : config.auth_order()) check_order("auth.order." + provider, provider, ids);
    std::set<std::string> providers;
    for (const auto& c : store->profiles()) providers.insert(AuthProvider(c.provider));
    for (const auto& p : providers)
      if (const auto* ids = store->Order(p)) check_order(absl::StrCat("the stored order of ", p, " (", path, ")"), p, *ids);
  }

  void CheckModels(Engine& e, const std::string& agent) {
    absl::Status st = e.Inspect(agent, "", [&](TurnContext& ctx) {
      const AgentView& view = ctx.agent;
      std::vector<std::pair<std::string, ModelRef>> refs = {{"default model", view.default_ref}};
      for (const auto& f : view.fallbacks) refs.emplace_back("fallback", f);
      for (const auto& m : view.models)
        refs.emplace_back(m.alias.empty() ? "configured model" : absl::StrCat("alias ", m.alias), m.ref);
      std::set<std::string> checked;
      for (const auto& [what, ref] : refs) {
        if (!model_plugin::ProviderKnown(ctx, ref.provider)) {
          Add(Level::kError, absl::StrCat(what, " ", ref.Label(), ": unknown provider ", ref.provider),
              absl::StrCat("configure it under models.providers.", ref.provider, " or fix the reference"));
          continue;
        }
        if (!checked.insert(AuthProvider(ref.provider)).second) continue;
        if (!ctx.OrderFor(ref.provider).ids.empty()) continue;
        if (const EnvCredential* c = ctx.env->For(ref.provider)) {
          Add(Level::kOk, absl::StrCat(ref.provider, " uses ", c->variable, " from ", c->source), "");
          continue;
        }
        std::string var = "its API key variable";
        for (const auto& row : ProviderEnvTable())
          if (row.provider == AuthProvider(ref.provider)) var = std::string(row.variables.front());
        Add(Level::kError, absl::StrCat("No credentials found for ", ref.provider, " (", what, " ", ref.Label(), ")"),
            absl::StrCat("export ", var, "=... on the host, or put it in ", common_.StateDir(),
                         "/.env for a daemon, or run: modelpin models auth paste-api-key --provider ", ref.provider));
      }
      // OpenClaw publishes its claude-cli models whenever a provider the config refers to has no
      // credential (engine/models/catalog.h); name the cause, since nothing in the config mentions them.
      if (std::any_of(ctx.resolver.catalog().begin(), ctx.resolver.catalog().end(),
                      [](const CatalogRow& row) { return row.ref.provider == "claude-cli"; }))
        Add(Level::kWarning,
            "/models also lists claude-cli models (Claude through Claude Code) because a provider the config "
            "refers to has no credentials, as OpenClaw does",
            "give that provider a credential (see the error above), or remove the references to it");
      // An exact allowlist entry should name a model that exists somewhere: a catalog row or a
      // configured model (refs collected above). resolver.known() would not do: it lists the
      // policy's own entries too.
      for (const auto& rule : ctx.resolver.policy_rules()) {
        if (rule.wildcard) continue;
        bool in_catalog = std::any_of(ctx.resolver.catalog().begin(), ctx.resolver.catalog().end(),
                                      [&](const CatalogRow& row) { return row.ref == rule.ref; });
        bool configured = std::any_of(refs.begin(), refs.end(), [&](const auto& r) { return r.second == rule.ref; });
        if (!in_catalog && !configured)
          Add(Level::kWarning, absl::StrCat(view.policy->path, " entry \"", rule.entry, "\" names ", rule.ref.Label(),
                                            ", which is neither in the catalog nor configured"),
              "check the spelling, or add the model to models.providers");
      }
    });
    if (!st.ok()) Add(Level::kError, std::string(st.message()), "");
  }

  // What to do about an error opening the engine: a store that cannot be reached is not a file
  // to fix.
  static std::string AdviceFor(const absl::Status& st) {
    if (absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st))
      return "the store is unreachable: start it (or wait for it), or check modelpin.store in the config; "
             "no file needs fixing";
    return "fix the file named";
  }

  // The session store: a shared one answers (or not), a SQLite one is examined read-only
  // (SqliteSessionStore::Examine): readable, writable, room left on its disk, PRAGMA
  // quick_check, every row a valid session entry.
  void CheckSessions(const Config& config) {
    auto redis = ConfiguredRedis(config);
    if (!redis.ok()) {
      Add(Level::kError, std::string(redis.status().message()), "fix the file at the position named");
      return;
    }
    if (*redis) {
      auto store = OpenConfiguredSessionStore(config, common_.StateDir());
      if (!store.ok()) {
        Add(Level::kError, absl::StrCat("session store: ", store.status().message()), AdviceFor(store.status()));
        return;
      }
      if (auto keys = (*store)->Keys(config.DefaultAgentId()); !keys.ok())
        Add(Level::kError, absl::StrCat("session store: ", keys.status().message()), AdviceFor(keys.status()));
      else
        Add(Level::kOk, "shared session store answers", "");
      return;
    }
    const std::string path = common_.StateDir() + "/sessions.sqlite";
    SqliteSessionStore::Examination x = SqliteSessionStore::Examine(path);
    if (!x.exists) {
      Add(Level::kOk, absl::StrCat("no session store yet (", path, " is created on first use)"), "");
      return;
    }
    if (!x.open_error.empty()) {
      const bool newer = absl::StrContains(x.open_error, "newer than this modelpin");
      Add(Level::kError, x.open_error,
          newer ? "upgrade modelpin (a newer one wrote this store)"
                : absl::StrCat("it is not a session store SQLite can read: stop the bots, move ", path,
                               " away (pins start afresh), or recover it with `sqlite3 ", path, " .recover`"));
      return;
    }
    bool clean = true;
    if (x.schema < SqliteSessionStore::kSchemaVersion)
      Add(Level::kOk, absl::StrCat("session store ", path, " has schema ", x.schema, "; the next bot or `modelpin chat` "
                                   "that opens it migrates it to schema ", SqliteSessionStore::kSchemaVersion), "");
    if (!x.read_only.empty()) {
      clean = false;
      Add(Level::kError, absl::StrCat("session store ", path, " cannot be written: ", x.read_only),
          "pins and automatic auth pins cannot be stored: remount the filesystem read-write or give this user "
          "write access to the file and its folder; keep the file, nothing in it is wrong");
    }
    constexpr int64_t kLowSpace = 1 << 20;
    if (x.free_bytes >= 0 && x.free_bytes < kLowSpace) {
      clean = false;
      Add(x.free_bytes < (64 << 10) ? Level::kError : Level::kWarning,
          absl::StrCat("the filesystem holding ", path, " is ", x.free_bytes < (64 << 10) ? "full" : "nearly full", " (",
                       x.free_bytes, " bytes free)"),
          "session changes fail until there is room: free space on that filesystem; keep the store");
    }
    if (!x.quick_check.empty() && x.quick_check != "ok") {
      clean = false;
      Add(Level::kError, absl::StrCat("session store ", path, " is damaged (PRAGMA quick_check: ", x.quick_check, ")"),
          absl::StrCat("stop the bots, then `sqlite3 ", path, " .recover | sqlite3 sessions-recovered.sqlite` and "
                       "put the recovered file in its place (or move the store away: pins start afresh)"));
    }
    for (const auto& row : x.bad_rows) {
      clean = false;
      size_t space = row.find(' '), colon = row.find(": ");
      std::string agent = row.substr(0, space), key = row.substr(space + 1, colon - space - 1);
      Add(Level::kError, absl::StrCat("session store ", path, ": session ", row),
          absl::StrCat("modelpin sessions reset ", key, " --agent ", agent, " (that session starts afresh)"));
    }
    if (x.bad_row_count > x.bad_rows.size())
      Add(Level::kError, absl::StrCat(x.bad_row_count - x.bad_rows.size(), " more unreadable sessions in ", path),
          "reset them too (modelpin sessions list names them)");
    if (clean)
      Add(Level::kOk, absl::StrCat("session store ", path, " opens, schema ", x.schema, ", ", x.rows, " rows, ",
                                   x.quick_check.empty() ? "quick_check skipped (large store)" : "quick_check ok"),
          "");
  }

  // A redis-sentinel:// store: the primary the sentinels name, its replicas, whether they agree.
  void CheckSentinels(const Config& config) {
    auto redis = ConfiguredRedis(config);
    if (!redis.ok() || !*redis || (*redis)->sentinels.empty()) return;
    auto report = ReportSentinels(**redis);
    if (!report.ok()) return Add(Level::kError, std::string(report.status().message()), "");
    for (const auto& a : report->answers)
      if (!a.error.empty()) Add(Level::kWarning, absl::StrCat("sentinel ", a.sentinel, ": ", a.error), "start it, or remove it from modelpin.store");
    if (report->primary.empty()) return Add(Level::kError, "no sentinel names a primary", "start the sentinels named in modelpin.store");
    Add(report->agree ? Level::kOk : Level::kWarning,
        report->agree ? absl::StrCat("sentinels agree: the primary of ", (*redis)->master_name, " is ", report->primary)
                      : absl::StrCat("sentinels disagree on the primary of ", (*redis)->master_name, " (most name ", report->primary, ")"),
        report->agree ? "" : "wait for the failover to finish, then run doctor again");
    if (!report->primary_error.empty()) return Add(Level::kError, absl::StrCat("primary ", report->primary, ": ", report->primary_error), "");
    Add(report->replicas.empty() && (*redis)->wait_replicas > 0 ? Level::kError : Level::kOk,
        absl::StrCat("replicas of ", report->primary, ": ", report->replicas.empty() ? "none" : absl::StrJoin(report->replicas, ", ")),
        report->replicas.empty() && (*redis)->wait_replicas > 0 ? "modelpin.storeWaitReplicas needs replicas: every change will fail" : "");
  }

  const Common& common_;
  std::string agent_;
  std::vector<Finding> findings_;
};

}  // namespace

int RunDoctor(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "doctor", kDoctorHelp, {}, {"--json"}); rc >= 0) return rc;
  if (!args.positional().empty()) return Usage("doctor", "takes no arguments");
  Doctor doctor(common, common.agent);
  doctor.Run();
  bool errors = false, warnings = false;
  for (const auto& f : doctor.findings()) {
    errors = errors || f.level == Level::kError;
    warnings = warnings || f.level == Level::kWarning;
  }
  if (args.Has("--json")) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("findings");
    w.StartArray();
    for (const auto& f : doctor.findings()) {
      w.StartObject();
      w.Key("level");
      w.String(Name(f.level));
      w.Key("what");
      w.String(f.what.c_str());
      w.Key("fix");
      w.String(f.fix.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::cout << sb.GetString() << "\n";
  } else {
    for (const auto& f : doctor.findings()) {
      std::cout << Name(f.level) << ": " << f.what << "\n";
      if (!f.fix.empty()) std::cout << "  fix: " << f.fix << "\n";
    }
    std::cout << (errors ? "doctor: errors found" : warnings ? "doctor: warnings only" : "doctor: all clear") << "\n";
  }
  return errors ? kExitError : warnings ? kExitUsage : kExitOk;
}

}  // namespace modelpin::cli
