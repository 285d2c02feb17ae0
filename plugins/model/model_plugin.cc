#include <modelpin/plugins/model/model_plugin.h>

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/recycled_blocks.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/models/catalog.h>
#include <modelpin/engine/models/provider_tables.h>
#include <modelpin/engine/models/thinking.h>
#include <modelpin/plugins/model/explain.h>
#include <modelpin/plugins/model/views.h>

namespace modelpin {
namespace {

using grammar::ModelDirective;
using model_plugin::ProviderKnown;
using model_plugin::ProvidersText;
using model_plugin::StatusText;
using model_plugin::AccessRefusal;
using model_plugin::SummaryText;
using model_plugin::RestoreText;
using model_plugin::ScopeLeftText;
using model_plugin::UntilText;
using grammar::Scope;
namespace gm = grammar::model;

// Words that are never alias shorthands: every command of the engine's plugins, and
// OpenClaw's other chat commands, which modelpin does not implement but a user may still type.
constexpr std::string_view kOpenClawOnlyCommands[] = {"trace", "fast",  "reasoning", "elevated", "exec",
                                                      "status", "help", "new", "reset", "stop", "compact",
                                                      "login", "logout"};

bool IsReservedWord(const TurnContext& ctx, std::string_view word) {
  if (ctx.plugins && ctx.plugins->IsCommandWord(word)) return true;
  return std::find(std::begin(kOpenClawOnlyCommands), std::end(kOpenClawOnlyCommands), word) !=
         std::end(kOpenClawOnlyCommands);
}

Reply Error(std::string text) { return {std::move(text), true}; }
// A result that refuses the whole message with `error`.
DirectiveResult Refused(Reply error) { return DirectiveResult::Error(std::move(error.text)); }

constexpr size_t kMaxReference = 512;

// A hit's parsed /model directive. Every pin makes one and drops it: its block is recycled by
// the thread (RecycledBlocks) instead of going through malloc and free.
struct ModelPayload {
  ModelDirective d;
  using Blocks = RecycledBlocks<sizeof(ModelDirective)>;
  static void* operator new(size_t n) { return n == sizeof(ModelPayload) ? Blocks::Get() : ::operator new(n); }
  static void operator delete(void* p, size_t n) {
    if (n == sizeof(ModelPayload)) Blocks::Put(p);
    else ::operator delete(p);
  }
};
static_assert(sizeof(ModelPayload) == sizeof(ModelDirective));

// The hit's payload: a pointer-sized owner of one ModelPayload, which std::any keeps in place
// (no allocation of its own, and a move is a pointer's). The directive is parsed straight into
// the block (grammar::FindModelDirective(text, out)): it is never moved. Copying one (std::any
// requires it) copies the directive.
class PayloadBox {
 public:
  PayloadBox() : p_(new ModelPayload) {}
  PayloadBox(const PayloadBox& o) : p_(new ModelPayload(*o.p_)) {}
  PayloadBox(PayloadBox&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  PayloadBox& operator=(const PayloadBox&) = delete;
  ~PayloadBox() { delete p_; }
  ModelDirective& operator*() const { return p_->d; }

 private:
  ModelPayload* p_;
};

struct ExplainRequest {
  std::string argument;
};
// modelpin's "/model history" and "/model undo" (OpenClaw would select models of those names).
struct HistoryRequest {};
struct UndoRequest {};

// ---- scoped pins: /model <ref> --once | --for <duration> | --turns <n> ----

constexpr int64_t kMinute = 60'000;
constexpr int64_t kMaxPinFor = 30 * 24 * 60 * kMinute;  // longer than a month is a session pin
constexpr int kMaxPinTurns = 100;

struct PinDuration {
  int64_t ms = 0;
  std::string words;  // "90 minutes", "2 hours", "1 day"
};

// "90m", "2h", "1d" (a whole number and one unit, m/h/d): from 1 minute to 30 days.
std::optional<PinDuration> ParsePinDuration(std::string_view v) {
  if (v.size() < 2 || v.size() > 8) return std::nullopt;
  int64_t n = 0;
  const char* digits_end = v.data() + v.size() - 1;
  if (v[0] < '0' || v[0] > '9' || std::from_chars(v.data(), digits_end, n).ptr != digits_end) return std::nullopt;
  const char unit = text::LowerAscii(v.back());
  int64_t per = unit == 'm' ? kMinute : unit == 'h' ? 60 * kMinute : unit == 'd' ? 24 * 60 * kMinute : 0;
  if (per == 0 || n <= 0 || n * per > kMaxPinFor) return std::nullopt;
  const char* name = unit == 'm' ? "minute" : unit == 'h' ? "hour" : "day";
  return PinDuration{n * per, absl::StrCat(n, " ", name, n == 1 ? "" : "s")};
}

std::optional<int> ParsePinTurns(std::string_view v) {
  if (v.empty() || v.size() > 4) return std::nullopt;
  int n = 0;
  if (v[0] < '0' || v[0] > '9' || std::from_chars(v.data(), v.data() + v.size(), n).ptr != v.data() + v.size())
    return std::nullopt;
  if (n < 1 || n > kMaxPinTurns) return std::nullopt;
  return n;
}

// The scoped-pin option's error, if any, before anything else of the selection is checked.
std::optional<std::string> CheckPinLimit(const grammar::PinLimit& limit, bool has_selection, grammar::Scope scope) {
  using grammar::PinLimitKind;
  const std::string name(grammar::PinLimitOption(limit.kind));
  if (limit.conflict) return "Use only one of --once, --for and --turns.";
  if (scope == grammar::Scope::kAgent || scope == grammar::Scope::kGlobal)
    return absl::StrCat(name, " pins this session only; it cannot be combined with -a or -g.");
  if (!has_selection) return absl::StrCat(name, " needs a model selection, e.g. /model sonnet ", name,
                                          limit.kind == PinLimitKind::kOnce ? "" : limit.kind == PinLimitKind::kFor ? " 2h" : " 3", ".");
  if (limit.kind == PinLimitKind::kFor) {
    if (limit.missing_value) return "--for needs a duration, e.g. --for 90m, --for 2h or --for 1d.";
    if (!ParsePinDuration(limit.value))
      return absl::StrCat("Invalid duration \"", text::EchoSafe(limit.value, 40),
                          "\" for --for: use a whole number of minutes, hours or days from 1m to 30d, e.g. 90m, 2h or 1d.");
  }
  if (limit.kind == PinLimitKind::kTurns) {
    if (limit.missing_value) return "--turns needs a number of messages, e.g. --turns 3.";
    if (!ParsePinTurns(limit.value))
      return absl::StrCat("Invalid count \"", text::EchoSafe(limit.value, 40), "\" for --turns: use a whole number of messages from 1 to ",
                          kMaxPinTurns, ".");
  }
  return std::nullopt;
}

struct RuntimeChoice {
  bool reset = false;      // default / auto
  std::string id;          // normalised runtime id, "" when none given
  std::string as_typed;
};

RuntimeChoice ParseRuntime(const std::optional<std::string>& raw) {
  RuntimeChoice r;
  if (!raw) return r;
  r.as_typed = *raw;
  std::string v = text::ToLower(*raw);
  if (v == "default" || v == "auto") r.reset = true;
  else if (v == "pi" || v == "openclaw") r.id = "openclaw";
  else r.id = v;
  return r;
}

bool RuntimeSupported(const std::string& runtime, const std::string& provider) {
  if (runtime == "openclaw") return true;
  if (runtime == "codex") return provider == "openai";
  if (runtime == "claude-cli") return provider == "anthropic";  // claude-cli models run it already
  return false;
}

// Whether OpenClaw offers its own runtime for `ref`: the model must be in the published catalog
// (claude-cli ids compared case-insensitively) or, for the Claude providers, one of the ids the
// anthropic plugin ships, and the session must be able to authenticate it, with the directive's profile as a user pin
// when it names one.
bool OpenClawRuntimeOffered(const TurnContext& ctx, const ModelRef& ref, const std::optional<std::string>& profile) {
  bool cli = ref.provider == "claude-cli";
  bool listed = std::any_of(ctx.resolver.catalog().begin(), ctx.resolver.catalog().end(), [&](const CatalogRow& row) {
    return cli ? row.ref.provider == ref.provider && text::EqualsLower(ref.model, text::ToLower(row.ref.model))
               : row.ref == ref;
  });
  // The anthropic plugin's own ids count for both Claude providers, whatever the catalog holds.
  if ((cli || ref.provider == "anthropic") && IsBundledClaudeModel(ref.model)) listed = true;
  if (!listed) return false;
  // The session's pin counts only for the provider family it was chosen in: the session's
  // provider, else its default model's ("/model llama --runtime openclaw" under an anthropic pin
  // is judged by openrouter's own credentials).
  const SessionState& s = ctx.session;
  const std::string session_provider = s.provider_override.value_or(ctx.agent.default_ref.provider);
  model_plugin::Availability a = profile ? model_plugin::AuthAvailability(ctx, ref.provider, ref.provider, profile, true)
                           : model_plugin::AuthAvailability(ctx, ref.provider, session_provider,
                                                            s.auth_profile_override,
                                                            s.auth_profile_override_source.value_or("") == "user");
  return a == model_plugin::Availability::kAvailable;
}

class ModelPlugin : public Plugin {
 public:
  std::string_view name() const override { return "model"; }

