// The seam between the engine and the command families. A plugin owns one family: its words,
// its argument grammar, its handler and its reply texts, and describes its commands
// (CommandInfo). The engine knows none of them by name: the embedder fills a PluginRegistry
// (modelpin::AddBuiltinPlugins in plugins/builtin.h adds the shipped ones; LoadPlugin adds a
// run-time plugin) and hands it over in EngineOptions::plugins.
//
// One message, as the engine drives it:
//   1. FindDirective() on each plugin in registration order, each on the text the earlier ones
//      left (their directive spans removed);
//   2. ApplyDirective() for every directive found, on a working copy of the session; an error
//      from any of them is the reply and nothing is stored;
//   3. if the cleaned text starts with '/', HandleCommand() until a plugin claims it;
//   4. otherwise the text goes on to the model (a route).
#ifndef MODELPIN_ENGINE_TURN_PLUGIN_H_
#define MODELPIN_ENGINE_TURN_PLUGIN_H_

#include <any>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/env_credentials.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/models/resolver.h>
#include <modelpin/engine/sessions/pin_source.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/grammar/directive.h>

namespace modelpin {

class PluginRegistry;
struct InboundMessage;  // engine/turn/engine.h
struct Outcome;         // engine/turn/engine.h
struct CallReport;      // engine/auth/rotation.h

struct Reply {
  std::string text;
  bool is_error = false;
  friend bool operator==(const Reply&, const Reply&) = default;
};

// What a plugin's directive does that other plugins of the same message may need to know,
// declared by the plugin (Plugin::DirectiveEffects) so that no plugin names another: the model
// plugin asks whether the message sets the thinking level itself, not whether "think" ran.
// Flags, or'ed.
enum class DirectiveEffect : uint32_t {
  kNone = 0,
  kSetsThinkingLevel = 1u << 0,  // the directive sets (or shows) the session's thinking level
};

// Where a message came from. Handlers must not care; it travels along for logs and replies
// that are only meaningful in one place (the REPL's help, say).
enum class MessageSource { kBot, kRepl, kReplay };

// Everything a plugin may read about the turn, and the session it may change.
struct TurnContext {
  const Config& config;
  const AgentView& agent;
  const std::string& agent_id;
  const std::string& session_key;
  const AuthStore& auth;            // the agent's effective auth store
  const std::string& auth_store_label;  // path shown in replies ("~/.modelpin/agents/main/agent/auth-profiles.json")
  const ModelResolver& resolver;
  int64_t now_ms;
  bool sender_is_owner;
  bool strict;
  MessageSource source;
  SessionState& session;            // working copy: changes are stored only if the turn succeeds
  const SessionState& stored;       // the session as it was before this message

  // Credentials from the environment, used when a provider has no eligible stored profile.
  const EnvCredentials* env = nullptr;
  // Memoised effective orders (set by the engine); OrderFor computes afresh without it.
  const AuthOrderMemo* orders = nullptr;
  // The routing rule (config modelpin.routes) this session matched, nullptr when none did. Its
  // model is already `agent.default_ref` (the engine hands over the rule's view of the agent);
  // its authOrder is what OrderFor gives for the providers it names.
  const RouteRule* rule = nullptr;
  // The engine's plugins (set by the engine): their commands, for /commands and reserved words.
  const PluginRegistry* plugins = nullptr;

  // Filled by the engine before ApplyDirective: how many directives this message holds, and
  // whether nothing but directives was left (OpenClaw composes replies differently then).
  size_t directive_count = 0;
  bool directive_only = false;
  // The plugins with a directive in this message, by name ("think", "model"); the first
  // directive_count entries (each plugin finds at most one directive per message). For logs
  // and tools: a plugin asks DirectiveSets() instead of naming another plugin.
  std::array<std::string_view, 8> directive_plugins{};
  bool HasDirective(std::string_view plugin) const;
  // The effects the plugins with a directive in this message declare (Plugin::DirectiveEffects),
  // or'ed; and whether one of them has `effect`.
  uint32_t directive_effects = 0;
  bool DirectiveSets(DirectiveEffect effect) const {
    return (directive_effects & static_cast<uint32_t>(effect)) != 0;
  }
  // Who sent the message (InboundMessage::sender), "" when unknown.
  std::string_view sender{};

