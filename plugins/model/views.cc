#include <modelpin/plugins/model/views.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/text.h>
#include <modelpin/engine/models/provider_tables.h>
#include <modelpin/engine/models/thinking.h>

namespace modelpin::model_plugin {
namespace {

constexpr const char* kAnthropicNotice =
    "Anthropic models can use the API or Claude CLI. Check each model's route label and selected account: API-key "
    "usage is billed separately from a Claude subscription.";
constexpr const char* kClaudeCliNotice =
    "Claude CLI runs through Claude Code using its native login or a selected saved account. An explicitly selected "
    "API-key account has separate API billing; CLI does not mean free or subscription-only.";

std::string Notice(const std::string& provider) {
  if (provider == "anthropic") return kAnthropicNotice;
  if (provider == "claude-cli") return kClaudeCliNotice;
  return "";
}

// How OpenClaw names a row that cannot be used, and what it tells the user to do.
const char* UnavailableLabel(Availability a) {
  return a == Availability::kMissingAuth ? "Sign-in needed" : "Sign-in failed";
}

std::string Recovery(Availability a, const std::string& provider) {
  // OpenClaw has no /login for claude-cli: it points at its custom-provider guide.
  if (provider == "claude-cli")
    return "Set up this connection with the custom-provider guide: "
           "https://docs.openclaw.ai/concepts/model-providers/custom-providers";
  if (a == Availability::kMissingAuth) return absl::StrCat("Connect with /login ", provider, ".");
  return absl::StrCat("Sign in again with /login ", provider, ".");
}

// Whether anything in config or store speaks of credentials for `auth_provider` ("auth
// evidence": an auth.order key, even an empty one, a configured profile or a stored one).
bool HasAuthEvidence(const TurnContext& ctx, const std::string& auth_provider) {
  if (ctx.config.AuthOrder(auth_provider) != nullptr) return true;
  for (const auto& p : ctx.config.auth_profiles())
    if (SameAuthProvider(p.provider, auth_provider)) return true;
  for (const auto& c : ctx.auth.profiles())
    if (SameAuthProvider(c.provider, auth_provider)) return true;
  return false;
}

// The session's profile provider, which scopes its auth pin to one provider family:
// providerOverride, else the provider of the pinned profile ("" when neither is set).
std::string_view SessionProfileProvider(const TurnContext& ctx) {
  const SessionState& s = ctx.session;
  if (s.provider_override) return *s.provider_override;
  if (s.auth_profile_override) return ProfileProvider(*s.auth_profile_override, ctx.config, ctx.auth);
  return {};
}

// The note in parentheses after a /models row: its route ("API", "Claude CLI") when the row's
// runtime is known, its availability when it cannot be used, else its display name when the
// route adds nothing. "" for none.
std::string RowNote(const TurnContext& ctx, const ModelRef& ref, Availability availability) {
  const CatalogRow* row = FindRow(ctx, ref);
  std::optional<std::string> n0;
  if (row && !row->name.empty() && row->name != ref.model) n0 = row->name;
  // The session's runtime pin applies to anthropic-family rows of the family it was set in; the
  // agent's default model (its own primary, else agents.defaults) is evaluated without it.
  std::string_view runtime;
  const SessionState& s = ctx.session;
  if ((ref.provider == "anthropic" || ref.provider == "claude-cli") && s.agent_runtime_override &&
      !(ref == ctx.agent.default_ref)) {
    std::string_view pp = SessionProfileProvider(ctx);
    if (!pp.empty() && SameAuthProvider(pp, ref.provider)) runtime = *s.agent_runtime_override;
  }
  const char* route = nullptr;
  if (runtime == "claude-cli" || (ref.provider == "claude-cli" && runtime.empty())) route = "Claude CLI";
  else if (ref.provider == "anthropic" && runtime == "openclaw") route = "API";
  std::optional<std::string> n1 = n0;
  if (route) n1 = absl::StrCat(route, " · ", n0 ? *n0 : ref.model);
  std::optional<std::string> n2 = n1;
  if (availability != Availability::kAvailable)
    n2 = absl::StrCat(UnavailableLabel(availability), " — ", n1 ? *n1 : ref.model);
  if (!n2 || n2 == n0) return "";
  return absl::StrCat(" (", *n2, ")");
}

// Rows of /model status, in display order.
std::vector<ModelRef> StatusRows(const TurnContext& ctx) {
  const ModelResolver& r = ctx.resolver;
  const AgentView& agent = ctx.agent;
  std::vector<ModelRef> rows;
  auto add = [&](const ModelRef& ref) {
    if (std::find(rows.begin(), rows.end(), ref) == rows.end()) rows.push_back(ref);
  };
  for (const auto& row : r.catalog())
    if (r.Permitted(row.ref)) add(row.ref);
  for (const auto& rule : r.policy_rules())
    if (!rule.wildcard) add(rule.ref);
  add(agent.default_ref);
  for (const auto& f : agent.fallbacks) add(f);
  for (const auto& m : agent.image_models) add(m);
  for (const auto& m : agent.models) add(m.ref);
  rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const ModelRef& ref) { return !r.Permitted(ref); }),
             rows.end());
  return rows;
}

}  // namespace

