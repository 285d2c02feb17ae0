// The JSON the CLI and the service both write about an agent's auth profiles, so that
// `models auth ... --json` and the service's answers cannot drift apart (docs/cli.md,
// docs/service.md). Works with any RapidJSON writer.
//
// WriteUsageReportJson: the per-profile usage document of `models auth usage --json` and
// GET /v1/usage (docs/usage-and-budgets.md):
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
#ifndef MODELPIN_ENGINE_AUTH_PROFILE_JSON_H_
#define MODELPIN_ENGINE_AUTH_PROFILE_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/usage_json.h>

namespace modelpin {

struct UsageReportJsonOptions {
  std::optional<UsageWindow> only;  // that window alone; nullopt: every window
  bool failure_counts = false;      // write each profile's "failureCounts"
};

// A string as valid UTF-8 JSON (an invalid byte becomes U+FFFD, base/text.h SanitizeUtf8).
template <typename Writer>
void WriteJsonText(Writer& w, std::string_view s) {
  if (text::IsValidUtf8(s)) {
    w.String(s.data(), static_cast<unsigned>(s.size()));
    return;
  }
  const std::string clean = text::SanitizeUtf8(s);
  w.String(clean.data(), static_cast<unsigned>(clean.size()));
}

// Opens a profile's object with its "id" and "provider"; the caller writes the rest and ends it.
template <typename Writer>
void StartProfileJson(Writer& w, const Credential& c) {
  w.StartObject();
  w.Key("id");
  WriteJsonText(w, c.id);
  w.Key("provider");
  WriteJsonText(w, c.provider);
}

// A profile's health as members of the open object: "state", "until" (null when none), "reason"
// (null when none), "errorCount"; with `probes_and_quota` (the service's answers) also
// "failedProbes" while probes fail and "quota" when the provider reported one.
template <typename Writer>
void WriteHealthJsonMembers(Writer& w, const ProfileHealth& h, bool probes_and_quota) {
  w.Key("state");
  WriteJsonText(w, h.StateName());
  w.Key("until");
  if (h.until) WriteJsonText(w, FormatUtc(h.until));
  else w.Null();
  w.Key("reason");
  if (h.reason.empty()) w.Null();
  else WriteJsonText(w, h.reason);
  w.Key("errorCount");
  w.Int(h.errors);
  if (!probes_and_quota) return;
  if (h.failed_probes) {
    w.Key("failedProbes");
    w.Int(h.failed_probes);
  }
  if (!h.quota.empty()) {
    w.Key("quota");
    WriteJsonText(w, h.quota);
  }
}

// The profiles of `store` for which `shown(const Credential&)` is true, in store order, their
// windows counted at `now` (ms since the epoch). Works with any RapidJSON writer.
template <typename Writer, typename Shown>
void WriteUsageReportJson(Writer& w, std::string_view agent, const AuthStore& store, int64_t now, Shown&& shown,
                          const UsageReportJsonOptions& options) {
  w.StartObject();
  w.Key("agentId");
  WriteJsonText(w, agent);
  w.Key("profiles");
  w.StartArray();
  for (const Credential& c : store.profiles()) {
    if (!shown(c)) continue;
    const UsageStats& u = store.Usage(c.id);
    StartProfileJson(w, c);
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
      WriteJsonText(w, u.budget_reason);
      w.Key("until");
      WriteJsonText(w, FormatUtc(u.budget_until));
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

#endif  // MODELPIN_ENGINE_AUTH_PROFILE_JSON_H_