  std::vector<CommandInfo> Commands() const override {
    return {{.name = "model",
             .summary = "Show, set or explain the session's model and auth profile.",
             .usage = "/model [status|list|default|explain <model>|<model>[@<profile>]] [--runtime <id>] [-a|-g]",
             .arguments = {"status", "list", "default", "explain"}},
            {.name = "models",
             .summary = "List the models this session may use, by provider.",
             .usage = "/models [<provider>|all]"}};
  }

  // Each alias of agents.defaults.models is a shorthand for "/model <alias>", as in OpenClaw.
  std::vector<std::string> AgentWords(const AgentView& agent) const override {
    return agent.shorthand_aliases_lower;
  }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext& ctx) const override {
    PayloadBox box;
    ModelDirective* const d = &*box;
    if (!grammar::FindModelDirective(text, *d)) {
      std::vector<std::string> aliases;
      for (const auto& a : ctx.agent.shorthand_aliases_lower)
        if (!IsReservedWord(ctx, a)) aliases.push_back(a);
      std::optional<ModelDirective> shorthand;
      if (!aliases.empty()) shorthand = grammar::FindAliasShorthand(text, aliases);
      if (!shorthand) return std::nullopt;
      *d = std::move(*shorthand);
    }
    // modelpin's "/model explain <ref>[@profile]": the word OpenClaw would take as a model id is
    // a subcommand here; its argument is the rest of the line.
    if (const auto* sel = std::get_if<gm::Select>(&d->action);
        sel && !sel->profile && !sel->quoted && text::EqualsLower(sel->model, "explain") && !d->shorthand) {
      size_t end = text.find('\n', d->span.end);
      if (end == std::string_view::npos) end = text.size();
      ExplainRequest req{std::string(text::Trim(text.substr(d->span.end, end - d->span.end)))};
      return DirectiveHit{{d->span.begin, end}, std::move(req)};
    }
    // "/model history" and "/model undo", as typed, with no option: modelpin subcommands.
    if (const auto* sel = std::get_if<gm::Select>(&d->action);
        sel && !sel->profile && !sel->quoted && !d->shorthand && d->options == grammar::ModelOptions{}) {
      if (text::EqualsLower(sel->model, "history")) return DirectiveHit{d->span, HistoryRequest{}};
      if (text::EqualsLower(sel->model, "undo")) return DirectiveHit{d->span, UndoRequest{}};
    }
    const grammar::Span span = d->span;
    return DirectiveHit{span, std::any(std::move(box))};
  }

  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    // The common payload first: an any_cast that names the held type is one pointer compare,
    // one that does not compares type names.
    const auto* directive = std::any_cast<PayloadBox>(&hit.payload);
    if (directive == nullptr) {
      if (const auto* req = std::any_cast<ExplainRequest>(&hit.payload)) {
        if (req->argument.empty())
          return DirectiveResult::Error("Usage: /model explain <model>[@<profile>], e.g. /model explain sonnet@anthropic:work");
        return DirectiveResult::Query(model_plugin::ExplainText(ctx, req->argument));  // changes nothing
      }
      if (std::any_cast<HistoryRequest>(&hit.payload)) return DirectiveResult::Query(HistoryText(ctx));  // changes nothing
      if (std::any_cast<UndoRequest>(&hit.payload)) return Undo(ctx);
      return DirectiveResult::Error("internal error: an unknown /model payload");
    }
    const ModelDirective& d = **directive;
    const grammar::ModelOptions& opts = d.options;
    // Inside a longer message the info forms (and the option-only forms, which are info forms
    // with options) are dropped without a word, before any check (oracle: "hello /model -s -a"
    // sends "hello -a" on).
    bool info_form = std::holds_alternative<gm::ShowSummary>(d.action) ||
                     std::holds_alternative<gm::ShowStatus>(d.action) ||
                     std::holds_alternative<gm::ListProviders>(d.action) ||
                     (std::holds_alternative<gm::Rejected>(d.action) &&
                      std::get<gm::Rejected>(d.action).reason != gm::Reason::kNumeric);
    if (info_form && !ctx.directive_only) return {};
    if (opts.scope_conflict) return Refused(Error("Use only one model scope option."));
    if (opts.pin_limit.kind != grammar::PinLimitKind::kNone) {
      bool has_selection = std::holds_alternative<gm::Select>(d.action) || std::holds_alternative<gm::ResetDefault>(d.action);
      if (auto err = CheckPinLimit(opts.pin_limit, has_selection, opts.scope)) return Refused(Error(std::move(*err)));
    }
    bool wide_scope = opts.scope == Scope::kAgent || opts.scope == Scope::kGlobal;
    if (wide_scope && !ctx.sender_is_owner)
      return Refused(Error("Agent and global model defaults require owner authority or operator.admin scope."));
    if (const auto* r = std::get_if<gm::Rejected>(&d.action)) return Refused(Error(RejectText(r->reason, opts)));
    // The info forms answer as information (beside other directives they answer alone and
    // nothing else is applied, as in OpenClaw: compose.h).
    if (std::holds_alternative<gm::ShowSummary>(d.action)) return DirectiveResult::Info(SummaryText(ctx));
    if (std::holds_alternative<gm::ShowStatus>(d.action)) return DirectiveResult::Info(StatusText(ctx));
    if (std::holds_alternative<gm::ListProviders>(d.action)) return DirectiveResult::Info(ProvidersText(ctx));
    if (const auto* reset = std::get_if<gm::ResetDefault>(&d.action)) {
      // OpenClaw ignores the profile of "default@profile"; strict mode applies it (docs/strict-mode.md).
      std::optional<std::string> profile;
      if (ctx.strict) profile = reset->profile;
      Selection sel{ctx.agent.default_ref, "", false};
      if (ctx.strict) sel.alias = ctx.resolver.AliasOfKey(sel.ref.Key());  // labels always carry the alias
      return Select(ctx, sel, profile, opts);
    }
    const auto& sel = std::get<gm::Select>(d.action);
    // No model or profile id is this long; refusing keeps a hostile message from pinning megabytes
    // into a session (OpenClaw would store it).
    if (sel.model.size() > kMaxReference || (sel.profile && sel.profile->size() > kMaxReference))
      return Refused(Error(absl::StrCat("Model reference is too long (more than ", kMaxReference, " bytes).")));
    auto resolved = ctx.resolver.Resolve(grammar::ModelPartOf(sel.model));
    if (auto* err = std::get_if<ResolveError>(&resolved)) {
      std::string text = err->text;
      if (!err->not_allowed.empty() && opts.runtime) {
        RuntimeChoice rc = ParseRuntime(opts.runtime);
        absl::StrAppend(&text, " --runtime ", rc.as_typed);
        if (rc.id == "codex") absl::StrAppend(&text, "\nIf the Codex runtime is missing, run: openclaw plugins enable codex");
      }
      return Refused(Error(text));
    }
    const Selection& chosen = std::get<Selection>(resolved);
    if (!sel.profile)
      if (const std::string* own = ModelAuthProfile(ctx, chosen.ref)) return Select(ctx, chosen, *own, opts, true);
    return Select(ctx, chosen, sel.profile, opts);
  }

  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    auto cmd = grammar::ParseModelsCommand(text);
    if (!cmd) return std::nullopt;
    // OpenClaw answers "/modelsfoo" as "/models" with provider "/modelsfoo"; strict
    // mode wants the word to end there.
    if (ctx.strict && text.size() > 7 && text[7] != ':' && text::SpaceAt(text, 7) == 0) return std::nullopt;
    return std::vector<Reply>{model_plugin::ModelsCommandReply(*cmd, ctx)};
  }

