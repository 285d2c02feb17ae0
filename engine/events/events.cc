#include <modelpin/engine/events/events.h>

#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <modelpin/base/clock.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {

std::string_view Event::Field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

std::string Event::ToJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("id");
  str(id);
  w.Key("at");
  str(FormatUtc(at_ms));
  w.Key("atMs");
  w.Int64(at_ms);
  w.Key("kind");
  str(EventKindName(kind));
  w.Key("agent");
  str(agent);
  w.Key("session");
  str(session);
  w.Key("fields");
  w.StartObject();
  for (const auto& [k, v] : fields) {
    str(k);
    str(v);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string NewEventId() {
  static const uint64_t prefix = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> sequence{0};
  return absl::StrFormat("%016x-%d", prefix, sequence.fetch_add(1, std::memory_order_relaxed) + 1);
}

void EmitStoreFailover(EventSink* sink, int64_t now_ms, std::string_view store, std::string_view from,
                       std::string_view to, std::string_view reason) {
  if (sink == nullptr) return;
  Event e{NewEventId(), now_ms, EventKind::kStoreFailedOver, "", "", {}};
  e.fields = {{"store", std::string(store)}, {"from", std::string(from)}, {"to", std::string(to)},
              {"reason", std::string(reason)}};
  sink->OnEvent(e);
}

}  // namespace modelpin
