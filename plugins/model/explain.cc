#include <modelpin/plugins/model/explain.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/plugins/model/views.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::model_plugin {
namespace {

struct ProfileLine {
  std::string id;
  std::string type;
  std::string credential;  // masked
  std::string reason;
};

struct Explanation {
  std::string input;
  std::string model_part;
  std::optional<std::string> profile;
  std::vector<std::string> steps;
  std::optional<Selection> selection;
  std::string error;
  bool is_default = false;
  // Auth.
  std::string provider;
  std::string order_source;
  std::vector<ProfileLine> order;
  std::vector<std::pair<std::string, std::string>> excluded;
  std::string pin_note;
};

std::string SourceText(const AuthOrder& o, const std::string& provider, const TurnContext& ctx) {
  switch (o.source) {
    case AuthOrder::Source::kStored: return absl::StrCat("stored order override in ", ctx.auth_store_label);
    case AuthOrder::Source::kConfig: return absl::StrCat("config auth.order.", provider);
    case AuthOrder::Source::kConfiguredProfiles: return "config auth.profiles, ranked automatically";
    case AuthOrder::Source::kStoreProfiles: return "the auth store's profiles, ranked automatically";
    case AuthOrder::Source::kFallback:
      return "the auth store's profiles (none of the explicitly ordered ones exists), ranked automatically";
    case AuthOrder::Source::kRule:
      return ctx.rule ? absl::StrCat("routing rule ", ctx.rule->name, ", modelpin.routes[", ctx.rule->index,
                                     "].authOrder.", provider)
                      : "a routing rule";
  }
  return "";
}

Explanation Build(const TurnContext& ctx, std::string_view argument) {
  Explanation e;
  e.input = std::string(text::Trim(argument));
  // Split the reference with the real grammar, so explain sees exactly what /model would.
  auto d = grammar::FindModelDirective("/model " + e.input);
  if (d) {
    if (const auto* sel = std::get_if<grammar::model::Select>(&d->action)) {
      e.model_part = sel->model;
      e.profile = sel->profile;
    } else if (const auto* reset = std::get_if<grammar::model::ResetDefault>(&d->action)) {
      e.model_part = "default";
      e.profile = reset->profile;
    }
  }
  if (e.model_part.empty()) {
    e.error = "Nothing to explain: give a model reference, e.g. /model explain sonnet@anthropic:work";
    return e;
  }
  e.steps.push_back(absl::StrCat("reference \"", e.model_part, "\"",
                                 e.profile ? absl::StrCat(", profile \"", *e.profile, "\"") : ", no profile"));
  // Routing rules, only in configs that have them (explanations without rules are unchanged).
  if (!ctx.config.routes().empty()) {
    if (!ctx.rule) {
      e.steps.push_back(absl::StrCat("no routing rule matches session ", ctx.session_key,
                                     ": its default and auth orders are the agent's"));
    } else {
      std::string gives;
      if (ctx.rule->model) absl::StrAppend(&gives, "default model ", ctx.rule->model->Label());
      for (const auto& [provider, ids] : ctx.rule->auth_order)
        absl::StrAppend(&gives, gives.empty() ? "" : ", ", "auth order for ", provider);
      e.steps.push_back(absl::StrCat("routing rule ", ctx.rule->name, " (", ctx.rule->MatchText(), ") matches session ",
                                     ctx.session_key, ": it gives the ", gives));
    }
  }
  if (text::ToLower(e.model_part) == "default") {
    e.steps.push_back(ctx.rule && ctx.rule->model
                          ? absl::StrCat("\"default\" means this session's default, from routing rule ", ctx.rule->name)
                          : "\"default\" means the agent's configured default");
    e.selection = Selection{ctx.agent.default_ref, "", false};
  } else {
    auto r = ctx.resolver.Resolve(e.model_part, &e.steps);
    if (auto* err = std::get_if<ResolveError>(&r)) e.error = err->text;
    else e.selection = std::get<Selection>(r);
  }
  if (!e.selection) return e;
  if (!ProviderKnown(ctx, e.selection->ref.provider)) {
    e.steps.push_back(absl::StrCat("provider ", e.selection->ref.provider,
                                   " is not configured, in the catalog, or a bundled provider"));
    e.error = absl::StrCat("Unknown provider \"", e.selection->ref.provider, "\". Use /models to list providers.");
    e.selection.reset();
    return e;
  }
  e.is_default = e.selection->ref == ctx.agent.default_ref;
  const char* default_note = ctx.rule && ctx.rule->model ? " (this session's default, from its routing rule)"
                                                         : " (the configured default)";
  e.steps.push_back(absl::StrCat("selected ", e.selection->Label(), e.is_default ? default_note : ""));

  e.provider = e.selection->ref.provider;
  AuthOrder order = ctx.OrderFor(e.provider);
  e.order_source = SourceText(order, e.provider, ctx);
  for (size_t i = 0; i < order.ids.size(); ++i) {
    const Credential* c = ctx.auth.Find(order.ids[i]);
    ProfileLine line{order.ids[i], c->type, "", ""};
    line.credential = MaskedCredential(*c, ctx.config.masking());
    UsageStats u = ctx.auth.Usage(c->id);
    int64_t cool = std::max(u.cooldown_until, u.disabled_until);
    if (cool <= ctx.now_ms && u.budget_until > ctx.now_ms) {
      line.reason = absl::StrCat("budget: ", u.budget_reason, " used up for ", FormatRemaining(u.budget_until - ctx.now_ms),
                                 ": moved to the end");
    } else if (cool > ctx.now_ms) {
      line.reason = absl::StrCat("cooling down for ", FormatRemaining(cool - ctx.now_ms), " (", u.error_count,
                                 " failure(s)): moved to the end");
    } else if (order.explicit_order) {
      line.reason = absl::StrCat("position ", i + 1, " of the explicit order");
    } else {
      line.reason = absl::StrCat("type ", c->type, u.last_used ? absl::StrCat(", last used at ", u.last_used) : ", never used");
    }
    if (c->expires && c->type != "api_key")
      absl::StrAppend(&line.reason, *c->expires <= ctx.now_ms ? "; expired" : "; expires in " + FormatRemaining(*c->expires - ctx.now_ms));
    e.order.push_back(std::move(line));
  }
  e.excluded = order.excluded;
  if (e.profile) {
    const Credential* c = ctx.auth.Find(*e.profile);
    if (c == nullptr) e.pin_note = absl::StrCat("profile ", *e.profile, " is not in the auth store: /model would refuse it");
    else if (c->provider != e.provider)
      e.pin_note = absl::StrCat("profile ", *e.profile, " is for ", c->provider, ", not ", e.provider, ": /model would refuse it");
    else if (!ctx.config.MayPinProfile(*e.profile, ctx.sender, ctx.sender_is_owner))
      e.pin_note = absl::StrCat("profile ", *e.profile, " may be pinned only by owners and the senders of its ",
                                "modelpin.profileAccess rule: /model would refuse it",
                                ctx.sender.empty() ? "" : absl::StrCat(" for ", text::EchoSafe(ctx.sender)));
    else
      e.pin_note = absl::StrCat("profile ", *e.profile, " would be pinned for this session and tried first");
  } else if (ctx.session.auth_profile_override) {
    std::string pin = *ctx.session.auth_profile_override;
    bool keeps = SameAuthProvider(ProfileProvider(pin, ctx.config, ctx.auth), e.provider);
    e.pin_note = absl::StrCat("this session's pin ", pin, " (", ctx.session.auth_profile_override_source.value_or("user"),
                              ") ", keeps ? "would be kept and tried first" : "would be dropped: it cannot authenticate " + e.provider);
  } else {
    e.pin_note = "no session pin: the first profile of the order is used";
  }
  return e;
}

}  // namespace