 private:
  // "/model history": the last ten changes of the session's model and pin, oldest first.
  static std::string HistoryText(const TurnContext& ctx) {
    const ModelpinSessionData* m = ctx.session.modelpin.get();
    if (!m || m->history.empty()) return "No model or auth profile changes recorded for this session yet.";
    constexpr size_t kShown = 10;
    const size_t n = m->history.size();
    const size_t first = n > kShown ? n - kShown : 0;
    std::string out = n > kShown ? absl::StrCat("Model history (last ", kShown, " of ", n, " changes, oldest first):")
                                 : absl::StrCat("Model history (", n, n == 1 ? " change" : " changes", ", oldest first):");
    for (size_t i = first; i < n; ++i) absl::StrAppend(&out, "\n", i - first + 1, ". ", DescribePinEvent(m->history[i]));
    if (m->scope) absl::StrAppend(&out, "\nNow: ", ctx.CurrentModel().Label(), " ", ScopeLeftText(*m->scope, ctx.now_ms),
                                  ", then back to ", RestoreText(ctx, *m->scope->restore), ".");
    absl::StrAppend(&out, "\nUndo the last change: /model undo");
    return out;
  }

  // "/model undo": back to the selection before the latest change a person made (a /model,
  // a reset, an undo, another plugin's directive) that the session does not already have.
  // Automatic changes (auto pins, order changes, expiry, dropped pins) are not undone.
  static DirectiveResult Undo(TurnContext& ctx) {
    const ModelpinSessionData* m = ctx.session.modelpin.get();
    const PinSelection now = ctx.session.Selection();
    const PinEvent* target = nullptr;
    if (m)
      for (const PinEvent& e : m->history) {  // the latest match wins
        std::optional<PinSource> source = ParsePinSource(*e.source);
        if (source && IsPersonChange(*source) && !(*e.from == now)) target = &e;
      }
    if (target == nullptr)
      return Refused(Error("Nothing to undo: this session has no earlier model or auth profile selection to go back to."));
    PinEvent undone = *target;  // the history changes below
    SessionState& s = ctx.session;
    s.modelpin.SetScope(std::nullopt);
    s.SetSelection(*undone.from);
    s.live_model_switch_pending = true;
    DirectiveResult r = DirectiveResult::Ack(absl::StrCat("Restored ", RestoreText(ctx, *undone.from), ", undoing the ",
                                                          *undone.source, " change of ", HistoryTime(undone.at_ms), "."));
    r.pin_change = PinChange{PinSource::kUndo};
    return r;
  }

