#include <modelpin/engine/turn/plugin_loader.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/rotation.h>
#include "engine/host_version.h"  // generated into the build dir by engine/meson.build
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugin_v1.h>
#include <modelpin/plugin_v2.h>

namespace modelpin {
namespace {

modelpin_str Str(std::string_view s) { return {s.data(), s.size()}; }
std::string OrEmpty(const char* s) { return s ? s : ""; }

// A command word or plugin name: [a-z0-9_-]+, at most 64 bytes.
bool IsWord(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// What a plugin returned for one message, collected by the host callbacks. The first problem
// found is kept; everything after it is ignored.
struct Collected {
  const std::string* prefix;  // "<name>."
  std::vector<Reply> replies;
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;  // nullopt: erase
  std::string problem;

  bool Check(bool ok, std::string_view what) {
    if (!ok && problem.empty()) problem = what;
    return ok && problem.empty();
  }
  bool CheckKey(const char* key, size_t size) {
    std::string_view k(key ? key : "", key ? size : 0);
    return Check(key != nullptr || size == 0, "a field key points nowhere") &&
           Check(k.size() > prefix->size() && k.substr(0, prefix->size()) == *prefix &&
                     k.size() <= kPluginMaxFieldKeyBytes,
                 absl::StrCat("a field key outside its namespace \"", *prefix, "\"")) &&
           Check(text::IsValidUtf8(k), "a field key that is not valid UTF-8") &&
           Check(changes.size() < kPluginMaxFieldChanges, "too many field changes");
  }
};

Collected& Of(modelpin_result_v1* out) { return *reinterpret_cast<Collected*>(out); }

void HostReply(modelpin_result_v1* out, const char* text, size_t size, int is_error) {
  Collected& c = Of(out);
  if (!c.Check(text != nullptr || size == 0, "a reply points nowhere")) return;
  std::string_view t(text ? text : "", text ? size : 0);
  if (!c.Check(c.replies.size() < kPluginMaxReplies, "too many replies")) return;
  if (!c.Check(t.size() <= kPluginMaxReplyBytes, "a reply longer than 16 KiB")) return;
  if (!c.Check(text::IsValidUtf8(t), "a reply that is not valid UTF-8")) return;
  c.replies.push_back({std::string(t), is_error != 0});
}

void HostSetField(modelpin_result_v1* out, const char* key, size_t key_size, const char* value, size_t value_size) {
  Collected& c = Of(out);
  if (!c.CheckKey(key, key_size)) return;
  if (!c.Check(value != nullptr || value_size == 0, "a field value points nowhere")) return;
  std::string_view v(value ? value : "", value ? value_size : 0);
  if (!c.Check(v.size() <= kPluginMaxFieldValueBytes, "a field value longer than 4 KiB")) return;
  if (!c.Check(text::IsValidUtf8(v), "a field value that is not valid UTF-8")) return;
  c.changes.emplace_back(std::string(key, key_size), std::string(v));
}

void HostEraseField(modelpin_result_v1* out, const char* key, size_t key_size) {
  Collected& c = Of(out);
  if (!c.CheckKey(key, key_size)) return;
  c.changes.emplace_back(std::string(key, key_size), std::nullopt);
}

constexpr modelpin_host_v1 kHost = {sizeof(modelpin_host_v1), HostReply, HostSetField, HostEraseField};

// The command `text` starts with ("/usage", "/USAGE extra"), or nullptr.
const CommandInfo* FindCommand(const std::vector<CommandInfo>& commands, std::string_view text) {
  if (text.empty() || text.front() != '/') return nullptr;
  size_t end = 1;
  while (end < text.size() && text::SpaceAt(text, end) == 0 && text[end] != ':') ++end;
  const std::string word = text::ToLower(text.substr(1, end - 1));
  for (const auto& c : commands) {
    if (c.name == word) return &c;
    for (const auto& a : c.aliases)
      if (a == word) return &c;
  }
  return nullptr;
}

// The reply to malformed output; nothing of this message is stored.
std::vector<Reply> RefuseOutput(TurnContext& ctx, std::string_view name, std::string_view problem) {
  ctx.session = ctx.stored;
  return {{absl::StrCat("Plugin ", std::string(name), " failed: it returned ", std::string(problem), ". Nothing was changed."), true}};
}

// Stores what a plugin consumed a message with: its field changes on the working session. The
// problem when it would keep too many fields ("" when fine).
std::string ApplyFieldChanges(TurnContext& ctx, const std::string& prefix, Collected& out) {
  for (auto& [key, value] : out.changes) {
    if (value) ctx.session.plugin_state[key] = std::move(*value);
    else ctx.session.plugin_state.erase(key);
  }
  size_t kept = 0;
  for (auto it = ctx.session.plugin_state.lower_bound(prefix);
       it != ctx.session.plugin_state.end() && it->first.rfind(prefix, 0) == 0; ++it)
    ++kept;
  return kept > kPluginMaxFields ? "more than 64 session fields" : "";
}

// The route view's storage: the strings the modelpin_profile_v1 entries point into.
struct ProfileViews {
  std::vector<std::string> masked;
  std::vector<std::string> env_providers;
  std::vector<modelpin_profile_v1> profiles;
};

void DescribeRoute(const TurnContext& ctx, const std::vector<std::string>& ids, ProfileViews& v) {
  v.masked.reserve(ids.size());
  for (const auto& id : ids) {
    modelpin_profile_v1 p{};
    p.id = Str(id);
    if (id.rfind("env:", 0) == 0) {
      const EnvCredential* e = nullptr;
      if (ctx.env)
        for (const auto& c : ctx.env->all())
          if (c.ProfileId() == id) e = &c;
      v.masked.push_back(e ? MaskedCredential(*e, ctx.config.masking()) : "missing");
      p.provider = e ? Str(e->provider) : Str("");
      p.type = Str("env");
    } else if (const Credential* c = ctx.auth.Find(id)) {
      v.masked.push_back(MaskedCredential(*c, ctx.config.masking()));
      p.provider = Str(c->provider);
      p.type = Str(c->type);
      UsageStats u = ctx.auth.Usage(id);
      p.last_used_ms = u.last_used;
      p.cooldown_until_ms = u.cooldown_until;
      p.disabled_until_ms = u.disabled_until;
      p.error_count = u.error_count;
      p.expires_ms = c->expires.value_or(0);
    } else {
      v.masked.push_back("missing");
    }
    p.masked = Str(v.masked.back());  // reserved above: the string does not move
    v.profiles.push_back(p);
  }
}

class NativePlugin : public Plugin {
 public:
  NativePlugin(const modelpin_plugin_v1* d, void* state, void* handle, std::string source, std::vector<CommandInfo> commands)
      : d_(d), state_(state), handle_(handle), name_(d->name), prefix_(name_ + "."), source_(std::move(source)),
        commands_(std::move(commands)) {}
  ~NativePlugin() override {
    if (d_->shutdown) d_->shutdown(state_);
    if (handle_) dlclose(handle_);
  }
  NativePlugin(const NativePlugin&) = delete;
  NativePlugin& operator=(const NativePlugin&) = delete;

  std::string_view name() const override { return name_; }
  std::string_view source() const override { return source_; }
  std::vector<CommandInfo> Commands() const override { return commands_; }

  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    const CommandInfo* command = Find(text);
    if (command == nullptr) return std::nullopt;
    if (command->owner_only && !ctx.sender_is_owner)
      return std::vector<Reply>{{absl::StrCat("/", command->name, " is for owners only."), true}};

    // The turn view: the plugin's own fields, and the route this message would take.
    std::vector<modelpin_field_v1> fields;
    for (auto it = ctx.session.plugin_state.lower_bound(prefix_);
         it != ctx.session.plugin_state.end() && it->first.rfind(prefix_, 0) == 0; ++it)
      fields.push_back({Str(it->first), Str(it->second)});
    const ModelRef model = ctx.CurrentModel();
    const std::vector<std::string> ids = ctx.RouteProfilesFor(model);
    ProfileViews profiles;
    DescribeRoute(ctx, ids, profiles);
    modelpin_turn_v1 turn{};
    turn.struct_size = sizeof(turn);
    turn.agent_id = Str(ctx.agent_id);
    turn.session_key = Str(ctx.session_key);
    turn.sender = Str(ctx.sender);
    turn.text = Str(text);
    turn.sender_is_owner = ctx.sender_is_owner ? 1 : 0;
    turn.now_ms = ctx.now_ms;
    turn.fields = fields.data();
    turn.field_count = fields.size();
    turn.provider = Str(model.provider);
    turn.model = Str(model.model);
    turn.profiles = profiles.profiles.data();
    turn.profile_count = profiles.profiles.size();

    Collected out{&prefix_, {}, {}, {}};
    const int consumed = d_->handle(state_, &turn, &kHost, reinterpret_cast<modelpin_result_v1*>(&out));
    if (!out.problem.empty()) return Refuse(ctx, out.problem);
    // 1 consumed, 0 declined; anything else is a failure (sdk/modelpin/plugin_v1.h, handle).
    if (consumed != 0 && consumed != 1)
      return Refuse(ctx, absl::StrCat(consumed, " from handle (expected 1 or 0)"));
    if (consumed == 0) return std::nullopt;
    if (std::string problem = ApplyFieldChanges(ctx, prefix_, out); !problem.empty()) return Refuse(ctx, problem);
    return std::move(out.replies);
  }

 private:
  std::vector<Reply> Refuse(TurnContext& ctx, std::string_view problem) const { return RefuseOutput(ctx, name_, problem); }
  const CommandInfo* Find(std::string_view text) const { return FindCommand(commands_, text); }

  const modelpin_plugin_v1* d_;
  void* state_;
  void* handle_;
  std::string name_;
  std::string prefix_;
  std::string source_;  // the file, "" for a descriptor already in the process
  std::vector<CommandInfo> commands_;
};

// ---- ABI 2 (sdk/modelpin/plugin_v2.h) ----------------------------------------------------------

modelpin_str_v2 Str2(std::string_view s) { return {s.data(), s.size()}; }

// What this modelpin offers a plugin of ABI 2, and the names of the bits for errors.
constexpr uint64_t kHostCapabilities = MODELPIN_CAP_REPLY | MODELPIN_CAP_FIELDS | MODELPIN_CAP_LOG | MODELPIN_CAP_CONFIG |
                                       MODELPIN_CAP_OBSERVE_ROUTES | MODELPIN_CAP_OBSERVE_OUTCOMES |
                                       MODELPIN_CAP_DIRECTIVES;
std::string CapabilityNames(uint64_t bits) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {MODELPIN_CAP_REPLY, "reply"},
      {MODELPIN_CAP_FIELDS, "fields"},
      {MODELPIN_CAP_LOG, "log"},
      {MODELPIN_CAP_CONFIG, "config"},
      {MODELPIN_CAP_OBSERVE_ROUTES, "observe_routes"},
      {MODELPIN_CAP_OBSERVE_OUTCOMES, "observe_outcomes"},
      {MODELPIN_CAP_DIRECTIVES, "directives"}};
  std::vector<std::string> names;
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t b = uint64_t{1} << bit;
    if (!(bits & b)) continue;
    std::string name = absl::StrCat("bit ", bit);
    for (const auto& [value, n] : kNames)
      if (value == b) name = n;
    names.push_back(std::move(name));
  }
  return absl::StrJoin(names, ", ");
}

