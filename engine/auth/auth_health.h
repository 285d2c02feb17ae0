// Where the health of auth profiles lives: usage stats (last use, cooldown, disabled-until,
// error count) and lastGood per provider. Credentials and the stored order stay in the 0600
// JSON auth store; health may instead be shared between bot processes (Redis), so a cooldown
// one process starts is honoured by all. Secrets never reach this store: only profile ids,
// provider ids and numbers.
//
//   JsonFileAuthHealth health([&](const std::string& agent) { return AuthPathOf(agent); });
//   health.Update("main", "anthropic:work", "anthropic", [&](UsageStats& u, std::string& last_good) {
//     u.error_count += 1;                 // the rule is the caller's; the store only stores
//     return absl::OkStatus();
//   });
//
// One profile's health travels as the JSON of UsageStatsJson/ParseUsageStats (auth_store.h)
// in every implementation.
#ifndef MODELPIN_ENGINE_AUTH_AUTH_HEALTH_H_
#define MODELPIN_ENGINE_AUTH_AUTH_HEALTH_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include <modelpin/engine/auth/auth_store.h>

namespace modelpin {

class AuthHealthStore {
 public:
  virtual ~AuthHealthStore() = default;
  // The health of an agent's profiles.
  virtual absl::StatusOr<AuthHealth> Read(const std::string& agent) = 0;
  // A number that changes whenever the agent's health changes (in any process), so a reader
  // rebuilds only then. Cheap: at most one small read.
  virtual absl::StatusOr<uint64_t> Version(const std::string& agent) = 0;
  // Atomic read-modify-write of one profile's health and of its provider's lastGood (`""` when
  // none; set it to change it). `change` computes the rule; if it fails nothing is written. Two
  // processes updating one profile at once lose no update: `change` may run more than once.
  using Change = std::function<absl::Status(UsageStats& usage, std::string& last_good)>;
  virtual absl::Status Update(const std::string& agent, const std::string& profile_id, const std::string& provider,
                              const Change& change) = 0;
  // Whether health lives in the agent's auth-profiles.json (the engine then reads it from there).
  virtual bool InAuthFile() const { return false; }
};

// Health in the auth store file itself (usageStats and lastGood of auth-profiles.json): the
// default, as before. Updates lock the file and write it atomically (AuthStore::Update).
class JsonFileAuthHealth : public AuthHealthStore {
 public:
  // `path_of(agent)` is the auth store file an agent's health is kept in.
  explicit JsonFileAuthHealth(std::function<std::string(const std::string&)> path_of) : path_of_(std::move(path_of)) {}
  absl::StatusOr<AuthHealth> Read(const std::string& agent) override;
  absl::StatusOr<uint64_t> Version(const std::string& agent) override;
  absl::Status Update(const std::string& agent, const std::string& profile_id, const std::string& provider,
                      const Change& change) override;
  bool InAuthFile() const override { return true; }

 private:
  std::function<std::string(const std::string&)> path_of_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_AUTH_HEALTH_H_