  static std::string RejectText(gm::Reason reason, const grammar::ModelOptions& opts) {
    switch (reason) {
      case gm::Reason::kNumeric:
        return "Numeric model selection is not supported in chat.\n\nBrowse: /models or /models <provider>\nSwitch: "
               "/model <provider/model>";
      case gm::Reason::kProfileNeedsModel: return "Auth profile override requires a model selection.";
      case gm::Reason::kRuntimeNeedsModel: return "Runtime override requires a model selection.";
      case gm::Reason::kScopeNeedsModel:
        if (opts.scope == Scope::kAgent) return "Agent-default scope requires a model selection.";
        if (opts.scope == Scope::kGlobal) return "Global-default scope requires a model selection.";
        return "Session-only scope requires a model selection.";
    }
    return "Invalid /model command.";
  }

  // The model's own credential (agents.defaults.models.<ref>.authProfile, then the agent's
  // entry), or nullptr.
  static const std::string* ModelAuthProfile(const TurnContext& ctx, const ModelRef& ref) {
    const std::string* found = nullptr;
    for (const auto& m : ctx.agent.models)  // the agent's own entries come last and win
      if (!m.auth_profile.empty() && m.ref == ref) found = &m.auth_profile;
    return found;
  }

  // What OpenClaw checks for a resolved selection (steps 1-7 below), then the session change.
  // `configured_profile`: the profile is the model's authProfile, not typed by the user.
  static DirectiveResult Select(TurnContext& ctx, const Selection& sel, const std::optional<std::string>& profile,
                                const grammar::ModelOptions& opts, bool configured_profile = false) {
    const ModelRef& ref = sel.ref;
    if (profile)
      if (std::optional<Reply> error = CheckProfile(ctx, ref, *profile, configured_profile)) return Refused(std::move(*error));
    const RuntimeChoice runtime = ParseRuntime(opts.runtime);
    if (std::optional<Reply> error = CheckRuntime(ctx, ref, profile, runtime)) return Refused(std::move(*error));
    const bool is_default = text::SameBytes(ref.model, ctx.agent.default_ref.model) &&
                            text::SameBytes(ref.provider, ctx.agent.default_ref.provider);  // ref == default_ref
    SetSelection(ctx, ref, is_default, profile, runtime);
    DirectiveResult r;
    PinChange& change = r.pin_change.emplace();  // for the pin history: who, and the scoped pin
    change.source = is_default && opts.pin_limit.kind == grammar::PinLimitKind::kNone ? PinSource::kReset : PinSource::kUser;
    const ScopeWords scope = SetPinScope(ctx, opts.pin_limit, change);
    MarkSwitch(ctx);
    const std::string remap_part = RemapThinking(ctx, ref);
    Acknowledge(ctx, sel, opts, is_default, scope, remap_part, runtime, profile, configured_profile, r);
    return r;
  }

