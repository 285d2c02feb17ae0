// An agent's per-profile usage as the JSON document both tools write: the CLI's
// `models auth usage --json` and the service's GET /v1/usage (docs/usage-and-budgets.md):
//
//   {"agentId": "main", "profiles": [{"id": "anthropic:work", "provider": "anthropic",
//     "windows": {"5h": {...}, "1d": {...}, "7d": {...}, "30d": {...}}, "total": {...},
//     "budget": null}]}
//
// Each window's object is WriteUsageCountsJson's (engine/config/usage_json.h). `budget` is
// {"reason", "until"} while a budget stops the profile. The CLI also writes each profile's
// "failureCounts" (calls failed, by error class) after "total"; GET /v1/usage does not.
//
//   rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
//   WriteUsageReportJson(w, "main", store, now, [](const Credential&) { return true; }, {});
#ifndef MODELPIN_ENGINE_AUTH_USAGE_REPORT_JSON_H_
#define MODELPIN_ENGINE_AUTH_USAGE_REPORT_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/usage_json.h>

namespace modelpin {

struct UsageReportJsonOptions {
  std::optional<UsageWindow> only;  // that window alone; nullopt: every window
  bool failure_counts = false;      // write each profile's "failureCounts"
};

// A string as valid UTF-8 JSON (an invalid byte becomes U+FFFD, base/text.h SanitizeUtf8).
template <typename Writer>
void WriteUsageReportString(Writer& w, std::string_view s) {
  if (text::IsValidUtf8(s)) {
    w.String(s.data(), static_cast<unsigned>(s.size()));
    return;
  }
  const std::string clean = text::SanitizeUtf8(s);
  w.String(clean.data(), static_cast<unsigned>(clean.size()));
}

// The profiles of `store` for which `shown(const Credential&)` is true, in store order, their
// windows counted at `now` (ms since the epoch). Works with any RapidJSON writer.
template <typename Writer, typename Shown>
void WriteUsageReportJson(Writer& w, std::string_view agent, const AuthStore& store, int64_t now, Shown&& shown,
                          const UsageReportJsonOptions& options) {
  w.StartObject();
  w.Key("agentId");
  WriteUsageReportString(w, agent);
  w.Key("profiles");
  w.StartArray();
  for (const Credential& c : store.profiles()) {
    if (!shown(c)) continue;
    const UsageStats& u = store.Usage(c.id);
    w.StartObject();
    w.Key("id");
    WriteUsageReportString(w, c.id);
    w.Key("provider");
    WriteUsageReportString(w, c.provider);
    w.Key("windows");
    w.StartObject();
    for (UsageWindow win : kUsageWindows) {
      if (options.only && win != *options.only) continue;
      const std::string_view name = UsageWindowName(win);
      w.Key(name.data(), static_cast<unsigned>(name.size()));
      WriteUsageCountsJson(w, InWindow(u.usage, win, now));
    }
    w.EndObject();
    w.Key("total");
    WriteUsageCountsJson(w, u.usage.total);
    if (options.failure_counts) {
      w.Key("failureCounts");
      w.StartObject();
      for (const auto& [cls, n] : u.usage.failures_by_class) {
        w.Key(cls.data(), static_cast<unsigned>(cls.size()));
        w.Int64(n);
      }
      w.EndObject();
    }
    w.Key("budget");
    if (u.budget_until > now) {
      w.StartObject();
      w.Key("reason");
      WriteUsageReportString(w, u.budget_reason);
      w.Key("until");
      WriteUsageReportString(w, FormatUtc(u.budget_until));
      w.EndObject();
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_USAGE_REPORT_JSON_H_
