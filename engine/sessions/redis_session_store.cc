#include <modelpin/engine/sessions/redis_store.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/session_cache.h>
#include <modelpin/engine/sessions/store_ops.h>
#include <modelpin/engine/sessions/redis/client.h>
#include <modelpin/engine/sessions/redis/connection.h>
#include <modelpin/engine/sessions/redis/topology.h>

namespace modelpin {

using namespace redis_internal;  // NOLINT: this file's own internals

namespace {


// Writes one session: checks the version the caller read (ARGV[1], "" = any), stores the JSON
// (ARGV[2], "" = delete, keeping the version as a tombstone), keeps the agent's index and
// publishes the change as "<new version> <writer> <key>" (ARGV[4]: this process's token). Returns the new version, or -1 when the session changed meanwhile.
constexpr char kPutScript[] = R"lua(
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= v then return -1 end
v = v + 1
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'j')
  redis.call('HSET', KEYS[1], 'v', v)
  redis.call('SREM', KEYS[2], ARGV[3])
else
  redis.call('HSET', KEYS[1], 'v', v, 'j', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
end
redis.call('PUBLISH', KEYS[3], v .. ' ' .. ARGV[4] .. ' ' .. KEYS[1])
return v
)lua";

// Reads one session unless the caller's cached copy is current: ARGV[1] is the version the
// caller holds ("" = none). Returns {version} when it matches, else {version, json or nil}.
constexpr char kReadScript[] = R"lua(
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v == ARGV[1] then return {v} end
return {v, redis.call('HGET', KEYS[1], 'j')}
)lua";

}  // namespace

// ---- the store ----

struct RedisSessionStore::Impl {
  RedisOptions options;
  std::shared_ptr<EventSink> events;  // each command's OnStoreOp, and store_failed_over
  std::string channel;
  std::mutex mu;  // the command connection and the cache
  std::unique_ptr<Connection> conn;
  SessionCache cache;  // by full Redis key, with the hash's `v` (session_cache.h)
  void Forget(const std::string& k) { cache.Drop(k); }
  std::string key_buf;                               // reused for key building under mu
  std::string put_sha, read_sha;                     // the scripts' SHA1s (Connection::Eval)
  std::string token;  // this process's writer id in change messages (random, set at Open)
  // Group commit (SetGroupCommit): writes are pipelined, their replies read later; the first
  // failure among them is kept for Flush.
  bool pipelined = false;
  absl::Status group_error;
  // The answer to a pipelined write (an integer: the new version, -1 when its check failed) or
  // version check (an array: {version} when unchanged).
  void OnPipelinedReply(const std::string& k, absl::StatusOr<Reply> r) {
    absl::Status st = r.status();
    if (st.ok()) {
      const redisReply& x = **r;
      if (x.type == REDIS_REPLY_INTEGER && x.integer < 0)
        st = absl::AbortedError(absl::StrCat(k, ": changed in another process; a held change was not applied"));
      else if (x.type == REDIS_REPLY_ARRAY && x.elements != 1)
        st = absl::AbortedError(absl::StrCat(k, ": changed in another process; a reply described the state before"));
      else if (x.type != REDIS_REPLY_INTEGER && x.type != REDIS_REPLY_ARRAY)
        st = absl::InternalError(absl::StrCat(options.Display(), ": unexpected reply to a pipelined command"));
    }
    if (st.ok()) return;
    Forget(k);  // what this process assumed it wrote is not what the server holds
    if (group_error.ok()) group_error = st;
  }
  std::atomic<bool> live{false};  // the change subscription is up: the cache may be used
  std::atomic<bool> stop{false};
  std::thread listener;
  // Sentinel: where the primary is; the thread that follows the sentinels' `+switch-master`
  // and whether it is subscribed (without it a switch could go unnoticed: nothing is cached).
  std::shared_ptr<Topology> topology;
  int switch_subscription = 0;
  std::atomic<bool> watch_ok{true};
  std::thread watcher;
  // Until then (NowMs), this process's own change messages are judged by version like any
  // other: a write whose answer never came may land later, after a read cached the state before.
  std::atomic<int64_t> own_suspect_until_ms{0};