  // Select, step 1: may the session pin `profile` for `ref`? The refusal, or nullopt. A profile the
  // config gives the model (`configured`) is the operator's choice and never restricted by access.
  static std::optional<Reply> CheckProfile(const TurnContext& ctx, const ModelRef& ref, const std::string& profile,
                                           bool configured) {
    const Credential* c = ctx.auth.Find(profile);
    if (c == nullptr) return Error(absl::StrCat("Auth profile \"", text::EchoSafe(profile), "\" not found."));
    // modelpin.profileAccess: who may spend this credential for the whole session.
    if (!configured && !ctx.config.MayPinProfile(profile, ctx.sender, ctx.sender_is_owner))
      return Error(AccessRefusal(profile, ctx.sender));
    // OpenClaw compares provider strings as typed; strict mode compares the auth
    // providers ("claude-cli" authenticates as "anthropic") and refuses profiles that could not
    // be used, instead of pinning them silently.
    bool same = ctx.strict ? AuthProvider(c->provider) == AuthProvider(ref.provider) : c->provider == ref.provider;
    if (!same)
      return Error(absl::StrCat("Auth profile \"", text::EchoSafe(profile), "\" is for ", c->provider, ", not ",
                                text::EchoSafe(ref.provider), "."));
    std::string why;
    if (ctx.strict && !IsEligible(*c, ref.provider, ctx.config, ctx.now_ms, &why))
      return Error(absl::StrCat("Auth profile \"", text::EchoSafe(profile), "\" cannot be used for ", ref.provider, ": ", why, "."));
    if (ctx.strict) {
      const AuthOrder& order = ctx.OrderFor(ref.provider);
      if (order.explicit_order && std::find(order.ids.begin(), order.ids.end(), profile) == order.ids.end())
        return Error(absl::StrCat("Auth profile \"", profile, "\" cannot be used for ", ref.provider,
                                  ": the auth order for ", ref.provider, " does not list it."));
    }
    return std::nullopt;
  }