// "1.2.3" for MODELPIN_VERSION_NUMBER(1, 2, 3).
std::string VersionText(uint32_t n) { return absl::StrCat(n / 1000000, ".", n / 1000 % 1000, ".", n % 1000); }

void HostReply2(modelpin_result_v2* out, const char* text, size_t size, int is_error) {
  HostReply(reinterpret_cast<modelpin_result_v1*>(out), text, size, is_error);
}
void HostSetField2(modelpin_result_v2* out, const char* key, size_t key_size, const char* value, size_t value_size) {
  HostSetField(reinterpret_cast<modelpin_result_v1*>(out), key, key_size, value, value_size);
}
void HostEraseField2(modelpin_result_v2* out, const char* key, size_t key_size) {
  HostEraseField(reinterpret_cast<modelpin_result_v1*>(out), key, key_size);
}

// The plugin a log line comes from: the plugin whose create() or callback runs on this thread.
thread_local const std::string* current_plugin_name = nullptr;

void HostLog(int level, const char* text, size_t size) {
  std::string_view t(text ? text : "", text ? std::min<size_t>(size, kPluginMaxReplyBytes) : 0);
  const char* what = level >= 2 ? "error" : level == 1 ? "warning" : "info";
  std::fprintf(stderr, "modelpin: plugin %s: %s: %s\n", current_plugin_name ? current_plugin_name->c_str() : "?", what,
               text::SanitizeUtf8(t).c_str());
}

