#include "engine/routes.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "engine/auth_order.h"
#include "grammar/text.h"

namespace modelpin {
namespace {

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (text::LowerAscii(text[i]) != lower[i]) return false;
  return true;
}

// The chat kind a key part names ("group", "dm", ...), or "" when it names none.
std::string_view KindOf(std::string_view part) {
  if (EqualsLower(part, "group")) return "group";
  if (EqualsLower(part, "channel")) return "channel";
  if (EqualsLower(part, "direct") || EqualsLower(part, "dm")) return "direct";
  return {};
}

}  // namespace

SessionKeyInfo ParseSessionKey(std::string_view key) {
  std::string_view rest = key;
  // agent:<agent>:<rest>
  if (rest.size() > 6 && text::StartsWithLower(rest, "agent:")) {
    size_t colon = rest.find(':', 6);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  // The first four parts are all the layouts need; later ones are ids and thread suffixes.
  std::array<std::string_view, 4> parts{};
  size_t n = 0;
  for (size_t start = 0; n < parts.size() && start <= rest.size();) {
    size_t colon = rest.find(':', start);
    if (colon == std::string_view::npos) colon = rest.size();
    parts[n++] = rest.substr(start, colon - start);
    start = colon + 1;
  }
  if (n == 0 || parts[0].empty()) return {};
  if (EqualsLower(parts[0], "main")) return {"direct", ""};  // also "main:thread:<id>"
  if (EqualsLower(parts[0], "cron")) return {"cron", "cron"};
  if (EqualsLower(parts[0], "hook")) return {"hook", "hook"};
  if (KindOf(parts[0]) == "direct") return {"direct", ""};  // per-peer DM keys: direct:<peer>
  // <channel>:<kind>:<id>, or <channel>:<account>:<kind>:<id>.
  if (n >= 3)
    if (std::string_view kind = KindOf(parts[1]); !kind.empty()) return {kind, parts[0]};
  if (n >= 4)
    if (std::string_view kind = KindOf(parts[2]); !kind.empty()) return {kind, parts[0]};
  return {"", parts[0]};
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point (the last '*'): linear in practice, no recursion.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text::LowerAscii(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool IsKnownChatType(std::string_view chat_type) {
  for (std::string_view known : {"direct", "group", "channel", "cron", "hook"})
    if (chat_type == known) return true;
  return false;
}

const std::vector<std::string>* RouteRule::OrderFor(std::string_view provider) const {
  if (auth_order.empty()) return nullptr;
  const std::string canonical = AuthProvider(provider);
  for (const auto& [p, ids] : auth_order)
    if (p == canonical) return &ids;
  for (const auto& [p, ids] : auth_order)
    if (EqualsLower(provider, p)) return &ids;
  return nullptr;
}

std::string RouteRule::MatchText() const {
  std::string out;
  auto add = [&](const char* what, const std::string& value) {
    if (!value.empty()) absl::StrAppend(&out, out.empty() ? "" : ", ", what, " ", value);
  };
  add("chat type", chat_type);
  add("channel", channel);
  add("session key", session_key);
  return out.empty() ? "every session" : out;
}

bool RouteRule::Matches(std::string_view key, const SessionKeyInfo& info) const {
  if (!chat_type.empty() && !EqualsLower(info.chat_type, chat_type)) return false;
  if (!channel.empty() && !EqualsLower(info.channel, channel)) return false;
  if (!session_key.empty() && !GlobMatch(session_key, key)) return false;
  return true;
}

const RouteRule* MatchRoute(const std::vector<RouteRule>& rules, std::string_view session_key,
                            std::string_view channel, std::string_view chat_type) {
  if (rules.empty()) return nullptr;
  SessionKeyInfo info = ParseSessionKey(session_key);
  if (!channel.empty()) info.channel = channel;
  if (!chat_type.empty()) info.chat_type = chat_type;
  for (const RouteRule& rule : rules)
    if (rule.Matches(session_key, info)) return &rule;
  return nullptr;
}

}  // namespace modelpin