  // Select, step 2: can `ref` run on the runtime the directive asks for (or the one it would get)?
  // The refusal, or nullopt.
  static std::optional<Reply> CheckRuntime(const TurnContext& ctx, const ModelRef& ref,
                                           const std::optional<std::string>& profile, const RuntimeChoice& runtime) {
    if (!runtime.id.empty() && !RuntimeSupported(runtime.id, ref.provider))
      return Error(absl::StrCat("Runtime \"", runtime.as_typed, "\" is not supported for ", ref.provider, "."));
    if (!ProviderKnown(ctx, ref.provider))
      return Error(absl::StrCat("Unknown provider \"", text::EchoSafe(ref.provider), "\". Use /models to list providers."));
    if (!runtime.id.empty()) {
      bool offered = runtime.id == "openclaw" && OpenClawRuntimeOffered(ctx, ref, profile);
      if (!offered)
        return Error(absl::StrCat("Runtime \"", runtime.id, "\" is not available for ", ref.Label(),
                                  ". Refresh the model catalog and choose again."));
    } else if (!runtime.reset && ref.provider == "openai" && !ctx.session.agent_runtime_override) {
      // openai models route to the Codex runtime, which this setup cannot provide; a runtime the
      // session has pinned (openclaw) serves them instead.
      return Error(absl::StrCat("A runtime is not available for ", ref.Label(),
                                ". Refresh the model catalog and choose again."));
    }
    return std::nullopt;
  }