constexpr modelpin_host_v2 kHost2 = {sizeof(modelpin_host_v2),
                                     MODELPIN_PLUGIN_ABI_V2_MINOR,
                                     MODELPIN_HOST_VERSION_NUMBER,
                                     0,
                                     MODELPIN_HOST_VERSION,
                                     kHostCapabilities,
                                     HostReply2,
                                     HostSetField2,
                                     HostEraseField2,
                                     HostLog};

// Sets current_plugin_name for the duration of a call into the plugin.
struct NameScope {
  const std::string* saved;
  explicit NameScope(const std::string& name) : saved(current_plugin_name) { current_plugin_name = &name; }
  ~NameScope() { current_plugin_name = saved; }
};

// The smallest descriptor and command of ABI 2.0: every field up to the last one 2.0 has.
constexpr size_t kPluginV2Size = offsetof(modelpin_plugin_v2, on_outcome) + sizeof(modelpin_plugin_v2::on_outcome);
constexpr size_t kCommandV2Size = offsetof(modelpin_command_v2, directive_args) + sizeof(uint32_t);
constexpr uint32_t kMaxDirectiveArgs = 8;

// The plugin's own session fields, as an ABI 2 array.
std::vector<modelpin_field_v2> FieldViews(const SessionState& session, const std::string& prefix) {
  std::vector<modelpin_field_v2> fields;
  for (auto it = session.plugin_state.lower_bound(prefix);
       it != session.plugin_state.end() && it->first.rfind(prefix, 0) == 0; ++it)
    fields.push_back({sizeof(modelpin_field_v2), Str2(it->first), Str2(it->second)});
  return fields;
}

// What FindDirective hands to ApplyDirective: which command, and the directive as typed.
struct DirectivePayload {
  size_t index;
  std::string text;
};

