// Sessions in a Redis server, shared by every bot process that points at it (config
// `modelpin.store`), so a user's next message may land on any process or machine. Internal (not
// installed): embedders open it through OpenConfiguredSessionStore (store_factory.h).
//
//   ASSIGN_OR_RETURN(RedisOptions o, RedisOptions::FromUrl("unix:///run/redis/redis.sock?db=2"));
//   o.prefix = "bot-eu:";
//   ASSIGN_OR_RETURN(auto store, RedisSessionStore::Open(o));
//
// Layout (every key under the prefix): `<prefix>s:<agent>:<session key>` is a hash {v: version,
// j: the session's storage JSON}; `<prefix>idx:<agent>` is the set of an agent's session keys;
// every change is published on `<prefix>changes` as "<version> <key>". Each write runs as
// one Lua script that checks the version the caller read (compare-and-set), so two processes
// changing one session never lose an update: the loser gets Aborted and the engine redoes the
// turn on the fresh state. A deleted session keeps its version (a tombstone), so a version is
// never reused.
//
// Each process caches the sessions it read and drops an entry when the change channel says
// another process (or itself) changed it; while that subscription is down nothing is cached, so
// a process never serves a change it was not told about. Every command has a timeout
// (`modelpin.storeTimeoutMs`): a server that does not answer gives that message an Unavailable
// error, and the next message reconnects. A command that never reached the server (the
// connection had died while idle, e.g. across a Redis restart) is sent again once on a fresh
// connection; a server still loading its data (`LOADING`) is waited for within the timeout; a
// write whose answer never came says "may have been applied" and drops the session from the
// cache, so the next read asks the server.
//
// With Redis Sentinel (`redis-sentinel://host:port,host:port/<master-name>?db=N`) the primary is
// whatever the sentinels name: asked at open, and again when a connection to it fails, when it
// answers READONLY (it was demoted), or when a sentinel announces `+switch-master`. Every
// connection moves to the new primary and the cache is dropped across a switch.
// `modelpin.storeWaitReplicas: N` acknowledges a write only after N replicas confirmed it
// (Redis WAIT). docs/redis.md says what each setting can lose in a failover.
#ifndef MODELPIN_ENGINE_SESSIONS_REDIS_STORE_H_
#define MODELPIN_ENGINE_SESSIONS_REDIS_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/auth/auth_health.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/sessions/session_store.h>
#include <modelpin/engine/sessions/store_factory.h>
#include <modelpin/engine/events/events.h>

namespace modelpin {

struct RedisOptions {
  // TCP (`redis://[[user]:password@]host:port/db`), a unix socket
  // (`unix:///path/redis.sock?db=N`, password with `&password=PW`), or the primary that Redis
  // Sentinel names (`redis-sentinel://[[user]:password@]host:port[,host:port...]/<master>?db=N`;
  // the password is the data servers'; the sentinels are asked without one).
  std::string host;
  int port = 6379;
  std::string unix_path;
  std::string user;
  std::string password;
  int db = 0;
  std::string prefix = "modelpin:";
  int timeout_ms = 250;
  struct Server {
    std::string host;
    int port = 26379;
  };
  std::vector<Server> sentinels;  // non-empty: host/port are found through these
  std::string master_name;
  int wait_replicas = 0;  // modelpin.storeWaitReplicas

  // Parses a store URL. Errors name the URL with its password masked.
  static absl::StatusOr<RedisOptions> FromUrl(std::string_view url);
  // The server as logs and errors show it: the password is always "***".
  std::string Display() const;
};

class RedisSessionStore : public SessionStore {
 public:
  // Connects (within the timeout) and starts listening for changes. A server that is down at
  // open is an Unavailable error: a bot should not start against a store it cannot reach.
  // `events` is told of each command (EventSink::OnStoreOp) and, with Sentinel, of each move to
  // another primary (a store_failed_over event: the URL masked, the old and the new primary).
  static absl::StatusOr<std::unique_ptr<RedisSessionStore>> Open(const RedisOptions& options,
                                                                 std::shared_ptr<EventSink> events = nullptr);
  ~RedisSessionStore() override;
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override;
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override;
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override;
  absl::Status LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                             uint64_t& version, Read read = Read::kCached) override;
  absl::Status PutIfVersion(const std::string& agent, const std::string& key, const SessionState& state,
                            uint64_t version) override;
  // One round trip that answers the version alone when it is unchanged.
  absl::Status Confirm(const std::string& agent, const std::string& key, uint64_t version) override;
  // Group commit here pipelines writes and version checks: a version-checked write (or a
  // command's Confirm) is sent and the turn goes on without waiting for its answer (the version
  // a write gets is known); the answers are read before the next command on the connection, and
  // Flush reads the rest and reports the first failure (a change that lost its version check is
  // not applied, a reply computed on a state another process had changed is reported; neither
  // is retried). A replay uses it: its exit status is its acknowledgement.
  void SetGroupCommit(std::chrono::milliseconds window) override;
  absl::Status Flush() override;
  // Whether reads are served from this process's cache now (the change subscription is up).
  bool caching() const;

 private:
  struct Impl;
  explicit RedisSessionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Auth health in Redis, shared by every process of a deployment: hash `<prefix>health:<agent>`
// holds `u:<profile id>` (the JSON of UsageStatsJson), `g:<provider>` (lastGood) and `ver`, a
// counter every update increments. Updates are WATCH/MULTI transactions, retried when another
// process changed the hash in between. No secret is ever written here.
class RedisAuthHealth : public AuthHealthStore {
 public:
  // `events` is told of each command (EventSink::OnStoreOp).
  static absl::StatusOr<std::unique_ptr<RedisAuthHealth>> Open(const RedisOptions& options,
                                                               std::shared_ptr<EventSink> events = nullptr);
  ~RedisAuthHealth() override;
  absl::StatusOr<AuthHealth> Read(const std::string& agent) override;
  absl::StatusOr<uint64_t> Version(const std::string& agent) override;
  absl::Status Update(const std::string& agent, const std::string& profile_id, const std::string& provider,
                      const Change& change) override;

 private:
  struct Impl;
  explicit RedisAuthHealth(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The options of the shared store a config names (`modelpin.store`, `storePrefix`,
// `storeTimeoutMs`), nullopt when it names none. Errors name `$.modelpin.store`.
absl::StatusOr<std::optional<RedisOptions>> ConfiguredRedis(const Config& config);

// What the sentinels of a `redis-sentinel://` store say, for `modelpin doctor`: each sentinel's
// answer for the primary, the primary's replicas (as the primary itself reports them, with
// their link state), and whether every sentinel that answered names the same primary.
struct SentinelReport {
  struct Answer {
    std::string sentinel;  // host:port
    std::string primary;   // host:port, "" when it did not answer
    std::string error;     // why it did not answer
  };
  std::vector<Answer> answers;
  std::string primary;                // the primary most sentinels name, "" when none answered
  std::vector<std::string> replicas;  // "host:port (online|...)" as the primary lists them
  std::string primary_error;          // why the primary could not be asked, "" when it was
  bool agree = false;                 // every sentinel answered, all naming `primary`
};
absl::StatusOr<SentinelReport> ReportSentinels(const RedisOptions& options);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_REDIS_STORE_H_