  const std::string& Key(const std::string& agent, const std::string& key) {
    key_buf.clear();
    absl::StrAppend(&key_buf, options.prefix, "s:", agent, ":", key);
    return key_buf;
  }
  std::string IndexKey(const std::string& agent) const { return absl::StrCat(options.prefix, "idx:", agent); }

  // A change message: "<version> <writer> <key>". This process's own writes (writer == token)
  // are already in the cache: skipped without taking `mu`, so the listener never waits for a
  // command's round trip (a futex sleep and wake per write). Another writer's message drops the
  // cached key unless the cache already holds that version or a later one (a read that came
  // after the change); a message that does not parse drops the key, "" everything. Reads and
  // writes hold `mu` for their whole round trip and cache what the server answered, so a change
  // that raced one of them arrives after it and is judged by its version here.
  void Invalidate(std::string_view message) {
    uint64_t version = UINT64_MAX;
    std::string_view key = message;
    if (size_t sp = message.find(' '); sp != std::string_view::npos && ParseNumber(message.substr(0, sp), &version)) {
      std::string_view rest = message.substr(sp + 1);
      size_t sp2 = rest.find(' ');
      if (sp2 != std::string_view::npos && rest.substr(0, sp2) == token && NowMs() >= own_suspect_until_ms.load())
        return;
      key = sp2 == std::string_view::npos ? rest : rest.substr(sp2 + 1);
    } else {
      version = UINT64_MAX;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (message.empty()) return cache.Clear();
    cache.DropOlder(std::string(key), version);
  }

  // Whether the cache may be used with a change subscription made in `epoch`: the sentinels are
  // followed (or there are none) and the primary has not moved since.
  bool Usable(uint64_t epoch) const { return watch_ok.load() && (!topology || topology->epoch() == epoch); }

  // Follows the change channel on its own connection. While it is down, nothing is cached.
  void Listen() {
    int backoff_ms = 10;
    while (!stop.load()) {
      Connection sub(options, topology);
      auto subscribed = sub.Run({"SUBSCRIBE", channel});
      if (!subscribed.ok()) {
        for (int waited = 0; waited < backoff_ms && !stop.load(); waited += 10)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        backoff_ms = std::min(backoff_ms * 2, 1000);
        continue;
      }
      backoff_ms = 10;
      const uint64_t epoch = sub.epoch();
      // Replies are read only when poll says the socket has data, so a quiet channel never
      // times out the connection, and `stop` (or a new primary) is seen within 100 ms.
      while (!stop.load()) {
        if (topology && topology->epoch() != epoch) break;  // the primary moved: subscribe there
        if (!live.load() && Usable(epoch)) {
          Invalidate("");
          live.store(true);
          if (!Usable(epoch)) live.store(false);  // a switch raced this: Watch or OnSwitch cleared it
        }
        void* raw = nullptr;
        if (redisGetReplyFromReader(sub.get(), &raw) != REDIS_OK) break;
        if (raw == nullptr) {
          pollfd p{sub.get()->fd, POLLIN, 0};
          int n = ::poll(&p, 1, 100);
          if (n < 0 && errno != EINTR) break;
          if (n > 0 && redisBufferRead(sub.get()) != REDIS_OK) break;
          continue;
        }
        Reply r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING)
          Invalidate(std::string_view(r->element[2]->str, r->element[2]->len));
      }
      live.store(false);
      Invalidate("");
    }
  }

  // A switch of the primary, reported as a store_failed_over event by the watcher thread
  // (EmitFailovers), so that no sink is called with a store's or the engine's lock held.
  struct Failover {
    int64_t at_ms;
    std::string from, to, reason;
  };
  std::mutex failover_mu;  // taken last, under any other lock
  std::vector<Failover> failovers;
  void QueueFailover(std::string from, std::string to, std::string_view reason) {
    if (!events) return;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(failover_mu);
    failovers.push_back({now_ms, std::move(from), std::move(to), std::string(reason)});
  }
  void EmitFailovers() {
    std::vector<Failover> due;
    {
      std::lock_guard<std::mutex> lock(failover_mu);
      due.swap(failovers);
    }
    for (const Failover& f : due) EmitStoreFailover(events.get(), f.at_ms, options.Display(), f.from, f.to, f.reason);
  }