class NativePluginV2 : public Plugin {
 public:
  struct Command {
    uint32_t effect = MODELPIN_DIRECTIVE_NONE;
    uint32_t args = 0;
  };
  NativePluginV2(const modelpin_plugin_v2* d, void* handle, std::string source, std::vector<CommandInfo> commands,
                 std::vector<Command> effects)
      : d_(d), handle_(handle), name_(d->name), prefix_(name_ + "."), source_(std::move(source)),
        commands_(std::move(commands)), effects_(std::move(effects)) {
    for (const Command& c : effects_) has_directives_ |= c.effect != MODELPIN_DIRECTIVE_NONE;
  }
  ~NativePluginV2() override {
    if (created_ && d_->destroy) {
      NameScope scope(name_);
      d_->destroy(state_);
    }
    if (handle_) dlclose(handle_);
  }
  NativePluginV2(const NativePluginV2&) = delete;
  NativePluginV2& operator=(const NativePluginV2&) = delete;

  // Runs create() with the plugin's config section ("{}" when none). The reason on failure.
  std::string Create(std::string_view config_json) {
    if (d_->create == nullptr) return "";
    char error[256] = {0};
    NameScope scope(name_);
    if (d_->create(&kHost2, Str2(config_json), &state_, error, sizeof(error)) != 0) {
      error[sizeof(error) - 1] = '\0';
      return error[0] ? text::SanitizeUtf8(error) : "no reason given";
    }
    created_ = true;
    return "";
  }

  // The library stays open for the caller to close (a plugin that failed to start).
  void ForgetLibrary() { handle_ = nullptr; }

