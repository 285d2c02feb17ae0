// What the sentinels of a `redis-sentinel://` store say, for `modelpin doctor`.
#include <modelpin/engine/sessions/redis_store.h>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/redis/client.h>

namespace modelpin {

using namespace redis_internal;  // NOLINT: this file's own internals

absl::StatusOr<SentinelReport> ReportSentinels(const RedisOptions& options) {
  if (options.sentinels.empty()) return absl::InvalidArgumentError(absl::StrCat(options.Display(), ": not a redis-sentinel:// store"));
  SentinelReport report;
  std::map<std::string, int> votes;
  for (const RedisOptions::Server& s : options.sentinels) {
    SentinelReport::Answer& a = report.answers.emplace_back();
    a.sentinel = absl::StrCat(s.host, ":", s.port);
    Context c = Dial(s.host, s.port, options.timeout_ms);
    if (!c || c->err) {
      a.error = c ? c->errstr : "out of memory";
      continue;
    }
    auto r = AskOnce(c.get(), {"SENTINEL", "get-master-addr-by-name", options.master_name});
    if (!r.ok()) {
      a.error = std::string(r.status().message());
    } else if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != 2) {
      a.error = absl::StrCat("does not know master \"", options.master_name, "\"");
    } else {
      a.primary = absl::StrCat(Str((*r)->element[0]), ":", Str((*r)->element[1]));
      ++votes[a.primary];
    }
  }
  for (const auto& [primary, n] : votes)
    if (report.primary.empty() || n > votes[report.primary]) report.primary = primary;
  report.agree = votes.size() == 1 && std::all_of(report.answers.begin(), report.answers.end(),
                                                  [](const auto& a) { return !a.primary.empty(); });
  if (report.primary.empty()) return report;
  // The primary's own view of its replicas (ROLE): address and the offset each acknowledged.
  size_t colon = report.primary.rfind(':');
  int port = 0;
  ParseNumber(std::string_view(report.primary).substr(colon + 1), &port);
  Context c = Dial(report.primary.substr(0, colon), port, options.timeout_ms);
  if (!c || c->err) {
    report.primary_error = c ? c->errstr : "out of memory";
    return report;
  }
  if (!options.password.empty()) {
    Args auth = {"AUTH"};
    if (!options.user.empty()) auth.push_back(options.user);
    auth.push_back(options.password);
    if (auto r = AskOnce(c.get(), auth); !r.ok()) {
      report.primary_error = absl::StrCat("AUTH: ", r.status().message());
      return report;
    }
  }
  auto role = AskOnce(c.get(), {"ROLE"});
  if (!role.ok()) {
    report.primary_error = std::string(role.status().message());
    return report;
  }
  const redisReply* x = role->get();
  if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 || Str(x->element[0]) != "master") {
    report.primary_error = absl::StrCat("it says it is a ", x->type == REDIS_REPLY_ARRAY && x->elements ? Str(x->element[0]) : "?",
                                        ", not the primary");
    return report;
  }
  long long primary_offset = x->element[1]->type == REDIS_REPLY_INTEGER ? x->element[1]->integer : 0;
  const redisReply* list = x->element[2];
  for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; ++i) {
    const redisReply* r = list->element[i];
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) continue;
    report.replicas.push_back(absl::StrCat(Str(r->element[0]), ":", Str(r->element[1]), " (acknowledged offset ",
                                           Str(r->element[2]), " of ", primary_offset, ")"));
  }
  return report;
}

}  // namespace modelpin
