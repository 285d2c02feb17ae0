// One window's (or the totals') usage counters as the JSON object every tool writes: the CLI's
// `models auth usage --json` and `models auth list --json`, and the service's GET /v1/usage and
// /v1/profiles (docs/usage-and-budgets.md). `costUsd` is null when a call of a model without a
// price makes the cost unknown; the known part is `costKnownUsd`.
//
//   rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
//   WriteUsageCountsJson(w, InWindow(ledger, UsageWindow::k1d, now), "1d");
#ifndef MODELPIN_ENGINE_CONFIG_USAGE_JSON_H_
#define MODELPIN_ENGINE_CONFIG_USAGE_JSON_H_

#include <cstdint>
#include <string_view>
#include <utility>

#include <modelpin/engine/config/usage.h>

namespace modelpin {

// `window` ("1d"), when given, is written first as "window". Works with any RapidJSON writer.
template <typename Writer>
void WriteUsageCountsJson(Writer& w, const UsageCounts& c, std::string_view window = {}) {
  w.StartObject();
  if (!window.empty()) {
    w.Key("window");
    w.String(window.data(), static_cast<unsigned>(window.size()));
  }
  const std::pair<const char*, int64_t> counts[] = {
      {"calls", c.calls},           {"failures", c.failures},
      {"inputTokens", c.tokens.input}, {"outputTokens", c.tokens.output},
      {"cacheReadTokens", c.tokens.cache_read}, {"cacheWriteTokens", c.tokens.cache_write}};
  for (const auto& [name, n] : counts) {
    w.Key(name);
    w.Int64(n);
  }
  w.Key("costUsd");
  if (c.CostKnown()) w.Double(c.cost_usd);
  else w.Null();
  w.Key("costKnownUsd");
  w.Double(c.cost_usd);
  w.Key("unpricedCalls");
  w.Int64(c.unpriced);
  w.EndObject();
}

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_USAGE_JSON_H_