  std::string_view name() const override { return name_; }
  std::string_view source() const override { return source_; }
  std::vector<CommandInfo> Commands() const override { return commands_; }
  bool ObservesRoutes() const override { return d_->on_route != nullptr; }
  bool ObservesOutcomes() const override { return d_->on_outcome != nullptr; }

  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    const CommandInfo* command = FindCommand(commands_, text);
    if (command == nullptr) return std::nullopt;
    if (command->owner_only && !ctx.sender_is_owner)
      return std::vector<Reply>{{absl::StrCat("/", command->name, " is for owners only."), true}};
    Collected out{&prefix_, {}, {}, {}};
    const int consumed = Call(*command, MODELPIN_DIRECTIVE_NONE, text, ctx, out);
    if (!out.problem.empty()) return RefuseOutput(ctx, name_, out.problem);
    if (consumed != 0 && consumed != 1)
      return RefuseOutput(ctx, name_, absl::StrCat(consumed, " from handle (expected 1 or 0)"));
    if (consumed == 0) return std::nullopt;
    if (std::string problem = ApplyFieldChanges(ctx, prefix_, out); !problem.empty())
      return RefuseOutput(ctx, name_, problem);
    return std::move(out.replies);
  }

  // A directive: "/word" at the start of the text or after a space, one of its commands with a
  // directive effect, and up to that command's directive_args words after it on the same line.
  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext& ctx) const override {
    (void)ctx;
    if (!has_directives_) return std::nullopt;
    for (size_t at = text.find('/'); at != std::string_view::npos; at = text.find('/', at + 1)) {
      if (at > 0 && text[at - 1] != ' ' && text[at - 1] != '\t' && text[at - 1] != '\n') continue;
      size_t end = at + 1;
      while (end < text.size() && IsWordByte(text[end])) ++end;
      if (end < text.size() && !IsBoundary(text[end])) continue;
      const CommandInfo* command = FindCommand(commands_, text.substr(at, end - at));
      if (command == nullptr) continue;
      const Command& effect = effects_[static_cast<size_t>(command - commands_.data())];
      if (effect.effect == MODELPIN_DIRECTIVE_NONE) continue;
      for (uint32_t k = 0; k < effect.args; ++k) {
        size_t word = end;
        while (word < text.size() && (text[word] == ' ' || text[word] == '\t')) ++word;
        if (word >= text.size() || text[word] == '\n') break;
        size_t word_end = word;
        while (word_end < text.size() && !IsBoundary(text[word_end])) ++word_end;
        end = word_end;
      }
      return DirectiveHit{{at, end}, DirectivePayload{static_cast<size_t>(command - commands_.data()),
                                                      std::string(text.substr(at, end - at))}};
    }
    return std::nullopt;
  }

  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    DirectiveResult r;
    const auto* payload = std::any_cast<DirectivePayload>(&hit.payload);
    if (payload == nullptr || payload->index >= commands_.size()) return r;
    const size_t index = payload->index;
    const CommandInfo& command = commands_[index];
    if (command.owner_only && !ctx.sender_is_owner) {
      return DirectiveResult::Error(absl::StrCat("/", command.name, " is for owners only."));
    }
    Collected out{&prefix_, {}, {}, {}};
    const uint32_t effect = effects_[index].effect;
    const int consumed = Call(command, effect, payload->text, ctx, out);
    auto fail = [&](std::string_view problem) {
      return DirectiveResult::Error(RefuseOutput(ctx, name_, problem).front().text);
    };
    if (!out.problem.empty()) return fail(out.problem);
    if (consumed != 0 && consumed != 1) return fail(absl::StrCat(consumed, " from handle (expected 1 or 0)"));
    if (consumed == 0) return r;  // declined: its replies and field changes are dropped
    for (const Reply& reply : out.replies)
      if (reply.is_error) {
        return DirectiveResult::Error(reply.text);  // a refusal refuses the message: nothing of it is stored
      }
    if (std::string problem = ApplyFieldChanges(ctx, prefix_, out); !problem.empty()) return fail(problem);
    r.stop_turn = effect == MODELPIN_DIRECTIVE_STOP;
    if (!out.replies.empty()) {
      std::vector<std::string> texts;
      for (Reply& reply : out.replies) texts.push_back(std::move(reply.text));
      r.kind = DirectiveReplyKind::kNotice;
      r.text = absl::StrJoin(texts, "\n\n");
    }
    return r;
  }

  void OnRoute(const InboundMessage& message, const Outcome& o, int64_t now_ms) const override {
    const Route& route = *o.route;
    std::vector<modelpin_str_v2> profiles;
    profiles.reserve(route.profiles.size());
    for (const auto& id : route.profiles) profiles.push_back(Str2(id));
    const std::vector<modelpin_field_v2> fields = FieldViews(o.session, prefix_);
    const std::string fallback_from = route.fallback_from.provider.empty() ? "" : route.fallback_from.Label();
    modelpin_route_v2 view{};
    view.struct_size = sizeof(view);
    view.agent_id = Str2(o.agent_id);
    view.session_key = Str2(o.session_key);
    view.sender = Str2(message.sender);
    view.text = Str2(route.text);
    view.provider = Str2(route.model.provider);
    view.model = Str2(route.model.model);
    view.profiles = profiles.data();
    view.profile_count = profiles.size();
    view.profile_stride = sizeof(modelpin_str_v2);
    view.thinking = Str2(route.thinking);
    view.fallback_from = Str2(fallback_from);
    view.rule = Str2(route.rule);
    view.fields = fields.data();
    view.field_count = fields.size();
    view.field_stride = sizeof(modelpin_field_v2);
    view.now_ms = now_ms;
    NameScope scope(name_);
    d_->on_route(state_, &view);
  }

  void OnOutcome(const std::string& agent_id, const std::string& session_key, const CallReport& report,
                 std::string_view provider, int64_t now_ms) const override {
    modelpin_outcome_v2 view{};
    view.struct_size = sizeof(view);
    view.success = report.error == ErrorClass::kOk ? 1 : 0;
    view.agent_id = Str2(agent_id);
    view.session_key = Str2(session_key);
    view.profile_id = Str2(report.profile_id);
    view.provider = Str2(provider);
    view.error = Str2(ErrorClassName(report.error));
    view.model = Str2(report.model);
    view.retry_after_ms = report.retry_after_ms;
    view.now_ms = now_ms;
    NameScope scope(name_);
    d_->on_outcome(state_, &view);
  }

 private:
  static bool IsWordByte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }
  static bool IsBoundary(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  // Calls handle() for `command` on a command line or a directive (`text`). The value handle
  // returned.
  int Call(const CommandInfo& command, uint32_t effect, std::string_view text, TurnContext& ctx, Collected& out) const {
    const std::vector<modelpin_field_v2> fields = FieldViews(ctx.session, prefix_);
    const ModelRef model = ctx.CurrentModel();
    const std::vector<std::string> ids = ctx.RouteProfilesFor(model);
    ProfileViews described;
    DescribeRoute(ctx, ids, described);
    std::vector<modelpin_profile_v2> profiles;
    profiles.reserve(described.profiles.size());
    for (const modelpin_profile_v1& p : described.profiles)
      profiles.push_back({sizeof(modelpin_profile_v2), p.error_count, Str2(View(p.id)), Str2(View(p.provider)),
                          Str2(View(p.type)), Str2(View(p.masked)), p.last_used_ms, p.cooldown_until_ms,
                          p.disabled_until_ms, p.expires_ms});
    modelpin_turn_v2 turn{};
    turn.struct_size = sizeof(turn);
    turn.directive = effect;
    turn.agent_id = Str2(ctx.agent_id);
    turn.session_key = Str2(ctx.session_key);
    turn.sender = Str2(ctx.sender);
    turn.text = Str2(text);
    turn.command = Str2(command.name);
    turn.sender_is_owner = ctx.sender_is_owner ? 1 : 0;
    turn.directive_only = effect != MODELPIN_DIRECTIVE_NONE && ctx.directive_only ? 1 : 0;
    turn.now_ms = ctx.now_ms;
    turn.fields = fields.data();
    turn.field_count = fields.size();
    turn.field_stride = sizeof(modelpin_field_v2);
    turn.provider = Str2(model.provider);
    turn.model = Str2(model.model);
    turn.profiles = profiles.data();
    turn.profile_count = profiles.size();
    turn.profile_stride = sizeof(modelpin_profile_v2);
    NameScope scope(name_);
    return d_->handle(state_, &turn, &kHost2, reinterpret_cast<modelpin_result_v2*>(&out));
  }
  static std::string_view View(const modelpin_str& s) { return {s.data ? s.data : "", s.data ? s.size : 0}; }

  const modelpin_plugin_v2* d_;
  void* state_ = nullptr;
  bool created_ = false;
  void* handle_;
  std::string name_;
  std::string prefix_;
  std::string source_;
  std::vector<CommandInfo> commands_;
  std::vector<Command> effects_;  // by command
  bool has_directives_ = false;
};

