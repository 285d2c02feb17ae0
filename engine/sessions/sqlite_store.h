// The embedded session store: SQLite in WAL mode, one small transaction per change, shared by
// the processes of one machine. Internal (not installed): embedders open it as a SessionStore
// with OpenSqliteSessionStore (store_factory.h).
#ifndef MODELPIN_ENGINE_SESSIONS_SQLITE_STORE_H_
#define MODELPIN_ENGINE_SESSIONS_SQLITE_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <modelpin/engine/sessions/session_store.h>
#include <modelpin/engine/events/events.h>

struct sqlite3_stmt;

namespace modelpin {

class SqliteSessionStore : public SessionStore {
 public:
  // Opens (creating if needed) the database at `path` in WAL mode. Errors name the file.
  // `read_only`: opens an existing store for reading only (the CLI's read-only verbs): nothing is
  // created or migrated, and every write fails; a store missing is an error (NotFound).
  // `events`: told of every operation that reaches the database (EventSink::OnStoreOp).
  static absl::StatusOr<std::unique_ptr<SqliteSessionStore>> Open(const std::string& path, bool read_only = false,
                                                                  std::shared_ptr<EventSink> events = nullptr);
  ~SqliteSessionStore() override;
  // Served from this connection's cache while no other writer committed (a change counter in
  // `<path>-changes` that modelpin's writers increment), so an ordinary message on an unchanged
  // session reads no table.
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override;
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override;
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override;
  // Every session row has a version that each write raises by one (a session emptied keeps its
  // row as "{}", so a version is never reused). PutIfVersion writes only while the row still
  // holds the version LoadVersioned read, and Confirm checks it: Aborted when another process
  // (a second bot, the CLI) changed the session in between; the cached entry is then dropped,
  // so the caller's next read is fresh.
  absl::Status LoadVersioned(const std::string& agent, const std::string& key, SessionState& into, uint64_t& version,
                             Read read = Read::kCached) override;
  absl::Status PutIfVersion(const std::string& agent, const std::string& key, const SessionState& state,
                            uint64_t version) override;
  absl::Status Confirm(const std::string& agent, const std::string& key, uint64_t version) override;
  // Up to `window` or kGroupCommitMax changes in one write transaction (BEGIN IMMEDIATE: other
  // writers wait at most that long; readers are never blocked, WAL).
  void SetGroupCommit(std::chrono::milliseconds window) override;
  absl::Status Flush() override;
  // The busy timeout: how long a write waits for another process's lock.
  std::chrono::milliseconds ContentionBudget() const override;
  static constexpr size_t kGroupCommitMax = 1000;
  // 3: sessions carry a version column (2, without it, and 1, WITHOUT ROWID, are migrated at
  // open; a modelpin of schema 2 refuses a schema 3 store, so no writer skips the versions).
  static constexpr int kSchemaVersion = 3;

  // What `modelpin doctor` looks at in a store, opened read-only: nothing is created, migrated or
  // written (docs/faults.md).
  struct Examination {
    bool exists = false;
    std::string open_error;     // why it cannot be opened or read as a session store ("" when it can)
    int schema = 0;
    std::string read_only;      // why it cannot be written ("" when it can): a read-only mount, permissions
    int64_t free_bytes = -1;    // free space on its filesystem for this user; -1 unknown
    // PRAGMA quick_check: "ok" or its first findings; "" when skipped (a store over quick_check_limit).
    std::string quick_check;
    size_t rows = 0;
    std::vector<std::string> bad_rows;  // "<agent> <key>: <why>", at most 20
    size_t bad_row_count = 0;
  };
  static Examination Examine(const std::string& path, int64_t quick_check_limit = int64_t{256} << 20);

 private:
  struct Impl;
  explicit SqliteSessionStore(std::unique_ptr<Impl> impl);
  absl::Status LoadLocked(const std::string& agent, const std::string& key, SessionState& into, uint64_t& version,
                          bool cached = true);
  absl::Status ReadLocked(const std::string& agent, const std::string& key, SessionState& into, uint64_t& version);
  // Runs a prepared write whose RETURNING gives the row's new version. Aborted when it wrote
  // nothing (a PutIfVersion that lost).
  absl::Status WriteLocked(sqlite3_stmt* st, const std::string& agent, const std::string& key,
                           const SessionState& state, const uint64_t* expected);
  std::unique_ptr<Impl> impl_;
};


}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_SQLITE_STORE_H_