  // Follows the sentinels' `+switch-master` announcements on one sentinel at a time (the next
  // one when it goes away). Reports the switches (EmitFailovers) at least every 100 ms. On (re)subscribing it asks for the primary, in case a switch
  // happened while it was not listening. While no sentinel is followed nothing is cached.
  void Watch() {
    size_t next = 0;
    int backoff_ms = 10;
    while (!stop.load()) {
      const RedisOptions::Server& s = options.sentinels[next++ % options.sentinels.size()];
      Context c = Dial(s.host, s.port, options.timeout_ms);
      bool subscribed = c && !c->err && AskOnce(c.get(), {"SUBSCRIBE", "+switch-master"}).ok();
      if (subscribed && topology->Refresh().ok()) {
        backoff_ms = 10;
        watch_ok.store(true);
        while (!stop.load()) {
          EmitFailovers();
          void* raw = nullptr;
          if (redisGetReplyFromReader(c.get(), &raw) != REDIS_OK) break;
          if (raw == nullptr) {
            pollfd p{c->fd, POLLIN, 0};
            int n = ::poll(&p, 1, 100);
            if (n < 0 && errno != EINTR) break;
            if (n > 0 && redisBufferRead(c.get()) != REDIS_OK) break;
            continue;
          }
          Reply r(static_cast<redisReply*>(raw));
          // "message" "+switch-master" "<master> <old ip> <old port> <new ip> <new port>"
          if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) continue;
          std::string text = Str(r->element[2]);
          std::vector<std::string_view> f = Split(text, ' ');
          int port = 0;
          if (f.size() == 5 && f[0] == options.master_name && ParseNumber(f[4], &port))
            topology->Switch({std::string(f[3]), port});
        }
      }
      watch_ok.store(false);
      live.store(false);
      EmitFailovers();
      for (int waited = 0; waited < backoff_ms && !stop.load(); waited += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      backoff_ms = std::min(backoff_ms * 2, 500);
    }
  }

  // Reads a session (under mu): from the cache when `cached` allows and it holds the session,
  // else from the server (and caches it while the change subscription is up). A fresh read asks
  // the server, which answers with the version alone when the cached copy is current: no
  // session JSON crosses the socket or is parsed again.
  absl::Status Read(const std::string& agent, const std::string& key, SessionState& into, uint64_t& version,
                    bool cached) {
    return cache.Read(
        agent, key, [&]() -> const std::string& { return Key(agent, key); },
        live.load(std::memory_order_acquire), cached, into, version,
        [&](const std::string& k, const uint64_t* held, SessionState& out, uint64_t& v, bool& current) {
          StoreOp op(events.get(), "redis", "get");
          return op.Done(Fetch(k, key, held != nullptr ? std::to_string(*held) : "", out, v, current));
        },
        [&] { return live.load(); });
  }

  // Whether the session still has `version` (under mu); when it changed, the fresh state is
  // cached for the caller's next read.
  absl::Status Confirm(const std::string& agent, const std::string& key, uint64_t version) {
    const std::string& k = Key(agent, key);
    if (pipelined && !read_sha.empty() && live.load())  // checked later, as a write is (Flush)
      return conn->Send({"EVALSHA", read_sha, "1", k, std::to_string(version)}, k);
    SessionState fresh;
    uint64_t now = 0;
    bool current = false;
    RETURN_IF_ERROR(Fetch(k, key, std::to_string(version), fresh, now, current));
    if (current) return absl::OkStatus();
    if (live.load()) cache.Put(k, fresh, now);
    return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
  }