// One command of a descriptor (ABI 1's modelpin_command_v1 or ABI 2's modelpin_command_v2, whose
// common fields have the same names), checked; `bad` makes the error.
template <typename C, typename Bad>
absl::StatusOr<CommandInfo> ReadCommand(const C& c, size_t i, const Bad& bad) {
  CommandInfo info{.name = OrEmpty(c.name), .summary = OrEmpty(c.summary), .usage = OrEmpty(c.usage)};
  info.owner_only = c.owner_only != 0;
  if (!IsWord(info.name)) return bad(absl::StrCat("command ", i, " has no name of [a-z0-9_-]"));
  if ((c.alias_count > 0 && c.aliases == nullptr) || (c.argument_count > 0 && c.arguments == nullptr) ||
      c.alias_count > 64 || c.argument_count > 256)
    return bad(absl::StrCat("/", info.name, ": a list is NULL or too long"));
  for (size_t k = 0; k < c.alias_count; ++k) {
    std::string a = OrEmpty(c.aliases[k]);
    if (!IsWord(a)) return bad(absl::StrCat("/", info.name, ": alias ", k, " is not of [a-z0-9_-]"));
    info.aliases.push_back(std::move(a));
  }
  for (size_t k = 0; k < c.argument_count; ++k) info.arguments.push_back(OrEmpty(c.arguments[k]));
  for (const std::string* s : {&info.summary, &info.usage})
    if (!text::IsValidUtf8(*s) || s->size() > 1024) return bad(absl::StrCat("/", info.name, ": a text is not valid UTF-8 or too long"));
  for (const auto& a : info.arguments)
    if (!text::IsValidUtf8(a) || a.size() > 256) return bad(absl::StrCat("/", info.name, ": an argument is not valid UTF-8 or too long"));
  return info;
}

absl::StatusOr<std::vector<CommandInfo>> ReadCommands(const modelpin_plugin_v1& d, const std::string& label) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: ", std::string(what)));
  };
  if (d.command_count > 0 && d.commands == nullptr) return bad("commands is NULL");
  if (d.command_count > 64) return bad("more than 64 commands");
  std::vector<CommandInfo> out;
  for (size_t i = 0; i < d.command_count; ++i) {
    ASSIGN_OR_RETURN(CommandInfo info, ReadCommand(d.commands[i], i, bad));
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const Plugin>> WrapV1(const modelpin_plugin_v1* d, const std::string& label, void* handle,
                                                     const Config* config) {
  if (d->struct_size < offsetof(modelpin_plugin_v1, handle) + sizeof(d->handle))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: struct_size ", d->struct_size,
                                                   " is smaller than ABI version 1's ", sizeof(modelpin_plugin_v1)));
  if (d->name == nullptr || !IsWord(d->name))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: name is not of [a-z0-9_-]"));
  if (d->handle == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: handle is NULL"));
  // ABI 1 has no way to hand a plugin its configuration: a section for it would be ignored.
  if (config && config->PluginConfig(d->name))
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": plugin ", d->name, " speaks plugin ABI version 1, which takes no configuration; remove ",
        JoinPath("$.plugins.entries", d->name), ".config or rebuild the plugin against modelpin/plugin_v2.h"));
  auto commands = ReadCommands(*d, label);
  if (!commands.ok()) return commands.status();
  void* state = nullptr;
  if (d->init) {
    char error[256] = {0};
    if (d->init(&state, error, sizeof(error)) != 0) {
      error[sizeof(error) - 1] = '\0';
      return absl::FailedPreconditionError(absl::StrCat(label, ": plugin ", d->name, " failed to start: ",
                                                        error[0] ? text::SanitizeUtf8(error) : "no reason given"));
    }
  }
  return std::shared_ptr<const Plugin>(
      std::make_shared<NativePlugin>(d, state, handle, handle ? label : std::string(), *std::move(commands)));
}