  // The session's effective model: its override, else the agent default (a matching routing
  // rule's model, when it names one).
  ModelRef CurrentModel() const;
  // The session's model before this message (from `stored`).
  ModelRef StoredModel() const;
  // The same, written into `out` (reusing its strings).
  void CurrentModelInto(ModelRef& out) const;
  // The profiles a call on `model` would try now, in order (the session's pin, then the
  // effective order, then the provider's environment credential), without changing the session.
  std::vector<std::string> RouteProfilesFor(const ModelRef& model) const;
  // The effective auth order of a provider for this agent (without the session pin):
  // the matching routing rule's authOrder for the provider, else the agent's. The reference
  // stays valid for the whole turn.
  const AuthOrder& OrderFor(const std::string& provider) const;
  // The same for one model of the provider (its own cooldowns count while there are any).
  const AuthOrder& OrderFor(const std::string& provider, std::string_view model) const;
  // Orders computed for this turn when no engine memo is set.
  mutable std::map<std::string, AuthOrder> local_orders{};
};

struct DirectiveHit {
  grammar::Span span;
  std::any payload;  // the plugin's own parsed form
};

// How the engine treats one directive's answer (DirectiveResult::kind): a closed set, ranked by
// ComposeDirectives (engine/turn/compose.h), which decides what a message's replies are:
//   kError   refuses the whole message with this error reply; nothing is stored
//   kQuery   answers alone ("/think" with no level): no directive of the message is applied
//   kInfo    an information reply ("/model status"): the reply of a message of this directive
//            alone; beside other directives it answers alone like a query; inside a longer
//            message it is dropped without a word
//   kAck     applied: an acknowledgement, joined with the message's others by a space, in
//            directive order, as one reply
//   kNotice  applied: a reply of its own (after the acknowledgements), sent while the message
//            still goes on to the model ("hello /think high"; see AsInlineNotice)
//   kNone    applied (or ignored) without a word
// The first kError, kQuery or ranking kInfo in apply order (AppliesLast plugins after the others)
// ends the message: later directives are not applied.
enum class DirectiveReplyKind : uint8_t { kNone, kAck, kNotice, kInfo, kQuery, kError };
// The names, in enum order (for logs and tests).
inline constexpr std::array<std::pair<DirectiveReplyKind, std::string_view>, 6> kDirectiveReplyKindNames = {{
    {DirectiveReplyKind::kNone, "none"},
    {DirectiveReplyKind::kAck, "ack"},
    {DirectiveReplyKind::kNotice, "notice"},
    {DirectiveReplyKind::kInfo, "info"},
    {DirectiveReplyKind::kQuery, "query"},
    {DirectiveReplyKind::kError, "error"},
}};
constexpr std::string_view DirectiveReplyKindName(DirectiveReplyKind kind) {
  return kDirectiveReplyKindNames[static_cast<size_t>(kind)].second;
}

// A change of the session's model or credential pin that a directive made, for the pin history
// (docs/pins.md): who made it, and the scoped pin it set up. The engine records one event for
// the message once it is accepted (the last directive's change that names one wins).
struct PinChange {
  PinSource source = PinSource::kPlugin;
  grammar::PinLimitKind scope = grammar::PinLimitKind::kNone;  // a scoped pin (--once, --for, --turns)
  std::string scope_value{};  // its value as the history shows it: "2h", "3"; "" for --once
  // The scope as the history stores it: "--once", "--turns 3", "--for 2h"; "" without one.
  std::string ScopeText() const;
  friend bool operator==(const PinChange&, const PinChange&) = default;
};

// What one directive did: its answer (a kind and a text) and the effects the engine applies once
// the message is accepted. Plugins build it with the named constructors:
//   return DirectiveResult::Ack("Thinking level set to high.");
struct DirectiveResult {
  DirectiveReplyKind kind = DirectiveReplyKind::kNone;
  std::string text{};  // the reply (an error reply for kError)
  // The pin history event's source and scope when the directive changed the model or the
  // credential pin; without one a change is recorded as PinSource::kPlugin.
  std::optional<PinChange> pin_change{};
  // A thinking level for this message's model call only (an inline /think): Route::thinking.
  std::string run_thinking{};
  // The directive ends the turn (a run-time plugin's MODELPIN_DIRECTIVE_STOP, docs/plugins.md):
  // the message's replies are its answer, the session is stored, nothing goes to the model.
  bool stop_turn = false;

