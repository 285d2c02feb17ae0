#include <modelpin/engine/sessions/redis_store.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/redis/client.h>
#include <modelpin/engine/sessions/redis/connection.h>
#include <modelpin/engine/sessions/redis/topology.h>
#include <modelpin/engine/sessions/store_ops.h>
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {

using namespace redis_internal;  // NOLINT: this file's own internals

struct RedisAuthHealth::Impl {
  RedisOptions options;
  std::shared_ptr<EventSink> events;  // each command's OnStoreOp
  std::shared_ptr<Topology> topology;
  std::mutex mu;
  std::unique_ptr<Connection> conn;
  std::string Key(const std::string& agent) const { return absl::StrCat(options.prefix, "health:", agent); }

  absl::StatusOr<UsageStats> ParseUsage(std::string_view json, const std::string& agent, const std::string& id) const {
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    std::string where = absl::StrCat(options.Display(), ": ", Key(agent), " u:", id);
    if (d.HasParseError()) return absl::DataLossError(absl::StrCat(where, ": not JSON"));
    auto u = ParseUsageStats(d, "$");
    if (!u.ok()) return absl::DataLossError(absl::StrCat(where, ": ", u.status().message()));
    return u;
  }
};

RedisAuthHealth::RedisAuthHealth(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisAuthHealth::~RedisAuthHealth() = default;

absl::StatusOr<std::unique_ptr<RedisAuthHealth>> RedisAuthHealth::Open(const RedisOptions& options,
                                                                     std::shared_ptr<EventSink> events) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->events = std::move(events);
  if (!options.sentinels.empty()) impl->topology = Topology::For(options);
  impl->conn = std::make_unique<Connection>(impl->options, impl->topology);
  RETURN_IF_ERROR(impl->conn->Run({"PING"}).status());
  return std::unique_ptr<RedisAuthHealth>(new RedisAuthHealth(std::move(impl)));
}

absl::StatusOr<AuthHealth> RedisAuthHealth::Read(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "health_read");
  absl::StatusOr<AuthHealth> result = [&]() -> absl::StatusOr<AuthHealth> {
    ASSIGN_OR_RETURN(Reply r, impl_->conn->Run({"HGETALL", impl_->Key(agent)}));
    AuthHealth h;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string_view field(r->element[i]->str, r->element[i]->len);
      std::string_view value(r->element[i + 1]->str, r->element[i + 1]->len);
      if (field.starts_with("u:")) {
        std::string id(field.substr(2));
        ASSIGN_OR_RETURN(h.usage[id], impl_->ParseUsage(value, agent, id));
      } else if (field.starts_with("g:")) {
        h.last_good[std::string(field.substr(2))] = std::string(value);
      }
    }
    return h;
  }();
  op.Record(result.status());
  return result;
}

absl::StatusOr<uint64_t> RedisAuthHealth::Version(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "health_version");
  absl::StatusOr<uint64_t> result = [&]() -> absl::StatusOr<uint64_t> {
    ASSIGN_OR_RETURN(Reply r, impl_->conn->Run({"HGET", impl_->Key(agent), "ver"}));
    uint64_t v = 0;
    if (r->type == REDIS_REPLY_STRING) ParseNumber(std::string_view(r->str, r->len), &v);
    return v;
  }();
  op.Record(result.status());
  return result;
}

absl::Status RedisAuthHealth::Update(const std::string& agent, const std::string& profile_id,
                                     const std::string& provider, const Change& change) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "health_update");
  return op.Done([&]() -> absl::Status {
    Connection& c = *impl_->conn;
    const std::string key = impl_->Key(agent), ufield = "u:" + profile_id, gfield = "g:" + provider;
    constexpr int kAttempts = 64;
    struct Unpin {
      Connection& c;
      ~Unpin() { c.set_pinned(false); }
    } unpin{c};
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      c.set_pinned(false);
      RETURN_IF_ERROR(c.Run({"WATCH", key}).status());
      c.set_pinned(true);
      ASSIGN_OR_RETURN(Reply r, c.Run({"HMGET", key, ufield, gfield}));
      UsageStats u;
      if (r->element[0]->type == REDIS_REPLY_STRING) {
        auto parsed = impl_->ParseUsage(std::string_view(r->element[0]->str, r->element[0]->len), agent, profile_id);
        if (!parsed.ok()) {
          (void)c.Run({"UNWATCH"});
          return parsed.status();
        }
        u = *parsed;
      }
      std::string last_good = r->element[1]->type == REDIS_REPLY_STRING ? std::string(r->element[1]->str, r->element[1]->len) : "";
      const std::string before = last_good;
      if (absl::Status st = change(u, last_good); !st.ok()) {
        (void)c.Run({"UNWATCH"});
        return st;
      }
      rapidjson::Document d;
      rapidjson::Value json = UsageStatsJson(u, d.GetAllocator());
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      json.Accept(w);
      std::vector<std::string_view> hset = {"HSET", key, ufield, std::string_view(buf.GetString(), buf.GetSize())};
      if (last_good != before && !last_good.empty()) hset.insert(hset.end(), {gfield, last_good});
      RETURN_IF_ERROR(c.Run({"MULTI"}).status());
      RETURN_IF_ERROR(c.Run(hset).status());
      RETURN_IF_ERROR(c.Run({"HINCRBY", key, "ver", "1"}).status());
      ASSIGN_OR_RETURN(Reply done, c.Run({"EXEC"}));
      if (done->type == REDIS_REPLY_ARRAY) return absl::OkStatus();  // nil: another process won; again
    }
    return absl::AbortedError(absl::StrCat("auth health of ", profile_id, " changed under ", kAttempts, " attempts"));
  }());
}

}  // namespace modelpin