const CatalogRow* FindRow(const TurnContext& ctx, const ModelRef& ref) {
  for (const auto& row : ctx.resolver.catalog())
    if (row.ref == ref) return &row;
  return nullptr;
}

Availability AuthAvailability(const TurnContext& ctx, const std::string& provider, std::string_view profile_provider,
                              const std::optional<std::string>& pin, bool pin_is_user) {
  const std::string auth_provider = AuthProvider(provider);
  // A pin belongs to the provider family the session chose it in.
  bool pin_applies = pin && (profile_provider.empty() || SameAuthProvider(profile_provider, provider));
  if (pin_applies && pin_is_user) {
    // A user pin is the one credential the session may use: if it cannot authenticate the
    // provider, nothing else is tried.
    const Credential* c = ctx.auth.Find(*pin);
    if (c == nullptr || !IsEligible(*c, auth_provider, ctx.config, ctx.now_ms, nullptr)) return Availability::kAuthFailed;
    return Availability::kAvailable;
  }
  if (!ctx.OrderFor(auth_provider).ids.empty()) return Availability::kAvailable;
  if (ctx.env && ctx.env->For(provider) != nullptr) return Availability::kAvailable;
  return HasAuthEvidence(ctx, auth_provider) ? Availability::kAuthFailed : Availability::kMissingAuth;
}

Availability RowAvailability(const TurnContext& ctx, const std::string& provider) {
  const SessionState& s = ctx.session;
  return AuthAvailability(ctx, provider, SessionProfileProvider(ctx), s.auth_profile_override,
                          s.auth_profile_override_source.value_or("") == "user");
}

std::string ThinkingLevel(const TurnContext& ctx) {
  ThinkingProfile profile = ThinkingProfileFor(ctx.resolver.catalog(), ctx.CurrentModel());
  return profile.Supported(ctx.session.thinking_level.value_or(profile.start_level));
}

bool ProviderKnown(const TurnContext& ctx, const std::string& provider) {
  if (ctx.config.Provider(provider)) return true;
  for (const auto& row : ctx.resolver.catalog())
    if (row.ref.provider == provider) return true;
  return IsBundledProvider(provider);
}

// "14:05 UTC" on the same UTC day as `now`, else "2026-12-03 14:05 UTC".
std::string UntilText(int64_t until, int64_t now) {
  std::string u = HistoryTime(until), n = HistoryTime(now);
  return u.compare(0, 10, n, 0, 10) == 0 ? u.substr(11) : u;
}

// What is left of a scoped pin, in words: "for the next message only", "for the next 3
// messages", "until 14:05 UTC (85m left)".
std::string ScopeLeftText(const PinScope& sc, int64_t now) {
  if (sc.kind == PinScope::Kind::kFor)
    return absl::StrCat("until ", UntilText(sc.until_ms, now), " (", FormatRemaining(sc.until_ms - now), " left)");
  if (sc.turns_left <= 1) return "for the next message only";
  return absl::StrCat("for the next ", sc.turns_left, " messages");
}

// "anthropic/claude-opus-4-5" for a session pin, "the configured default (anthropic/...)".
std::string RestoreText(const TurnContext& ctx, const PinSelection& sel) {
  std::string out = sel.provider && sel.model
                        ? absl::StrCat(*sel.provider, "/", *sel.model)
                        : absl::StrCat("the configured default (", ctx.agent.default_ref.Label(), ")");
  // A user's own profile pin comes back too; an automatic one is chosen afresh anyway.
  if (sel.profile && sel.profile_source.value_or("") == "user") absl::StrAppend(&out, " with auth profile ", *sel.profile);
  return out;
}