  // Reads Redis key `k` unless the server holds version `held`: then sets `current` and leaves
  // `into` alone. Otherwise `into` and `version` are what the server holds.
  absl::Status Fetch(const std::string& k, const std::string& key, const std::string& held, SessionState& into,
                     uint64_t& version, bool& current) {
    ASSIGN_OR_RETURN(Reply r, conn->Eval(kReadScript, read_sha, {"1", k, held}));
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements > 2 || r->element[0]->type != REDIS_REPLY_STRING)
      return absl::DataLossError(absl::StrCat(options.Display(), ": ", k, ": not a modelpin session"));
    version = 0;
    ParseNumber(std::string_view(r->element[0]->str, r->element[0]->len), &version);
    current = r->elements == 1;
    if (current) return absl::OkStatus();
    if (r->element[1]->type == REDIS_REPLY_STRING) {
      auto s = SessionState::FromStorageJson(std::string_view(r->element[1]->str, r->element[1]->len));
      if (!s.ok()) return absl::DataLossError(absl::StrCat(options.Display(), ": session ", key, ": ", s.status().message()));
      into = *std::move(s);
    } else {
      into = SessionState{};
    }
    return absl::OkStatus();
  }

  absl::Status Write(const std::string& agent, const std::string& key, const SessionState& state,
                     std::optional<uint64_t> expected) {
    std::string k = Key(agent, key);
    std::string index = IndexKey(agent);
    std::string json = state.empty() ? "" : state.StorageJson();
    std::string want = expected ? std::to_string(*expected) : "";
    if (pipelined && expected && !put_sha.empty() && live.load()) {
      // The version a successful write gets is known: the one it checks, plus one.
      RETURN_IF_ERROR(conn->Send({"EVALSHA", put_sha, "3", k, index, channel, want, json, key, token}, k));
      cache.Put(k, state, *expected + 1);
      return absl::OkStatus();
    }
    // With storeWaitReplicas, WAIT goes in the same round trip, and gives up a little before
    // the connection's own timeout so that its answer (how many replicas confirmed) arrives.
    std::string wait_n, wait_ms;
    Args wait;
    if (options.wait_replicas > 0) {
      wait_n = std::to_string(options.wait_replicas);
      wait_ms = std::to_string(std::max(1, options.timeout_ms * 3 / 4));
      wait = {"WAIT", wait_n, wait_ms};
    }
    Reply waited;
    absl::StatusOr<Reply> r = conn->Eval(kPutScript, put_sha, {"3", k, index, channel, want, json, key, token},
                                         options.wait_replicas > 0 ? &wait : nullptr, &waited);
    if (!r.ok()) {
      if (!conn->sent() || r.status().code() != absl::StatusCode::kUnavailable) return r.status();
      // The write left this process but its answer never came: it may have landed (now or
      // later). The cached copy may be stale either way, so the next read asks the server.
      Forget(k);
      own_suspect_until_ms.store(NowMs() + 60'000);
      return absl::UnavailableError(absl::StrCat(r.status().message(), "; the change to session ", key,
                                                 " may have been applied"));
    }
    if ((*r)->type != REDIS_REPLY_INTEGER) return absl::InternalError(absl::StrCat(conn->Where(), ": unexpected reply to a session write"));
    if ((*r)->integer < 0) {
      Forget(k);
      return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
    }
    if (options.wait_replicas > 0 && (!waited || waited->type != REDIS_REPLY_INTEGER || waited->integer < options.wait_replicas)) {
      Forget(k);
      return absl::UnavailableError(absl::StrCat(
          conn->Where(), ": the change to session ", key, " is on the primary, but only ",
          waited && waited->type == REDIS_REPLY_INTEGER ? waited->integer : 0, " of ", options.wait_replicas,
          " replicas (modelpin.storeWaitReplicas) confirmed it within ", wait_ms,
          " ms: it may be lost if the primary fails now"));
    }
    const redisReply* x = r->get();
    // Our own change message carries this version and leaves the entry; a later one drops it.
    if (live.load()) cache.Put(k, state, static_cast<uint64_t>(x->integer));
    return absl::OkStatus();
  }
};

RedisSessionStore::RedisSessionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisSessionStore::~RedisSessionStore() {
  impl_->stop.store(true);
  if (impl_->listener.joinable()) impl_->listener.join();
  if (impl_->watcher.joinable()) impl_->watcher.join();
  if (impl_->topology) impl_->topology->Unsubscribe(impl_->switch_subscription);
}