absl::StatusOr<std::shared_ptr<const Plugin>> WrapV2(const modelpin_plugin_v2* d, const std::string& label, void* handle,
                                                     const Config* config) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: ", std::string(what)));
  };
  // Read nothing past what the plugin says it wrote.
  if (d->struct_size < kPluginV2Size)
    return bad(absl::StrCat("struct_size ", d->struct_size, " is smaller than ABI version 2's ", kPluginV2Size));
  if (d->name == nullptr || !IsWord(d->name)) return bad("name is not of [a-z0-9_-]");
  const std::string name = d->name;
  if (d->min_host_version > MODELPIN_HOST_VERSION_NUMBER)
    return absl::FailedPreconditionError(absl::StrCat(label, ": plugin ", name, " needs modelpin ",
                                                      VersionText(d->min_host_version), " or newer; this is ",
                                                      MODELPIN_HOST_VERSION));
  if (const uint64_t missing = d->required_capabilities & ~kHostCapabilities)
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": plugin ", name, " needs what this modelpin (", MODELPIN_HOST_VERSION, ", plugin ABI 2.",
        MODELPIN_PLUGIN_ABI_V2_MINOR, ") does not offer: ", CapabilityNames(missing),
        " (it offers ", CapabilityNames(kHostCapabilities), ")"));
  if (d->command_count > 0 && d->commands == nullptr) return bad("commands is NULL");
  if (d->command_count > 64) return bad("more than 64 commands");
  if (d->command_count > 0 && (d->command_stride < kCommandV2Size || d->command_stride % alignof(modelpin_command_v2) != 0))
    return bad(absl::StrCat("command_stride ", d->command_stride, " is not a whole modelpin_command_v2 (at least ",
                            kCommandV2Size, ", a multiple of ", alignof(modelpin_command_v2), ")"));
  if (d->command_count > 0 && d->handle == nullptr) return bad("it has commands but handle is NULL");
  std::vector<CommandInfo> commands;
  std::vector<NativePluginV2::Command> effects;
  for (size_t i = 0; i < d->command_count; ++i) {
    const modelpin_command_v2& c = *MODELPIN_AT(modelpin_command_v2, d->commands, d->command_stride, i);
    if (c.struct_size < kCommandV2Size || c.struct_size > d->command_stride)
      return bad(absl::StrCat("command ", i, " has struct_size ", c.struct_size, " (expected ", kCommandV2Size,
                              " to the command_stride ", d->command_stride, ")"));
    ASSIGN_OR_RETURN(CommandInfo info, ReadCommand(c, i, bad));
    if (c.directive > MODELPIN_DIRECTIVE_STOP)
      return bad(absl::StrCat("/", info.name, ": directive effect ", c.directive,
                              " is unknown to this modelpin (plugin ABI 2.", MODELPIN_PLUGIN_ABI_V2_MINOR,
                              " knows 0 none, 1 consume, 2 stop)"));
    if (c.directive_args > kMaxDirectiveArgs)
      return bad(absl::StrCat("/", info.name, ": directive_args ", c.directive_args, " is more than ", kMaxDirectiveArgs));
    if (c.directive != MODELPIN_DIRECTIVE_NONE && !(d->required_capabilities & MODELPIN_CAP_DIRECTIVES))
      return bad(absl::StrCat("/", info.name, " is a directive but required_capabilities lacks MODELPIN_CAP_DIRECTIVES"));
    commands.push_back(std::move(info));
    effects.push_back({c.directive, c.directive_args});
  }
  auto plugin = std::make_shared<NativePluginV2>(d, handle, handle ? label : std::string(), std::move(commands),
                                                 std::move(effects));
  const std::string* section = config ? config->PluginConfig(name) : nullptr;
  if (std::string why = plugin->Create(section ? std::string_view(*section) : std::string_view("{}")); !why.empty()) {
    // The plugin is not created: destroy() must not run, and the caller closes the library.
    plugin->ForgetLibrary();
    plugin.reset();
    return absl::FailedPreconditionError(absl::StrCat(label, ": plugin ", name, " failed to start: ", why));
  }
  return std::shared_ptr<const Plugin>(std::move(plugin));
}

// Checks a descriptor of any ABI version this modelpin loads: its first field, abi_version,
// keeps its place in every version.
absl::StatusOr<std::shared_ptr<const Plugin>> Wrap(const void* descriptor, const std::string& label, void* handle,
                                                   const Config* config) {
  if (descriptor == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(label, ": not a modelpin plugin (modelpin_plugin returned NULL)"));
  uint32_t abi = 0;
  std::memcpy(&abi, descriptor, sizeof(abi));
  if (abi == 1) return WrapV1(static_cast<const modelpin_plugin_v1*>(descriptor), label, handle, config);
  if (abi == 2) return WrapV2(static_cast<const modelpin_plugin_v2*>(descriptor), label, handle, config);
  return absl::FailedPreconditionError(absl::StrCat(label, ": built for modelpin plugin ABI version ", abi,
                                                    "; this modelpin loads ABI versions 1 and 2"));
}

// The ELF class, byte order and machine of this process: a plugin must match all three.
constexpr unsigned char kElfClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
constexpr unsigned char kElfData = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
#if defined(__x86_64__)
constexpr int kElfMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kElfMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int kElfMachine = EM_386;
#elif defined(__arm__)
constexpr int kElfMachine = EM_ARM;
#elif defined(__riscv)
constexpr int kElfMachine = EM_RISCV;
#elif defined(__powerpc64__)
constexpr int kElfMachine = EM_PPC64;
#elif defined(__s390x__)
constexpr int kElfMachine = EM_S390;
#else
constexpr int kElfMachine = -1;  // not checked
#endif

// Whether [offset, offset + count * size) lies inside a file of `file_size` bytes.
bool Inside(uint64_t offset, uint64_t count, uint64_t size, uint64_t file_size) {
  if (count != 0 && size > UINT64_MAX / count) return false;
  const uint64_t bytes = count * size;
  return offset <= file_size && bytes <= file_size - offset;
}

