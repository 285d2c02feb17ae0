#include <modelpin/engine/config/routes.h>

#include <array>

#include "absl/strings/str_cat.h"
#include <modelpin/base/text.h>
#include <modelpin/engine/config/model_ref.h>

namespace modelpin {
namespace {

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i)
    if (text::LowerAscii(text[i]) != lower[i]) return false;
  return true;
}

// The chat kind a key part names ("group", "dm", ...), or "" when it names none. By length
// first: this runs on every turn of a config with rules.
std::string_view KindOf(std::string_view part) {
  switch (part.size()) {
    case 2: return EqualsLower(part, "dm") ? "direct" : "";
    case 5: return EqualsLower(part, "group") ? "group" : "";
    case 6: return EqualsLower(part, "direct") ? "direct" : "";
    case 7: return EqualsLower(part, "channel") ? "channel" : "";
    default: return {};
  }
}

}  // namespace

SessionKeyInfo ParseSessionKey(std::string_view key) {
  // One pass over the key for the first colons (this runs on every turn of a config with rules:
  // a plain loop beats a memchr call per part on keys this short).
  std::array<size_t, 7> colon{};
  size_t colons = 0;
  for (size_t i = 0; i < key.size() && colons < colon.size(); ++i)
    if (key[i] == ':') colon[colons++] = i;
  // agent:<agent>:<rest>; a key without the prefix is all <rest>.
  size_t first = 0;
  const bool agent = colons >= 1 && colon[0] == 5 && EqualsLower(key.substr(0, 5), "agent");
  if (agent && colons == 1) return {};
  if (agent) first = 2;
  // The first four parts of <rest> are all the layouts need; later ones are ids and thread suffixes.
  std::array<std::string_view, 4> parts{};
  size_t n = 0;
  size_t start = first == 0 ? 0 : colon[1] + 1;
  for (size_t c = first; n < parts.size(); ++c) {
    size_t stop = c < colons ? colon[c] : key.size();
    parts[n++] = key.substr(start, stop - start);
    if (c >= colons) break;
    start = stop + 1;
  }
  if (parts[0].empty()) return {};
  if (parts[0].size() == 4) {
    if (EqualsLower(parts[0], "main")) return {"direct", ""};  // also "main:thread:<id>"
    if (EqualsLower(parts[0], "cron")) return {"cron", "cron"};
    if (EqualsLower(parts[0], "hook")) return {"hook", "hook"};
  }
  if (KindOf(parts[0]) == "direct") return {"direct", ""};  // per-peer DM keys: direct:<peer>
  // <channel>:<kind>:<id>, or <channel>:<account>:<kind>:<id>.
  if (n >= 3)
    if (std::string_view kind = KindOf(parts[1]); !kind.empty()) return {kind, parts[0]};
  if (n >= 4)
    if (std::string_view kind = KindOf(parts[2]); !kind.empty()) return {kind, parts[0]};
  return {"", parts[0]};
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // The pattern is literal pieces ('?' matches any one character) between '*'s. The first piece
  // must start the text, the last end it, and the ones between are taken leftmost-first, which
  // is exact for '*' and keeps a miss cheap: no backtracking over every position.
  auto same = [](char p, char t) { return p == '?' || p == text::LowerAscii(t); };
  size_t p = 0, t = 0;
  while (p < pattern.size() && pattern[p] != '*') {
    if (t == text.size() || !same(pattern[p], text[t])) return false;
    ++p;
    ++t;
  }
  if (p == pattern.size()) return t == text.size();
  size_t pe = pattern.size(), te = text.size();
  while (pattern[pe - 1] != '*') {
    if (te == t || !same(pattern[pe - 1], text[te - 1])) return false;
    --pe;
    --te;
  }
  // pattern[p] and pattern[pe - 1] are '*': the pieces between them go, in order, into text[t, te).
  for (++p; p < pe;) {
    size_t q = p;
    while (pattern[q] != '*') ++q;
    const size_t len = q - p;
    for (;; ++t) {
      if (t + len > te) return false;
      size_t i = 0;
      while (i < len && same(pattern[p + i], text[t + i])) ++i;
      if (i == len) break;
    }
    t += len;
    p = q + 1;
  }
  return true;
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
  // Every turn of a config with rules comes here: the key is parsed only when a rule asks for its
  // chat type or channel, and then once.
  SessionKeyInfo info;
  bool parsed = false;
  for (const RouteRule& rule : rules) {
    if (!parsed && (!rule.chat_type.empty() || !rule.channel.empty())) {
      info = ParseSessionKey(session_key);
      if (!channel.empty()) info.channel = channel;
      if (!chat_type.empty()) info.chat_type = chat_type;
      parsed = true;
    }
    if (rule.Matches(session_key, info)) return &rule;
  }
  return nullptr;
}

}  // namespace modelpin