// "\nPinned: for the next 2 messages, then back to ..." while a scoped pin is active, else "".
std::string PinnedLine(const TurnContext& ctx) {
  const ModelpinSessionData* m = ctx.session.modelpin.get();
  if (!m || !m->scope) return "";
  return absl::StrCat("\nPinned: ", ScopeLeftText(*m->scope, ctx.now_ms), ", then back to ",
                      RestoreText(ctx, *m->scope->restore));
}

std::string SummaryText(const TurnContext& ctx) {
  return absl::StrCat("Current: ", ctx.CurrentModel().Label(), PinnedLine(ctx), "\nThink: ", ThinkingLevel(ctx),
                      " (change with /think <level>)\n"
                      "Session: /model <provider/model> -s\n"
                      "Agent default: /model <provider/model> -a\n"
                      "Global default: /model <provider/model> -g\n"
                      "Runtime: /model <provider/model> --runtime <runtime> -s\n"
                      "Browse: /models (providers) or /models <provider> (models)\n"
                      "More: /model status");
}

std::string AuthLabel(const TurnContext& ctx, const std::string& provider) {
  AuthOrder order = ctx.OrderFor(provider);
  if (order.ids.empty()) {
    // OpenClaw's fallback: the provider's environment key, masked, with the variable's name.
    if (const EnvCredential* c = ctx.env ? ctx.env->For(provider) : nullptr)
      return absl::StrCat(MaskedCredential(*c, ctx.config.masking()), " (", c->variable, ")");
    return "missing";
  }
  // OpenClaw marks the first profile of the configured order even when this session's pin will
  // be used instead (docs/strict-mode.md); strict mode shows the session's pin first.
  const auto& pin = ctx.session.auth_profile_override;
  if (ctx.strict && pin && AuthProvider(ctx.CurrentModel().provider) == AuthProvider(provider)) {
    auto it = std::find(order.ids.begin(), order.ids.end(), *pin);
    if (it != order.ids.end()) std::rotate(order.ids.begin(), it, it + 1);
  }
  std::vector<std::string> entries;
  const std::string* last_good = ctx.auth.LastGood(AuthProvider(provider));
  for (size_t i = 0; i < order.ids.size(); ++i) {
    const std::string& id = order.ids[i];
    const Credential* c = ctx.auth.Find(id);
    std::string cred = MaskedCredential(*c, ctx.config.masking());
    std::vector<std::string> flags;
    if (i == 0) flags.push_back("next");
    if (last_good && *last_good == id) flags.push_back("lastGood");
    UsageStats u = ctx.auth.Usage(id);
    int64_t cool = std::max(u.cooldown_until, u.disabled_until);
    if (cool > ctx.now_ms) flags.push_back("cooldown " + FormatRemaining(cool - ctx.now_ms));
    if (c->type != "api_key" && c->expires) {
      // OpenClaw's flag carries a leading space, printing "(next,  exp 12h)"; kept for fidelity.
      std::string exp = ctx.strict ? "exp " : " exp ";  // strict: no stray space (docs/strict-mode.md)
      flags.push_back(*c->expires <= ctx.now_ms ? "expired" : exp + FormatRemaining(*c->expires - ctx.now_ms));
    }
    entries.push_back(flags.empty() ? absl::StrCat(id, "=", cred)
                                    : absl::StrCat(id, "=", cred, " (", absl::StrJoin(flags, ", "), ")"));
  }
  return absl::StrCat(absl::StrJoin(entries, ", "), " (auth profile store: ", ctx.auth_store_label, ")");
}

std::string AccessRefusal(std::string_view profile, std::string_view sender) {
  return absl::StrCat("Auth profile \"", text::EchoSafe(profile), "\" may be pinned only by owners and the senders ",
                      "listed in modelpin.profileAccess.\"", text::EchoSafe(profile), "\".allowFrom",
                      sender.empty() ? "" : absl::StrCat(" (not ", text::EchoSafe(sender), ")"),
                      ". Nothing was changed.");
}