  static DirectiveResult Error(std::string text) { return {DirectiveReplyKind::kError, std::move(text)}; }
  static DirectiveResult Query(std::string text) { return {DirectiveReplyKind::kQuery, std::move(text)}; }
  static DirectiveResult Info(std::string text) { return {DirectiveReplyKind::kInfo, std::move(text)}; }
  static DirectiveResult Ack(std::string text) { return {DirectiveReplyKind::kAck, std::move(text)}; }
  static DirectiveResult Notice(std::string text) { return {DirectiveReplyKind::kNotice, std::move(text)}; }
  // The reply this result stands for: kError ones are error replies.
  Reply ToReply() && { return {std::move(text), kind == DirectiveReplyKind::kError}; }
  friend bool operator==(const DirectiveResult&, const DirectiveResult&) = default;
};

// OpenClaw's answer to a directive inside a longer message: the reply it would give the directive
// alone (`alone`, worked out on a scratch copy of the session), sent as a notice while the message
// goes on to the model. An error still refuses the message; the effects stay.
inline DirectiveResult AsInlineNotice(DirectiveResult alone) {
  if (alone.kind != DirectiveReplyKind::kError && alone.kind != DirectiveReplyKind::kNone)
    alone.kind = DirectiveReplyKind::kNotice;
  return alone;
}

// What a plugin says about one of its commands; /commands, the REPL's completion and help texts
// are made from it.
struct CommandInfo {
  std::string name;                    // the word without '/': "think"
  std::vector<std::string> aliases{};  // other words for it: "thinking", "t"
  std::string summary{};               // one line: "Show or set the session's thinking level."
  std::string usage{};                 // "/think [level]"
  std::vector<std::string> arguments{};  // subcommands and argument values, completed after the word
  bool owner_only = false;             // only owners (commands.ownerAllowFrom) may use it
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // The plugin's name; run-time plugins' session fields live under "<name>.".
  virtual std::string_view name() const = 0;
  // The file a run-time plugin was loaded from, as named (LoadPlugin's path); "" for a plugin
  // built into the program (the shipped ones, an embedder's own). Errors name it.
  virtual std::string_view source() const { return {}; }
  // The commands this plugin answers to, its own words first.
  virtual std::vector<CommandInfo> Commands() const = 0;
  // Words an agent's config adds to this plugin's (the model plugin's alias shorthands).
  virtual std::vector<std::string> AgentWords(const AgentView& agent) const {
    (void)agent;
    return {};
  }
  // Directives of a plugin that answers this are applied after all others of the message, so
  // they see its final model ("/model fable /think off" checks "off" against fable). Their
  // acknowledgements still appear in directive order.
  virtual bool AppliesLast() const { return false; }
  // What this plugin's directive does that other plugins of the message may need to know
  // (DirectiveEffect flags, or'ed); the engine gathers them in TurnContext::directive_effects.
  virtual uint32_t DirectiveEffects() const { return static_cast<uint32_t>(DirectiveEffect::kNone); }
  virtual std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext& ctx) const {
    (void)text;
    (void)ctx;
    return std::nullopt;
  }
  virtual DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const {
    (void)hit;
    (void)ctx;
    return {};
  }
  // A message whose cleaned text starts with '/'. nullopt: not this plugin's command.
  virtual std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const {
    (void)text;
    (void)ctx;
    return std::nullopt;
  }
  // Observers (docs/plugins.md#observing-routes-and-outcomes): a plugin whose Observes...()
  // answers true is told where each message that goes on to the model went (after its turn is
  // stored) and how each reported model call went (after it is recorded). Called from any
  // thread; they cannot change the answer, and an exception from them is dropped.
  virtual bool ObservesRoutes() const { return false; }
  virtual void OnRoute(const InboundMessage& message, const Outcome& outcome, int64_t now_ms) const {
    (void)message, (void)outcome, (void)now_ms;
  }
  virtual bool ObservesOutcomes() const { return false; }
  virtual void OnOutcome(const std::string& agent_id, const std::string& session_key, const CallReport& report,
                         std::string_view provider, int64_t now_ms) const {
    (void)agent_id, (void)session_key, (void)report, (void)provider, (void)now_ms;
  }
};

// The plugins an engine runs, in directive order. Filled by the embedder:
//   modelpin::PluginRegistry plugins;
//   modelpin::AddBuiltinPlugins(plugins);                 // plugins/builtin.h
//   plugins.Add(*modelpin::LoadPlugin("libusage.so"));    // engine/turn/plugin_loader.h
// Plugins are immutable once added, so a registry is cheap to copy and share between engines.
class PluginRegistry {
 public:
  // Adds a plugin after the others. Fails, naming both sides, when the same file is loaded
  // twice, when its name is another plugin's (their session fields would mix), or when one of its
  // command words or aliases is taken already:
  //   /model from plugins/libbad.so (plugin "bad") clashes with the built-in plugin "model"
  absl::Status Add(std::shared_ptr<const Plugin> plugin);
  const std::vector<std::shared_ptr<const Plugin>>& plugins() const { return plugins_; }
  // Every command of every plugin, in registration order.
  const std::vector<CommandInfo>& commands() const { return commands_; }
  // Whether `word` (lower case, without '/') names a command or an alias of one.
  bool IsCommandWord(std::string_view word) const;
  // The plugins that observe routes and outcomes, in registration order (empty: no call at all).
  const std::vector<const Plugin*>& route_observers() const { return route_observers_; }
  const std::vector<const Plugin*>& outcome_observers() const { return outcome_observers_; }

 private:
  std::vector<std::shared_ptr<const Plugin>> plugins_;
  std::vector<const Plugin*> route_observers_;
  std::vector<const Plugin*> outcome_observers_;
  std::vector<CommandInfo> commands_;
  std::vector<std::string> words_;  // sorted, lower case
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_PLUGIN_H_
