#include <modelpin/engine/config/routes_reader.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>

namespace modelpin {
namespace {

using rapidjson::Value;

// Whether `id` looks like an auth profile id: "<provider>:<name>", both parts non-empty, no
// spaces or control characters, at most 512 bytes (as /model accepts them).
bool WellFormedProfileId(std::string_view id) {
  size_t colon = id.find(':');
  if (id.size() > 512 || colon == 0 || colon == std::string_view::npos || colon + 1 == id.size()) return false;
  return std::none_of(id.begin(), id.end(), [](char ch) { return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f; });
}

}  // namespace

absl::StatusOr<std::vector<RouteRule>> ReadRoutes(const JsonReader& r, const Value& v,
                                                  const std::vector<ModelAliasEntry>& aliases) {
  const std::string base = "$.modelpin.routes";
  if (!v.IsArray()) return r.file().Error(base, absl::StrCat("expected an array of rules, found ", JsonReader::TypeName(v)));
  auto unknown_keys = [&](const Value& obj, const std::string& path,
                          std::initializer_list<const char*> known) -> absl::Status {
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
      std::string_view key(it->name.GetString(), it->name.GetStringLength());
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::string names;
        for (const char* k : known) absl::StrAppend(&names, names.empty() ? "" : ", ", k);
        return r.file().Error(JoinPath(path, std::string(key)),
                              absl::StrCat("unknown key \"", text::EchoSafe(key, 40), "\" (expected ", names, ")"));
      }
    }
    return absl::OkStatus();
  };
  std::vector<RouteRule> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const std::string path = absl::StrCat(base, "[", i, "]");
    const Value& rule = v[i];
    RETURN_IF_ERROR(r.Object(rule, path));
    RETURN_IF_ERROR(unknown_keys(rule, path, {"name", "match", "model", "authOrder"}));
    RouteRule rr;
    rr.index = i;
    rr.name = absl::StrCat("routes[", i, "]");
    if (const Value* n = JsonReader::Get(rule, "name")) {
      ASSIGN_OR_RETURN(rr.name, r.String(*n, path + ".name"));
      if (rr.name.empty() || rr.name.size() > 64 ||
          std::any_of(rr.name.begin(), rr.name.end(), [](char ch) { return static_cast<unsigned char>(ch) < ' '; }))
        return r.file().Error(path + ".name", "expected a rule name of 1 to 64 characters");
    }
    for (const RouteRule& earlier : out)
      if (earlier.name == rr.name)
        return r.file().Error(path + ".name", absl::StrCat("duplicate rule name \"", text::EchoSafe(rr.name, 64),
                                                           "\" (also routes[", earlier.index, "])"));
    if (const Value* m = JsonReader::Get(rule, "match")) {
      const std::string mpath = path + ".match";
      RETURN_IF_ERROR(r.Object(*m, mpath));
      RETURN_IF_ERROR(unknown_keys(*m, mpath, {"sessionKey", "chatType", "channel"}));
      if (const Value* k = JsonReader::Get(*m, "sessionKey")) {
        ASSIGN_OR_RETURN(std::string key, r.String(*k, mpath + ".sessionKey"));
        if (key.empty()) return r.file().Error(mpath + ".sessionKey", "expected a session key pattern such as \"agent:*:cron:*\"");
        rr.session_key = text::ToLower(key);
      }
      if (const Value* t = JsonReader::Get(*m, "chatType")) {
        ASSIGN_OR_RETURN(rr.chat_type, r.String(*t, mpath + ".chatType"));
        rr.chat_type = text::ToLower(rr.chat_type);
        if (!IsKnownChatType(rr.chat_type))
          return r.file().Error(mpath + ".chatType", absl::StrCat("unknown chat type \"", text::EchoSafe(rr.chat_type, 40),
                                                                  "\" (expected direct, group, channel, cron or hook)"));
      }
      if (const Value* c = JsonReader::Get(*m, "channel")) {
        ASSIGN_OR_RETURN(std::string channel, r.String(*c, mpath + ".channel"));
        if (channel.empty()) return r.file().Error(mpath + ".channel", "expected a channel name such as \"telegram\"");
        rr.channel = text::ToLower(channel);
      }
    }
    if (const Value* m = JsonReader::Get(rule, "model")) {
      ASSIGN_OR_RETURN(rr.model_text, r.String(*m, path + ".model"));
      std::string_view text = text::Trim(rr.model_text);
      if (text.find('/') != std::string_view::npos) {
        ModelRef ref = ParseConfigRef(text);
        if (!ref.provider.empty() && !ref.model.empty()) rr.model = std::move(ref);
      } else {
        for (const ModelAliasEntry& e : aliases)
          if (!e.alias.empty() && text::ToLower(e.alias) == text::ToLower(text)) rr.model = e.ref;
      }
      if (!rr.model)
        return r.file().Error(path + ".model",
                              absl::StrCat("model \"", text::EchoSafe(rr.model_text, 80),
                                           "\" does not resolve (expected \"provider/model\" or an alias of agents.defaults.models)"));
    }
    if (const Value* o = JsonReader::Get(rule, "authOrder")) {
      const std::string opath = path + ".authOrder";
      RETURN_IF_ERROR(r.Object(*o, opath));
      for (auto it = o->MemberBegin(); it != o->MemberEnd(); ++it) {
        std::string provider(it->name.GetString(), it->name.GetStringLength());
        const std::string ppath = JoinPath(opath, provider);
        ASSIGN_OR_RETURN(std::vector<std::string> ids, r.Strings(it->value, ppath));
        for (size_t k = 0; k < ids.size(); ++k)
          if (!WellFormedProfileId(ids[k]))
            return r.file().Error(absl::StrCat(ppath, "[", k, "]"),
                                  absl::StrCat("malformed auth profile id \"", text::EchoSafe(ids[k], 80),
                                               "\" (expected \"provider:name\", such as \"anthropic:work\")"));
        rr.auth_order.emplace_back(text::ToLower(provider), std::move(ids));
      }
    }
    if (!rr.model && rr.auth_order.empty())
      return r.file().Error(path, "a rule needs a \"model\", an \"authOrder\" or both");
    out.push_back(std::move(rr));
  }
  return out;
}

}  // namespace modelpin