// Reads exactly `size` bytes at `offset`.
bool ReadAt(int fd, void* out, size_t size, uint64_t offset) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Checks, before dlopen maps it, that `file` is a whole ELF shared object of this machine: the
// ELF header of this process's class, byte order and machine, of type shared object, and its
// program headers, loadable segments, section table and sections inside the file. dlopen maps a
// truncated file as it is and the process dies of SIGBUS on the first page past its end; a file
// for another machine gets an obscure error. Returns the reason for people ("" when fine).
// NOTE: a file replaced between this check and dlopen is not covered; plugin files are the
// operator's, not untrusted input.
std::string CheckSharedObject(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? "no such file" : absl::StrCat("cannot open it: ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return absl::StrCat("cannot look at it: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char ident[EI_NIDENT] = {};
  if (size < EI_NIDENT || !ReadAt(fd, ident, EI_NIDENT, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return absl::StrCat("not a shared library (", size, " bytes that do not start as an ELF file does)");
  if (ident[EI_CLASS] != kElfClass)
    return absl::StrCat("an ELF file for ", ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "64-bit",
                        " machines; this modelpin is ", sizeof(void*) * 8, "-bit");
  if (ident[EI_DATA] != kElfData) return "an ELF file of the other byte order than this machine's";
  ElfW(Ehdr) eh;
  if (size < sizeof(eh) || !ReadAt(fd, &eh, sizeof(eh), 0))
    return absl::StrCat("truncated: ", size, " bytes, shorter than an ELF header");
  if (eh.e_type != ET_DYN)
    return absl::StrCat("an ELF ", eh.e_type == ET_EXEC ? "executable" : eh.e_type == ET_REL ? "object file" : "file",
                        ", not a shared library (build it with -shared -fPIC)");
  if (kElfMachine >= 0 && eh.e_machine != kElfMachine)
    return absl::StrCat("built for another machine (ELF machine ", eh.e_machine, "; this one is ", kElfMachine, ")");
  if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(ElfW(Phdr)) || (eh.e_shnum != 0 && eh.e_shentsize != sizeof(ElfW(Shdr))))
    return "a malformed ELF header";
  auto truncated = [&](std::string_view what, uint64_t end) -> std::string {
    return absl::StrCat("truncated: its ", std::string(what), " ends at byte ", end, " but the file has ", size, " bytes");
  };
  if (!Inside(eh.e_phoff, eh.e_phnum, sizeof(ElfW(Phdr)), size))
    return truncated("program header table", eh.e_phoff + uint64_t{eh.e_phnum} * sizeof(ElfW(Phdr)));
  std::vector<ElfW(Phdr)> ph(eh.e_phnum);
  if (!ReadAt(fd, ph.data(), ph.size() * sizeof(ElfW(Phdr)), eh.e_phoff)) return "unreadable program headers";
  for (size_t i = 0; i < ph.size(); ++i)
    if (ph[i].p_type == PT_LOAD && !Inside(ph[i].p_offset, 1, ph[i].p_filesz, size))
      return truncated(absl::StrCat("loadable segment ", i), ph[i].p_offset + ph[i].p_filesz);
  if (eh.e_shnum != 0) {
    if (!Inside(eh.e_shoff, eh.e_shnum, sizeof(ElfW(Shdr)), size))
      return truncated("section table", eh.e_shoff + uint64_t{eh.e_shnum} * sizeof(ElfW(Shdr)));
    std::vector<ElfW(Shdr)> sh(eh.e_shnum);
    if (!ReadAt(fd, sh.data(), sh.size() * sizeof(ElfW(Shdr)), eh.e_shoff)) return "an unreadable section table";
    for (size_t i = 0; i < sh.size(); ++i)
      if (sh[i].sh_type != SHT_NOBITS && !Inside(sh[i].sh_offset, 1, sh[i].sh_size, size))
        return truncated(absl::StrCat("section ", i), sh[i].sh_offset + sh[i].sh_size);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v1* descriptor,
                                                                   const std::string& label, const Config* config) {
  return Wrap(descriptor, label, nullptr, config);
}

absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v2* descriptor,
                                                                   const std::string& label, const Config* config) {
  return Wrap(descriptor, label, nullptr, config);
}

absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(std::nullptr_t, const std::string& label,
                                                                   const Config* config) {
  return Wrap(nullptr, label, nullptr, config);
}

absl::StatusOr<std::shared_ptr<const Plugin>> LoadPlugin(const std::string& path, const Config* config) {
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  if (std::string why = CheckSharedObject(file); !why.empty())
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot load plugin: ", why));
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot load plugin: ", why ? why : "dlopen failed"));
  }
  // Both ABI versions export the same entry; its result's first field says which one it is.
  auto entry = reinterpret_cast<const void* (*)()>(dlsym(handle, MODELPIN_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    dlclose(handle);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a modelpin plugin (it exports no ", MODELPIN_PLUGIN_ENTRY_SYMBOL, " function)"));
  }
  auto plugin = Wrap(entry(), path, handle, config);
  if (!plugin.ok()) dlclose(handle);
  return plugin;
}

}  // namespace modelpin