absl::StatusOr<std::unique_ptr<RedisSessionStore>> RedisSessionStore::Open(const RedisOptions& options,
                                                                         std::shared_ptr<EventSink> events) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->events = std::move(events);
  impl->channel = absl::StrCat(options.prefix, "changes");
  impl->token = WriterToken();
  Impl* raw = impl.get();
  if (!options.sentinels.empty()) {
    impl->topology = Topology::For(options);
    // A new primary may lack changes the old one acknowledged, and the change subscription is
    // on the old one: nothing cached is used until the subscription is on the new primary.
    // The move is reported as a store_failed_over event (masked URL, old and new primary).
    impl->switch_subscription =
        impl->topology->OnSwitch([raw](const Topology::Addr& from, const Topology::Addr& to, std::string_view why) {
          raw->live.store(false);
          raw->QueueFailover(from.Label(), to.Label(), why);
        });
  }
  impl->conn = std::make_unique<Connection>(impl->options, impl->topology);
  impl->conn->set_on_reply([raw](const std::string& k, absl::StatusOr<Reply> r) { raw->OnPipelinedReply(k, std::move(r)); });
  if (absl::Status st = impl->conn->Run({"PING"}).status(); !st.ok()) {
    if (impl->topology) impl->topology->Unsubscribe(impl->switch_subscription);
    return st;
  }
  if (impl->topology) {
    impl->watch_ok.store(false);
    impl->watcher = std::thread([raw] { raw->Watch(); });
  }
  impl->listener = std::thread([raw] { raw->Listen(); });
  return std::unique_ptr<RedisSessionStore>(new RedisSessionStore(std::move(impl)));
}

absl::Status RedisSessionStore::Load(const std::string& agent, const std::string& key, SessionState& into) {
  uint64_t version;
  return LoadVersioned(agent, key, into, version, Read::kFresh);
}

void RedisSessionStore::SetGroupCommit(std::chrono::milliseconds window) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->conn->Drain();
  impl_->pipelined = window.count() > 0;
}

absl::Status RedisSessionStore::Flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "flush");
  impl_->conn->Drain();
  if (impl_->options.wait_replicas > 0 && impl_->group_error.ok()) {
    // Group commit: one WAIT acknowledges every write sent ahead on this connection.
    std::string n = std::to_string(impl_->options.wait_replicas), ms = std::to_string(impl_->options.timeout_ms * 3 / 4 + 1);
    absl::StatusOr<Reply> r = impl_->conn->Run({"WAIT", n, ms});
    if (!r.ok()) impl_->group_error = r.status();
    else if ((*r)->type != REDIS_REPLY_INTEGER || (*r)->integer < impl_->options.wait_replicas)
      impl_->group_error = absl::UnavailableError(absl::StrCat(impl_->conn->Where(), ": the changes are on the primary, but fewer than ", n,
                                                               " replicas (modelpin.storeWaitReplicas) confirmed them within ", ms, " ms"));
  }
  return op.Done(std::exchange(impl_->group_error, absl::OkStatus()));
}

absl::Status RedisSessionStore::Confirm(const std::string& agent, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "confirm");
  return op.Done(impl_->Confirm(agent, key, version));
}

absl::Status RedisSessionStore::LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                                              uint64_t& version, Read read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Read(agent, key, into, version, read == Read::kCached);
}

absl::Status RedisSessionStore::Put(const std::string& agent, const std::string& key, const SessionState& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "put");
  return op.Done(impl_->Write(agent, key, state, std::nullopt));
}

absl::Status RedisSessionStore::PutIfVersion(const std::string& agent, const std::string& key,
                                             const SessionState& state, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "put");
  return op.Done(impl_->Write(agent, key, state, version));
}

absl::StatusOr<std::vector<std::string>> RedisSessionStore::Keys(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "redis", "keys");
  absl::StatusOr<Reply> listed = impl_->conn->Run({"SMEMBERS", impl_->IndexKey(agent)});
  RETURN_IF_ERROR(op.Done(listed.status()));
  Reply r = *std::move(listed);
  std::vector<std::string> keys;
  for (size_t i = 0; i < r->elements; ++i) keys.emplace_back(r->element[i]->str, r->element[i]->len);
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool RedisSessionStore::caching() const { return impl_->live.load(); }

}  // namespace modelpin