  // Select, step 3: the session's model (or back to the default), its credential pin (kept only
  // while it authenticates the new model's provider) and its runtime.
  static void SetSelection(TurnContext& ctx, const ModelRef& ref, bool is_default,
                           const std::optional<std::string>& profile, const RuntimeChoice& runtime) {
    SessionState& s = ctx.session;
    if (is_default) {
      s.provider_override.reset();
      s.model_override.reset();
      s.model_override_source = "default";
      s.model_override_route_resolution.reset();
    } else {
      s.provider_override = ref.provider;
      s.model_override = ref.model;
      s.model_override_source = "user";
      s.model_override_route_resolution = "resolved";
    }
    if (profile) {
      s.auth_profile_override = *profile;
      s.auth_profile_override_source = "user";
      s.auth_profile_override_compaction_count.reset();
    } else if (s.auth_profile_override &&
               !SameAuthProvider(ProfileProvider(*s.auth_profile_override, ctx.config, ctx.auth), ref.provider)) {
      s.auth_profile_override.reset();
      s.auth_profile_override_source.reset();
      s.auth_profile_override_compaction_count.reset();
    }
    if (runtime.reset) s.agent_runtime_override.reset();
    else if (!runtime.id.empty()) s.agent_runtime_override = runtime.id;
  }

  // What a scoped pin's acknowledgement says: "for the next 3 messages", and what it returns to.
  struct ScopeWords {
    std::string scope;    // "" without a scoped pin
    std::string restore;
  };

  // Select, step 4: a scoped pin (--once, --turns, --for) returns to the session's own selection:
  // the one before this message, or the one an active scoped pin would have returned to. A plain
  // selection ends any scoped pin. The scoped pin goes into `change` too, for the pin history.
  static ScopeWords SetPinScope(TurnContext& ctx, const grammar::PinLimit& limit, PinChange& change) {
    ScopeWords words;
    SessionState& s = ctx.session;
    if (limit.kind == grammar::PinLimitKind::kNone) {
      s.modelpin.SetScope(std::nullopt);
      return words;
    }
    PinScope sc;
    sc.set_at_ms = ctx.now_ms;
    const ModelpinSessionData* before_data = ctx.stored.modelpin.get();
    sc.restore = before_data && before_data->scope ? before_data->scope->restore : Interned(ctx.stored.Selection());
    if (limit.kind == grammar::PinLimitKind::kOnce) {
      sc.kind = PinScope::Kind::kOnce;
      sc.turns_left = 1;
      words.scope = "for the next message only";
      change.scope = grammar::PinLimitKind::kOnce;
    } else if (limit.kind == grammar::PinLimitKind::kTurns) {
      sc.kind = PinScope::Kind::kTurns;
      sc.turns_left = *ParsePinTurns(limit.value);
      words.scope = sc.turns_left == 1 ? "for the next message only" : absl::StrCat("for the next ", sc.turns_left, " messages");
      change.scope = grammar::PinLimitKind::kTurns;
      change.scope_value = absl::StrCat(sc.turns_left);
    } else {
      PinDuration dur = *ParsePinDuration(limit.value);
      sc.kind = PinScope::Kind::kFor;
      sc.until_ms = ctx.now_ms + dur.ms;
      words.scope = absl::StrCat("for ", dur.words, ", until ", UntilText(sc.until_ms, ctx.now_ms));
      change.scope = grammar::PinLimitKind::kFor;
      change.scope_value = text::ToLower(limit.value);
    }
    words.restore = RestoreText(ctx, *sc.restore);
    s.modelpin.SetScope(sc);
    return words;
  }

  // Select, step 5: a changed model or credential pin is a live switch. Only this directive
  // changes those fields in a turn, so the stored session is the state before it. Nothing else
  // (runtime, thinking) counts as a switch.
  static void MarkSwitch(TurnContext& ctx) {
    SessionState& s = ctx.session;
    const SessionState& before = ctx.stored;
    using text::SameText;
    bool switched = !SameText(s.model_override, before.model_override) ||
                    !SameText(s.provider_override, before.provider_override) ||
                    !SameText(s.model_override_source, before.model_override_source) ||
                    !SameText(s.model_override_route_resolution, before.model_override_route_resolution) ||
                    !SameText(s.auth_profile_override, before.auth_profile_override) ||
                    !SameText(s.auth_profile_override_source, before.auth_profile_override_source) ||
                    s.auth_profile_override_compaction_count != before.auth_profile_override_compaction_count;
    if (switched) s.live_model_switch_pending = true;
  }

