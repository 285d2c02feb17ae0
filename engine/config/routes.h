// Routing rules (config `modelpin.routes`): sessions matched by a session key pattern, a chat
// type or a channel get a default model and an auth order of their own.
//
//   SessionKeyInfo k = ParseSessionKey("agent:main:telegram:group:-100123:topic:7");
//   k.chat_type;  // "group"
//   k.channel;    // "telegram"
//   const RouteRule* rule = MatchRoute(config.routes(), key, /*channel=*/"", /*chat_type=*/"");
//
// Precedence: the session's pin, then the first matching rule, then the agent's default. The
// engine matches once per turn; a config without rules pays one emptiness check.
#ifndef MODELPIN_ENGINE_CONFIG_ROUTES_H_
#define MODELPIN_ENGINE_CONFIG_ROUTES_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <modelpin/engine/config/model_ref.h>

namespace modelpin {

// What an OpenClaw session key says about its chat: `agent:<agent>:<rest>` with <rest>
//   main                                   -> direct, channel ""
//   direct:<peer> | dm:<peer>              -> direct, channel ""
//   <channel>:group:<id>                   -> group
//   <channel>:channel:<id>                 -> channel
//   <channel>:direct:<id> | <channel>:dm:<id> -> direct
//   <channel>:<account>:<kind>:<id>        -> the same, per-account keys
//   cron:<job>                             -> cron, channel "cron"
//   hook:<id>                              -> hook, channel "hook"
// Thread suffixes (`:thread:<id>`, `:topic:<id>`) change nothing. A key without the `agent:`
// prefix is read as <rest>. Unknown layouts give chat type "" and the first part as channel.
// Views into `key` or into static strings; nothing is allocated.
struct SessionKeyInfo {
  std::string_view chat_type;  // "direct", "group", "channel", "cron", "hook" or ""
  std::string_view channel;    // as written in the key (compare without case)
};
SessionKeyInfo ParseSessionKey(std::string_view key);

// Whether `text` matches `pattern_lower` (`*` any run of characters, `?` one character),
// comparing ASCII letters without case. The pattern must already be lower case.
bool GlobMatch(std::string_view pattern_lower, std::string_view text);

// The chat types a rule's match.chatType may name.
bool IsKnownChatType(std::string_view chat_type);

// One rule of `modelpin.routes`, validated by Config::Parse. Match fields are ANDed; empty ones
// match everything.
struct RouteRule {
  size_t index = 0;           // position in modelpin.routes
  std::string name;           // "groups", or "routes[<index>]" when the config gives none
  std::string session_key;    // glob, lower case; "" = any
  std::string chat_type;      // "" = any
  std::string channel;        // lower case; "" = any
  std::optional<ModelRef> model;  // the default model of matched sessions
  std::string model_text;     // as written in the config ("haiku")
  // authOrder: provider (lower case, as written) -> profile ids, in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> auth_order;

  // The rule's order for `provider` (auth-aliased first, then as given), nullptr when it has none.
  const std::vector<std::string>* OrderFor(std::string_view provider) const;
  // What the rule matches on, for people: "chat type group, channel telegram", "every session".
  std::string MatchText() const;
  // Whether a session with this key (parsed as `info`) matches.
  bool Matches(std::string_view key, const SessionKeyInfo& info) const;
};

// The first rule matching the session, or nullptr. `channel` and `chat_type` (from the bot, who
// knows them) replace what the key says when non-empty.
const RouteRule* MatchRoute(const std::vector<RouteRule>& rules, std::string_view session_key,
                            std::string_view channel = {}, std::string_view chat_type = {});

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_ROUTES_H_