std::string ExplainText(const TurnContext& ctx, std::string_view argument) {
  Explanation e = Build(ctx, argument);
  std::string out = absl::StrCat("Explain: ", text::EchoSafe(e.input));
  for (size_t i = 0; i < e.steps.size(); ++i) absl::StrAppend(&out, "\n", i + 1, ". ", e.steps[i]);
  if (!e.selection) return absl::StrCat(out, "\nResult: refused: ", e.error);
  absl::StrAppend(&out, "\nAuth for ", e.provider, " (order from ", e.order_source, "):");
  if (e.order.empty()) {
    if (const EnvCredential* c = ctx.env ? ctx.env->For(e.provider) : nullptr)
      absl::StrAppend(&out, "\n  no usable profile: falls back to ", c->variable, " ", MaskedCredential(*c, ctx.config.masking()), " from ",
                      c->source);
    else
      absl::StrAppend(&out, "\n  no usable profile and no ", e.provider,
                      " environment variable: the call has no credential (store one with modelpin models auth "
                      "paste-api-key --provider ", e.provider, ")");
  }
  for (size_t i = 0; i < e.order.size(); ++i) {
    const auto& p = e.order[i];
    absl::StrAppend(&out, "\n  ", i + 1, ". ", p.id, " ", p.credential, " — ", p.reason);
  }
  for (const auto& [id, why] : e.excluded) absl::StrAppend(&out, "\n  excluded: ", id, " — ", why);
  absl::StrAppend(&out, "\nSession: ", e.pin_note);
  return out;
}

std::string ExplainJson(const TurnContext& ctx, std::string_view argument) {
  Explanation e = Build(ctx, argument);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  auto str = [&](const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("input");
  str(e.input);
  w.Key("steps");
  w.StartArray();
  for (const auto& s : e.steps) str(s);
  w.EndArray();
  w.Key("selection");
  if (e.selection) {
    w.StartObject();
    w.Key("provider");
    str(e.selection->ref.provider);
    w.Key("model");
    str(e.selection->ref.model);
    w.Key("alias");
    str(e.selection->alias);
    w.Key("isDefault");
    w.Bool(e.is_default);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("error");
  if (e.error.empty()) w.Null();
  else str(e.error);
  w.Key("auth");
  w.StartObject();
  w.Key("provider");
  str(e.provider);
  w.Key("source");
  str(e.order_source);
  w.Key("order");
  w.StartArray();
  for (const auto& p : e.order) {
    w.StartObject();
    w.Key("id");
    str(p.id);
    w.Key("type");
    str(p.type);
    w.Key("credential");
    str(p.credential);
    w.Key("reason");
    str(p.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("excluded");
  w.StartArray();
  for (const auto& [id, why] : e.excluded) {
    w.StartObject();
    w.Key("id");
    str(id);
    w.Key("reason");
    str(why);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.Key("session");
  str(e.pin_note);
  if (!ctx.config.routes().empty()) {  // only in configs with routing rules
    w.Key("rule");
    if (ctx.rule) str(ctx.rule->name);
    else w.Null();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace modelpin::model_plugin