  // Select, step 6: a stored thinking level the new model does not accept moves to the level it
  // would run at, unless the message sets the level itself ("/think off /model opus"). The
  // acknowledgement part, "" when nothing moved.
  static std::string RemapThinking(TurnContext& ctx, const ModelRef& ref) {
    SessionState& s = ctx.session;
    if (!s.thinking_level || ctx.DirectiveSets(DirectiveEffect::kSetsThinkingLevel)) return {};
    ThinkingProfile profile = ThinkingProfileFor(ctx.resolver.catalog(), ref);
    std::string to = profile.Supported(*s.thinking_level);
    if (to == *s.thinking_level) return {};
    std::string part = absl::StrCat("Thinking level set to ", to, " (", *s.thinking_level, " not supported for ",
                                    ref.Label(), ").");
    s.thinking_level = to;
    return part;
  }

  // Select, step 7: the acknowledgement, in OpenClaw's words, into `r`. A lone /model prints
  // runtime before profile; combined with other directives OpenClaw prints the reverse.
  // Every pin builds it: its pieces are listed, then copied into the reply in one allocation
  // (the label and each part as strings of their own cost a third of a pin's allocations).
  static void Acknowledge(const TurnContext& ctx, const Selection& sel, const grammar::ModelOptions& opts,
                          bool is_default, const ScopeWords& scope, const std::string& remap_part,
                          const RuntimeChoice& runtime, const std::optional<std::string>& profile,
                          bool configured_profile, DirectiveResult& r) {
    r.kind = DirectiveReplyKind::kAck;
    text::Pieces<24> pieces;  // at most 12 for the sentence and 8 for the parts
    auto add = [&](std::string_view s) { pieces.Add(s); };
    const bool wide = opts.scope == Scope::kAgent || opts.scope == Scope::kGlobal;
    // A quoted reference can hold any characters: control characters are echoed as U+FFFD (one
    // line). OpenClaw echoes an accepted reference whole (references over kMaxReference bytes are
    // refused above), and so does compatible mode; strict mode cuts the echo at 200 bytes. The
    // session keeps the id as given. The usual label is printable ASCII: it needs no escaping and
    // is copied from its parts (any other byte takes the escaping path).
    std::string escaped;
    if ((ctx.strict && sel.LabelSize() > 200) || !text::IsPrintableAscii(sel.alias) ||
        !text::IsPrintableAscii(sel.ref.provider) || !text::IsPrintableAscii(sel.ref.model)) {
      const std::string label = sel.Label();
      escaped = text::EchoSafe(label, ctx.strict ? 200 : 3 * label.size() + 3);  // room for U+FFFD expansion
    }
    auto add_label = [&] {
      if (!escaped.empty()) add(escaped);
      else sel.LabelParts(add);
    };
    if (!scope.scope.empty()) {
      add("Model set to "), add_label(), add(" "), add(scope.scope), add("; then back to "), add(scope.restore), add(".");
    } else if (wide) {
      add("Model set to "), add_label(), add(" for this session. "), add(opts.scope == Scope::kAgent ? "Agent" : "Global"),
          add(" default unchanged because configuration is immutable.");
    } else if (is_default) {
      add("Session model reset to configured default ("), add_label(), add(").");
    } else {
      add("Model set to "), add_label(), add(" for this session only; configured default unchanged.");
    }
    auto add_remap = [&] {
      if (!remap_part.empty()) add(" "), add(remap_part);
    };
    auto add_runtime = [&] {
      if (runtime.reset) add(" Runtime reset to configured policy.");
      else if (!runtime.id.empty()) add(" Runtime set to "), add(runtime.id), add(" for this session.");
    };
    auto add_profile = [&] {
      if (profile) add(" Auth profile set to "), add(*profile), add(configured_profile ? " (the model's authProfile)." : ".");
    };
    // Strict mode uses one order everywhere (docs/strict-mode.md): model, auth profile, runtime, thinking.
    if (ctx.directive_only && ctx.directive_count == 1 && !ctx.strict) {
      add_remap(), add_runtime(), add_profile();
    } else {
      add_profile(), add_runtime(), add_remap();
    }
    r.text = RecycledReply::Take();  // the last reply's buffer, when the caller gave it back
    pieces.AppendTo(r.text);
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeModelPlugin() { return std::make_unique<ModelPlugin>(); }

}  // namespace modelpin
