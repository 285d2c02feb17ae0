#include "engine/turn/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/text.h"
#include "modelpin/plugin_v1.h"

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
  NativePlugin(const modelpin_plugin_v1* d, void* state, void* handle, std::vector<CommandInfo> commands)
      : d_(d), state_(state), handle_(handle), name_(d->name), prefix_(name_ + "."), commands_(std::move(commands)) {}
  ~NativePlugin() override {
    if (d_->shutdown) d_->shutdown(state_);
    if (handle_) dlclose(handle_);
  }
  NativePlugin(const NativePlugin&) = delete;
  NativePlugin& operator=(const NativePlugin&) = delete;

  std::string_view name() const override { return name_; }
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
    if (consumed == 0) return std::nullopt;
    for (auto& [key, value] : out.changes) {
      if (value) ctx.session.plugin_state[key] = std::move(*value);
      else ctx.session.plugin_state.erase(key);
    }
    size_t kept = 0;
    for (auto it = ctx.session.plugin_state.lower_bound(prefix_);
         it != ctx.session.plugin_state.end() && it->first.rfind(prefix_, 0) == 0; ++it)
      ++kept;
    if (kept > kPluginMaxFields) return Refuse(ctx, "more than 64 session fields");
    return std::move(out.replies);
  }

 private:
  // The reply to malformed output; nothing of this message is stored.
  std::vector<Reply> Refuse(TurnContext& ctx, std::string_view problem) const {
    ctx.session = ctx.stored;
    return {{absl::StrCat("Plugin ", name_, " failed: it returned ", std::string(problem), ". Nothing was changed."), true}};
  }

  // The command `text` starts with ("/usage", "/USAGE extra"), or nullptr.
  const CommandInfo* Find(std::string_view text) const {
    if (text.empty() || text.front() != '/') return nullptr;
    size_t end = 1;
    while (end < text.size() && text::SpaceAt(text, end) == 0 && text[end] != ':') ++end;
    const std::string word = text::ToLower(text.substr(1, end - 1));
    for (const auto& c : commands_) {
      if (c.name == word) return &c;
      for (const auto& a : c.aliases)
        if (a == word) return &c;
    }
    return nullptr;
  }

  const modelpin_plugin_v1* d_;
  void* state_;
  void* handle_;
  std::string name_;
  std::string prefix_;
  std::vector<CommandInfo> commands_;
};

absl::StatusOr<std::vector<CommandInfo>> ReadCommands(const modelpin_plugin_v1& d, const std::string& label) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: ", std::string(what)));
  };
  if (d.command_count > 0 && d.commands == nullptr) return bad("commands is NULL");
  if (d.command_count > 64) return bad("more than 64 commands");
  std::vector<CommandInfo> out;
  for (size_t i = 0; i < d.command_count; ++i) {
    const modelpin_command_v1& c = d.commands[i];
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
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const Plugin>> Wrap(const modelpin_plugin_v1* d, const std::string& label, void* handle) {
  if (d == nullptr) return absl::InvalidArgumentError(absl::StrCat(label, ": not a modelpin plugin (modelpin_plugin returned NULL)"));
  // abi_version and struct_size keep their place in every ABI version.
  if (d->abi_version != kPluginAbiVersion)
    return absl::FailedPreconditionError(absl::StrCat(label, ": built for modelpin plugin ABI version ", d->abi_version,
                                                      "; this modelpin loads ABI version ", kPluginAbiVersion));
  if (d->struct_size < offsetof(modelpin_plugin_v1, handle) + sizeof(d->handle))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: struct_size ", d->struct_size,
                                                   " is smaller than ABI version 1's ", sizeof(modelpin_plugin_v1)));
  if (d->name == nullptr || !IsWord(d->name))
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: name is not of [a-z0-9_-]"));
  if (d->handle == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(label, ": malformed plugin descriptor: handle is NULL"));
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
  return std::shared_ptr<const Plugin>(std::make_shared<NativePlugin>(d, state, handle, *std::move(commands)));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v1* descriptor,
                                                                   const std::string& label) {
  return Wrap(descriptor, label, nullptr);
}

absl::StatusOr<std::shared_ptr<const Plugin>> LoadPlugin(const std::string& path) {
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot load plugin: ", why ? why : "dlopen failed"));
  }
  auto entry = reinterpret_cast<modelpin_plugin_entry_fn>(dlsym(handle, MODELPIN_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    dlclose(handle);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a modelpin plugin (it exports no ", MODELPIN_PLUGIN_ENTRY_SYMBOL, " function)"));
  }
  auto plugin = Wrap(entry(), path, handle);
  if (!plugin.ok()) dlclose(handle);
  return plugin;
}

}  // namespace modelpin