namespace {

// `/model status` names the restricted profiles of the providers it shows, and whether this
// sender may pin each: "Access: anthropic:work pinned by owners and alice@example.org only (not
// you)". Nothing when the config restricts none, so replies stay OpenClaw's.
std::string AccessText(const TurnContext& ctx, const std::vector<std::string>& providers) {
  std::string out;
  for (const auto& provider : providers)
    for (const Credential& c : ctx.auth.profiles()) {
      if (!SameAuthProvider(c.provider, provider)) continue;
      const std::string& id = c.id;
      const Config::ProfileAccess* access = ctx.config.ProfileAccessFor(id);
      if (access == nullptr) continue;
      bool may = ctx.config.MayPinProfile(id, ctx.sender, ctx.sender_is_owner);
      absl::StrAppend(&out, "\nAccess: ", id, " pinned by owners",
                      access->allow_from.empty() ? "" : " and " + absl::StrJoin(access->allow_from, ", "), " only (",
                      may ? "you may" : "not you", ")");
    }
  return out;
}

}  // namespace

std::string StatusText(const TurnContext& ctx) {
  std::string out = absl::StrCat("Current: ", ctx.CurrentModel().Label(), PinnedLine(ctx), "\nDefault: ", ctx.agent.default_ref.Label());
  // Only when a routing rule matched, so replies without rules stay OpenClaw's.
  if (ctx.rule) absl::StrAppend(&out, "\nRule: ", ctx.rule->name, " (", ctx.rule->MatchText(), ")");
  absl::StrAppend(&out, "\nAgent: ", ctx.agent_id, "\nAuth store: ", ctx.auth_store_label);
  std::vector<std::string> providers;
  std::map<std::string, std::vector<ModelRef>> by_provider;
  for (const auto& ref : StatusRows(ctx)) {
    if (!by_provider.count(ref.provider)) providers.push_back(ref.provider);
    by_provider[ref.provider].push_back(ref);
  }
  for (const auto& p : providers) {
    const ProviderConfig* pc = ctx.config.Provider(p);
    std::string endpoint = pc && !pc->base_url.empty() ? pc->base_url : "default";
    std::string api = pc && !pc->api.empty() ? " api: " + pc->api : "";
    absl::StrAppend(&out, "\n\n[", p, "] endpoint: ", endpoint, api, " auth: ", AuthLabel(ctx, p));
    for (const auto& ref : by_provider[p]) {
      std::string alias = ctx.resolver.AliasOfKey(ref.Label());
      absl::StrAppend(&out, "\n  • ", ref.Label(), alias.empty() ? "" : " (" + alias + ")");
    }
  }
  absl::StrAppend(&out, AccessText(ctx, providers));
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> BrowseSet(const TurnContext& ctx, bool all) {
  const ModelResolver& r = ctx.resolver;
  std::map<std::string, std::set<std::string>> set;
  std::map<std::string, Availability> availability;  // per provider: it does not depend on the model
  auto usable = [&](const std::string& provider) {
    auto it = availability.find(provider);
    if (it == availability.end()) it = availability.emplace(provider, RowAvailability(ctx, provider)).first;
    return it->second == Availability::kAvailable;
  };
  // Without "all": the catalog rows the policy allows, this session can use, and OpenClaw does
  // not mark deprecated. "all" lists the whole catalog, past the policy.
  for (const auto& row : r.catalog())
    if (all || (r.Permitted(row.ref) && !row.deprecated && usable(row.ref.provider)))
      set[row.ref.provider].insert(row.ref.model);
  for (const auto& rule : r.policy_rules())
    if (!rule.wildcard) set[rule.ref.provider].insert(rule.ref.model);
  set[ctx.agent.default_ref.provider].insert(ctx.agent.default_ref.model);
  const AgentView& defaults = ctx.config.Agent("");
  set[defaults.default_ref.provider].insert(defaults.default_ref.model);
  for (const auto& f : ctx.agent.fallbacks) set[f.provider].insert(f.model);
  for (const auto& m : ctx.agent.image_models) set[m.provider].insert(m.model);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (auto& [p, ids] : set) out.emplace_back(p, std::vector<std::string>(ids.begin(), ids.end()));
  return out;
}

namespace {

// A provider's notices: its route notice, then the reason its listed rows cannot be used, if they
// cannot (a provider's rows share one availability; pass kAvailable when none is listed).
std::vector<std::string> ProviderNotices(const std::string& provider, Availability listed) {
  std::vector<std::string> notices;
  if (std::string n = Notice(provider); !n.empty()) notices.push_back(std::move(n));
  if (listed != Availability::kAvailable)
    notices.push_back(absl::StrCat(provider, ": ", UnavailableLabel(listed), ". ", Recovery(listed, provider)));
  return notices;
}

}  // namespace

std::string ProvidersText(const TurnContext& ctx) {
  auto browse = BrowseSet(ctx, false);
  std::string out = "Providers:";
  std::vector<std::string> notices;
  for (const auto& [p, ids] : browse) {
    absl::StrAppend(&out, "\n- ", p, " (", ids.size(), ")");
    for (auto& n : ProviderNotices(p, RowAvailability(ctx, p))) notices.push_back(std::move(n));
  }
  absl::StrAppend(&out, "\n\nUse: /models <provider>\nSwitch: /model <provider/model>");
  if (!notices.empty()) absl::StrAppend(&out, "\n\n", absl::StrJoin(notices, "\n"));
  return out;
}

Reply ModelsCommandReply(const grammar::ModelsCommand& cmd, const TurnContext& ctx) {
  using Kind = grammar::ModelsCommand::Kind;
  if (cmd.kind == Kind::kAdd)
    return {"⚠️ /models add is deprecated. Use /models to browse providers and /model to switch models.", false};
  if (cmd.provider.empty()) return {ProvidersText(ctx), false};
  auto browse = BrowseSet(ctx, cmd.all);
  const std::vector<std::string>* ids = nullptr;
  for (const auto& [p, list] : browse)
    if (p == cmd.provider) ids = &list;
  if (ids == nullptr) {
    std::string out = absl::StrCat("Unknown provider: ", text::EchoSafe(cmd.provider), "\n\nAvailable providers:");
    for (const auto& [p, list] : browse) absl::StrAppend(&out, "\n- ", p);
    absl::StrAppend(&out, "\n\nUse: /models <provider>");
    return {out, false};
  }
  int total = static_cast<int>(ids->size());
  int size = cmd.all ? std::max(total, 1) : cmd.page_size;
  int pages = std::max(1, (total + size - 1) / size);
  int page = cmd.all ? 1 : cmd.page;
  if (page > pages) {
    return {absl::StrCat("Page out of range: ", page, " (valid: 1-", pages, ")\n\nTry: /models list ", cmd.provider, " ",
                         pages, "\nAll: /models list ", cmd.provider, " all"),
            false};
  }
  // The credential the header names: the session's pin, then the provider's order; the first
  // stored profile of the provider's family, usable or not (OpenClaw shows what it would try).
  std::string auth;
  std::vector<std::string> candidates;
  if (ctx.session.auth_profile_override) candidates.push_back(*ctx.session.auth_profile_override);
  for (const auto& id : ctx.OrderFor(cmd.provider).ids) candidates.push_back(id);
  for (const auto& id : candidates) {
    const Credential* c = ctx.auth.Find(id);
    if (c == nullptr || !SameAuthProvider(c->provider, cmd.provider)) continue;
    std::string kind = c->type == "api_key" ? "api-key" : c->type;
    auth = absl::StrCat(" · 🔑 ", kind, " (", id, ")");
    break;
  }
  // Claude CLI can always fall back to Claude Code's own login.
  if (auth.empty() && cmd.provider == "claude-cli") auth = " · 🔑 native (claude-cli)";
  const Availability availability = RowAvailability(ctx, cmd.provider);
  int first = (page - 1) * size;
  int last = std::min(total, first + size);
  std::string out = absl::StrCat("Models (", cmd.provider, auth, ") — showing ", first + 1, "-", last, " of ", total,
                                 " (page ", page, "/", pages, ")");
  for (int i = first; i < last; ++i) {
    ModelRef ref{cmd.provider, (*ids)[static_cast<size_t>(i)]};
    absl::StrAppend(&out, "\n- ", ref.Label(), RowNote(ctx, ref, availability));
  }
  absl::StrAppend(&out, "\n\nSwitch: /model <provider/model>");
  if (!cmd.all) {
    if (page < pages) absl::StrAppend(&out, "\nMore: /models list ", cmd.provider, " ", page + 1);
    absl::StrAppend(&out, "\nAll: /models list ", cmd.provider, " all");
  }
  auto notices = ProviderNotices(cmd.provider, last > first ? availability : Availability::kAvailable);
  if (!notices.empty()) absl::StrAppend(&out, "\n\n", absl::StrJoin(notices, "\n"));
  return {out, false};
}

}  // namespace modelpin::model_plugin
