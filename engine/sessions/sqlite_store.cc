#include <modelpin/engine/sessions/sqlite_store.h>

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/session_cache.h>
#include <modelpin/engine/sessions/store_ops.h>

namespace modelpin {

namespace {


// sqlite3_exec, retried while SQLite reports the store busy, for up to kBusyWait. Returns the
// error message, or "" on success.
constexpr auto kBusyWait = std::chrono::seconds(10);
std::string ExecPatiently(sqlite3* db, const char* sql, sqlite3_callback row, void* arg) {
  const auto deadline = std::chrono::steady_clock::now() + kBusyWait;
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, row, arg, &err);
    std::string msg = rc == SQLITE_OK ? "" : err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) return msg;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
}

}  // namespace

// ---- SQLite ----

struct SqliteSessionStore::Impl {
  std::string path;
  std::shared_ptr<EventSink> events;  // OnStoreOp for each operation that reaches the database
  bool read_only = false;
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* put = nullptr;         // unconditional: the row's version goes up by one
  sqlite3_stmt* insert_new = nullptr;  // PutIfVersion(0): only when no row exists
  sqlite3_stmt* update_if = nullptr;   // PutIfVersion(v): only while the row holds version v
  sqlite3_stmt* version_of = nullptr;
  sqlite3_stmt* keys = nullptr;
  std::mutex mu;  // one connection, used by one thread at a time
  // Sessions this connection read or wrote, with their row versions, valid while the store's
  // change counter stays the same: an ordinary message on an unchanged session reads no table.
  // Bounded: cleared past kCacheLimit entries.
  // Versions are the rows' version column (0: no row); session_cache.h.
  SessionCache cache;
  void ClearCache() { cache.Clear(); }
  void Drop(const std::string& agent, const std::string& key) { cache.Drop(CacheKey(agent, key)); }
  // The change counter: 8 bytes of `<path>-changes` that every modelpin writer increments after
  // it commits (pread and pwrite under an flock of the file), and that readers look at through a
  // read-only shared mapping, so looking costs one memory read (PRAGMA data_version costs a read
  // transaction, several us). The file is written (not truncated to size) when it is created, so
  // its bytes have real storage: reading them can never fault, whatever happens to the disk, and
  // only pwrite writes them, which on a full disk fails with an error instead (docs/faults.md).
  // Without the counter (a file that cannot be created, a failed increment) nothing is cached.
  int counter_fd = -1;
  const uint64_t* counter = nullptr;
  uint64_t seen_version = 0;
  std::string key_buf;
  // Group commit (SetGroupCommit): the open transaction, when it began, how many changes it holds,
  // and the first failure since the last Flush (a failed batch is rolled back whole).
  std::chrono::milliseconds group_window{0};
  bool in_txn = false;
  std::chrono::steady_clock::time_point txn_began;
  size_t txn_changes = 0;
  absl::Status group_error;

  absl::Status Begin() {
    if (std::string err = ExecPatiently(db, "BEGIN IMMEDIATE", nullptr, nullptr); !err.empty())
      return absl::UnavailableError(absl::StrCat(path, ": begin a write: ", err));
    in_txn = true;
    txn_began = std::chrono::steady_clock::now();
    txn_changes = 0;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    if (!in_txn) return absl::OkStatus();
    in_txn = false;
    if (std::string err = ExecPatiently(db, "COMMIT", nullptr, nullptr); !err.empty()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      ClearCache();
      return absl::UnavailableError(absl::StrCat(path, ": commit ", txn_changes, " session changes: ", err));
    }
    Committed();
    return absl::OkStatus();
  }
  // Commits a transaction held past its window; the failure is kept for Flush.
  void CommitIfDue() {
    if (in_txn && (txn_changes >= kGroupCommitMax || std::chrono::steady_clock::now() - txn_began >= group_window))
      if (absl::Status st = Commit(); !st.ok() && group_error.ok()) group_error = st;
  }

  void MapCounter() {
    const std::string file = path + "-changes";
    int fd = read_only ? ::open(file.c_str(), O_RDONLY | O_CLOEXEC)
                       : ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    struct stat st;
    bool ok = ::fstat(fd, &st) == 0;
    if (ok && st.st_size < 8) {
      // Created now (or cut short): its 8 bytes are written, under the lock so that two
      // processes creating it at once do not zero a count one of them already made.
      ok = !read_only && ::flock(fd, LOCK_EX) == 0;
      if (ok) {
        uint64_t zero = 0;
        ok = ::fstat(fd, &st) == 0 && (st.st_size >= 8 || ::pwrite(fd, &zero, 8, 0) == 8);
        ::flock(fd, LOCK_UN);
      }
    }
    void* m = ok ? ::mmap(nullptr, 8, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (m == MAP_FAILED) {
      ::close(fd);
      return;
    }
    counter = static_cast<const uint64_t*>(m);
    counter_fd = fd;
    seen_version = Count();
  }
  uint64_t Count() const { return __atomic_load_n(counter, __ATOMIC_ACQUIRE); }
  // Adds one to the counter; the value before, or nullopt when the file cannot be written.
  std::optional<uint64_t> Bump() {
    if (counter_fd < 0 || read_only || ::flock(counter_fd, LOCK_EX) != 0) return std::nullopt;
    uint64_t v = 0;
    std::optional<uint64_t> before;
    if (::pread(counter_fd, &v, 8, 0) == 8) {
      uint64_t next = v + 1;
      if (::pwrite(counter_fd, &next, 8, 0) == 8) before = v;
    }
    ::flock(counter_fd, LOCK_UN);
    return before;
  }
  void DropCounter() {
    if (counter) ::munmap(const_cast<uint64_t*>(counter), 8);
    if (counter_fd >= 0) ::close(counter_fd);
    counter = nullptr;
    counter_fd = -1;
  }

  const std::string& CacheKey(const std::string& agent, const std::string& key) {
    key_buf.assign(agent);
    key_buf.push_back('\n');
    key_buf.append(key);
    return key_buf;
  }
  // Drops the cache when another connection committed since the last look.
  void Revalidate() {
    if (counter == nullptr) return ClearCache();
    uint64_t v = Count();
    if (v != seen_version) ClearCache();
    seen_version = v;
  }
  // After our own commit: count it, and drop the cache if another writer counted since. A
  // counter that cannot be written any more is given up: other processes would not learn of
  // our commits, and we could not trust it either.
  void Committed() {
    if (counter == nullptr) return ClearCache();
    std::optional<uint64_t> before = Bump();
    if (!before) {
      DropCounter();
      return ClearCache();
    }
    if (*before != seen_version) ClearCache();
    seen_version = *before + 1;
  }
  void Remember(const std::string& agent, const std::string& key, const SessionState& s, uint64_t version) {
    cache.Put(CacheKey(agent, key), s, version);
  }

  absl::Status Error(const char* what) const {
    return absl::InternalError(absl::StrCat(path, ": ", what, ": ", db ? sqlite3_errmsg(db) : "cannot open"));
  }
  ~Impl() {
    (void)Commit();  // a caller that needs to know calls Flush() first
    for (sqlite3_stmt* s : {get, put, insert_new, update_if, version_of, keys}) sqlite3_finalize(s);
    DropCounter();
    if (db) sqlite3_close(db);
  }
};

SqliteSessionStore::SqliteSessionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteSessionStore::~SqliteSessionStore() = default;

namespace {

// A sqlite3_exec row callback keeping the first column of the row ("" for NULL) in a std::string.
int FirstColumn(void* out, int, char** values, char**) {
  *static_cast<std::string*>(out) = values[0] ? values[0] : "";
  return 0;
}

// The schema version a store's meta table holds: none yet ("") is 0. A value that is not a
// whole number (a store another program wrote, or a damaged one) is an error naming the file,
// never read as some schema.
absl::StatusOr<int> ParseSchema(const std::string& path, const std::string& value) {
  int version = 0;
  if (value.empty()) return version;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), version);
  if (ec != std::errc() || end != value.data() + value.size() || version < 0)
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a usable session store: its schema version \"", value, "\" is not a number"));
  return version;
}

// One migration step, in one write transaction: when the store still has schema `from`, runs
// `sql` (which records the next schema and ends with COMMIT); else changes nothing. So a store
// is migrated whole or not at all, and by one process (the others find the next schema inside
// their own transaction and leave it).
absl::Status Migrate(sqlite3* db, const std::string& path, int from, const std::string& sql) {
  auto fail = [&](absl::string_view err) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::FailedPreconditionError(absl::StrCat(path, ": migrating the session store to schema ",
                                                      SqliteSessionStore::kSchemaVersion, ": ", err));
  };
  if (std::string err = ExecPatiently(db, "BEGIN IMMEDIATE", nullptr, nullptr); !err.empty()) return fail(err);
  std::string value;
  if (std::string err = ExecPatiently(db, "SELECT value FROM meta WHERE key='schema'", FirstColumn, &value);
      !err.empty())
    return fail(err);
  absl::StatusOr<int> schema = ParseSchema(path, value);
  if (!schema.ok()) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return schema.status();
  }
  if (*schema != from) return sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? absl::OkStatus() : fail("commit");
  if (std::string err = ExecPatiently(db, sql.c_str(), nullptr, nullptr); !err.empty()) return fail(err);
  return absl::OkStatus();
}

// Schema 1 kept sessions in a WITHOUT ROWID table, where a row over about 1 KB spills into
// overflow pages: a pin with a long history wrote four pages, not one. Schema 2 is a rowid table
// with a unique (agent, session_key) index; the rows are copied over.
absl::Status MigrateFromSchema1(sqlite3* db, const std::string& path) {
  return Migrate(db, path, 1,
                 "CREATE TABLE sessions_v2("
                 "  agent TEXT NOT NULL, session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
                 "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()),"
                 "  UNIQUE(agent, session_key));"
                 "INSERT INTO sessions_v2(agent, session_key, entry_json, updated_at)"
                 "  SELECT agent, session_key, entry_json, updated_at FROM sessions;"
                 "DROP TABLE sessions;"
                 "ALTER TABLE sessions_v2 RENAME TO sessions;"
                 "UPDATE meta SET value='2' WHERE key='schema';"  // then MigrateToSchema3
                 "COMMIT;");
}

// Whether the folder holding `path` is on a read-only mount.
bool OnReadOnlyMount(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs vfs;
  return ::statvfs(dir.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

// file:<path>?immutable=1, with the characters a URI gives a meaning escaped.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') absl::StrAppend(&uri, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    else uri.push_back(c);
  }
  return uri + "?immutable=1";
}

// Schema 3 adds the version column (docs/faults.md: every write raises it, PutIfVersion checks
// it). Rows already there start at version 1; "no row" reads as version 0.
absl::Status MigrateToSchema3(sqlite3* db, const std::string& path) {
  return Migrate(db, path, 2,
                 absl::StrCat("ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
                              "UPDATE meta SET value='", SqliteSessionStore::kSchemaVersion, "' WHERE key='schema';"
                              "COMMIT;"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteSessionStore>> SqliteSessionStore::Open(const std::string& path, bool read_only,
                                                                           std::shared_ptr<EventSink> events) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->events = std::move(events);
  impl->read_only = read_only;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(absl::StrCat(path, ": is a directory, not a session store"));
  if (read_only && ::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": no session store yet"));
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  // A store on a read-only mount cannot have the WAL index SQLite reads through: it is read as
  // an immutable file instead (no process can be writing it).
  const bool immutable = read_only && OnReadOnlyMount(path);
  int rc = immutable ? sqlite3_open_v2(ImmutableUri(path).c_str(), &impl->db,
                                       flags | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr)
                     : sqlite3_open_v2(path.c_str(), &impl->db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return absl::UnavailableError(absl::StrCat(path, ": cannot open session store: ", sqlite3_errstr(rc)));
  // Another process may hold the write lock for a moment (two bots, or the CLI): wait, don't fail.
  sqlite3_busy_timeout(impl->db, static_cast<int>(std::chrono::milliseconds(kBusyWait).count()));
  auto exec = [&](const char* sql, sqlite3_callback row = nullptr, void* arg = nullptr) -> absl::Status {
    if (std::string err = ExecPatiently(impl->db, sql, row, arg); !err.empty())
      return absl::FailedPreconditionError(absl::StrCat(path, ": not a usable session store: ", err));
    return absl::OkStatus();
  };
  // The schema version the store holds, 0 when none; a store written by a newer modelpin, or
  // whose schema is not a number, is refused rather than misread. Checked before anything is
  // changed, and again after setup (a newer modelpin may have created the store meanwhile).
  auto schema_version = [&]() -> absl::StatusOr<int> {
    std::string value;
    if (!ExecPatiently(impl->db, "SELECT value FROM meta WHERE key='schema'", FirstColumn, &value).empty())
      return 0;  // no meta table yet
    ASSIGN_OR_RETURN(int version, ParseSchema(path, value));
    if (version > kSchemaVersion)
      return absl::FailedPreconditionError(absl::StrCat(path, ": session store schema ", value,
                                                        " is newer than this modelpin (", kSchemaVersion, ")"));
    return version;
  };
  RETURN_IF_ERROR(schema_version().status());
  // The column that holds a row's version: a store of an older schema opened read-only (it is
  // not migrated) has none, and every row reads as version 1.
  // (A pointer to literals: GCC 12 at -O3 warns, wrongly, on assigning a literal to a string here.)
  const char* version_column = "version";
  if (read_only) {
    ASSIGN_OR_RETURN(int version, schema_version());
    if (version < kSchemaVersion) version_column = "1";
  } else {
    // Two processes opening a fresh store at once race to convert it to WAL and create the tables.
    // SQLite answers some of those lock requests with SQLITE_BUSY at once, without calling the busy
    // handler (a journal-mode change, a read lock upgraded to a write), so each step is retried for
    // as long as the busy timeout would have waited. The store is converted only when it is not WAL
    // yet, so the usual open takes no write lock at all.
    std::string journal_mode;
    RETURN_IF_ERROR(exec("PRAGMA journal_mode", FirstColumn, &journal_mode));
    if (!absl::EqualsIgnoreCase(journal_mode, "wal")) RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(exec(
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sessions("
        "  agent TEXT NOT NULL, session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
        "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()), version INTEGER NOT NULL DEFAULT 1,"
        "  UNIQUE(agent, session_key));"));
    ASSIGN_OR_RETURN(int version, schema_version());
    if (version == 0) {
      std::string sql = absl::StrCat("INSERT OR IGNORE INTO meta VALUES('schema','", kSchemaVersion, "')");
      RETURN_IF_ERROR(exec(sql.c_str()));
    } else if (version == 1) {
      RETURN_IF_ERROR(MigrateFromSchema1(impl->db, path));
    }
    if (version == 1 || version == 2) RETURN_IF_ERROR(MigrateToSchema3(impl->db, path));
  }
  auto prepare = [&](const char* sql, sqlite3_stmt** st) { return sqlite3_prepare_v2(impl->db, sql, -1, st, nullptr); };
  const std::string get_sql =
      absl::StrCat("SELECT entry_json, ", version_column, " FROM sessions WHERE agent=?1 AND session_key=?2");
  const std::string version_sql =
      absl::StrCat("SELECT ", version_column, " FROM sessions WHERE agent=?1 AND session_key=?2");
  const bool read_ok =
      prepare(get_sql.c_str(), &impl->get) == SQLITE_OK && prepare(version_sql.c_str(), &impl->version_of) == SQLITE_OK &&
      prepare("SELECT session_key FROM sessions WHERE agent=?1 AND entry_json<>'{}' ORDER BY session_key",
              &impl->keys) == SQLITE_OK;
  // A read-only store has no write statements: WriteLocked refuses before it needs one.
  const bool write_ok =
      read_only ||
      (prepare("INSERT INTO sessions(agent, session_key, entry_json, version) VALUES(?1, ?2, ?3, 1) "
               "ON CONFLICT(agent, session_key) DO UPDATE SET entry_json=excluded.entry_json, version=version+1, "
               "updated_at=unixepoch() RETURNING version",
               &impl->put) == SQLITE_OK &&
       prepare("INSERT INTO sessions(agent, session_key, entry_json, version) VALUES(?1, ?2, ?3, 1) "
               "ON CONFLICT(agent, session_key) DO NOTHING RETURNING version",
               &impl->insert_new) == SQLITE_OK &&
       prepare("UPDATE sessions SET entry_json=?3, version=version+1, updated_at=unixepoch() "
               "WHERE agent=?1 AND session_key=?2 AND version=?4 RETURNING version",
               &impl->update_if) == SQLITE_OK);
  if (!read_ok || !write_ok) return impl->Error("prepare");
  impl->MapCounter();
  return std::unique_ptr<SqliteSessionStore>(new SqliteSessionStore(std::move(impl)));
}

absl::Status SqliteSessionStore::LoadLocked(const std::string& agent, const std::string& key, SessionState& into,
                                            uint64_t& version, bool cached) {
  impl_->CommitIfDue();
  impl_->Revalidate();
  Impl& m = *impl_;
  return m.cache.Read(
      agent, key, [&]() -> const std::string& { return m.CacheKey(agent, key); }, true, cached, into, version,
      [&](const std::string&, const uint64_t*, SessionState& out, uint64_t& v, bool&) {
        StoreOp op(m.events.get(), "sqlite", "get");
        return op.Done(ReadLocked(agent, key, out, v));
      },
      [] { return true; });
}

absl::Status SqliteSessionStore::Load(const std::string& agent, const std::string& key, SessionState& into) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t version = 0;
  return LoadLocked(agent, key, into, version);
}

absl::Status SqliteSessionStore::LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                                               uint64_t& version, Read read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return LoadLocked(agent, key, into, version, read == Read::kCached);
}

absl::Status SqliteSessionStore::ReadLocked(const std::string& agent, const std::string& key, SessionState& into,
                                            uint64_t& version) {
  sqlite3_stmt* st = impl_->get;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    into = SessionState{};
    version = 0;
    return absl::OkStatus();
  }
  if (rc != SQLITE_ROW) {
    absl::Status err = impl_->Error("read session");
    sqlite3_reset(st);
    return err;
  }
  std::string_view json(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                        static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  auto s = SessionState::FromStorageJson(json);
  version = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
  if (!s.ok())
    return absl::DataLossError(absl::StrCat(impl_->path, ": session ", agent, "/", key, ": ", s.status().message()));
  into = *std::move(s);
  return absl::OkStatus();
}

absl::Status SqliteSessionStore::WriteLocked(sqlite3_stmt* st, const std::string& agent, const std::string& key,
                                             const SessionState& state, const uint64_t* expected) {
  if (impl_->read_only) return absl::FailedPreconditionError(absl::StrCat(impl_->path, ": opened read-only"));
  impl_->CommitIfDue();
  if (impl_->group_window.count() > 0 && !impl_->in_txn) {
    if (absl::Status began = impl_->Begin(); !began.ok()) {
      if (impl_->group_error.ok()) impl_->group_error = began;
      return began;
    }
    impl_->Revalidate();  // what others committed before our write lock
  }
  // An emptied session keeps its row ("{}"), so its version is never reused.
  std::string json = state.empty() ? std::string("{}") : state.StorageJson();
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 3, json.data(), static_cast<int>(json.size()), SQLITE_STATIC);
  if (expected) sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(*expected));
  int rc = sqlite3_step(st);
  const uint64_t version = rc == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(st, 0)) : 0;
  if (rc == SQLITE_ROW) rc = sqlite3_step(st);  // SQLITE_DONE: the statement completes
  if (rc != SQLITE_DONE) {
    absl::Status err = impl_->Error("write session");
    sqlite3_reset(st);
    impl_->ClearCache();
    if (impl_->in_txn) {  // the whole batch goes: Flush reports it, nothing is half-written
      sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
      impl_->in_txn = false;
      if (impl_->group_error.ok()) impl_->group_error = err;
    }
    return err;
  }
  sqlite3_reset(st);
  if (version == 0) {  // the row had another version: someone else wrote first
    impl_->Drop(agent, key);
    return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
  }
  if (impl_->in_txn) ++impl_->txn_changes;
  else impl_->Committed();
  impl_->Remember(agent, key, state, version);
  return absl::OkStatus();
}

absl::Status SqliteSessionStore::Put(const std::string& agent, const std::string& key, const SessionState& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "sqlite", "put");
  return op.Done(WriteLocked(impl_->put, agent, key, state, nullptr));
}

absl::Status SqliteSessionStore::PutIfVersion(const std::string& agent, const std::string& key,
                                              const SessionState& state, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "sqlite", "put");
  if (version == 0) return op.Done(WriteLocked(impl_->insert_new, agent, key, state, nullptr));
  return op.Done(WriteLocked(impl_->update_if, agent, key, state, &version));
}

absl::Status SqliteSessionStore::Confirm(const std::string& agent, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->CommitIfDue();
  StoreOp op(impl_->events.get(), "sqlite", "confirm");
  return op.Done([&]() -> absl::Status {
    sqlite3_stmt* st = impl_->version_of;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(st);
    uint64_t now = rc == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(st, 0)) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      absl::Status err = impl_->Error("read session version");
      sqlite3_reset(st);
      return err;
    }
    sqlite3_reset(st);
    if (now == version) return absl::OkStatus();
    impl_->Drop(agent, key);
    return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
  }());
}

std::chrono::milliseconds SqliteSessionStore::ContentionBudget() const { return kBusyWait; }

void SqliteSessionStore::SetGroupCommit(std::chrono::milliseconds window) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->group_window = window;
  if (window.count() <= 0)
    if (absl::Status st = impl_->Commit(); !st.ok() && impl_->group_error.ok()) impl_->group_error = st;
}

absl::Status SqliteSessionStore::Flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "sqlite", "flush");
  absl::Status st = impl_->Commit();
  if (!impl_->group_error.ok()) st = std::exchange(impl_->group_error, absl::OkStatus());
  return op.Done(st);
}

absl::StatusOr<std::vector<std::string>> SqliteSessionStore::Keys(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  StoreOp op(impl_->events.get(), "sqlite", "keys");
  sqlite3_stmt* st = impl_->keys;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return op.Done(impl_->Error("list sessions"));
  op.Record(absl::OkStatus());
  return out;
}

SqliteSessionStore::Examination SqliteSessionStore::Examine(const std::string& path, int64_t quick_check_limit) {
  Examination x;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return x;
  x.exists = true;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) == 0) {
    x.free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    if (vfs.f_flag & ST_RDONLY) x.read_only = "its filesystem is mounted read-only";
  }
  if (x.read_only.empty() && ::access(path.c_str(), W_OK) != 0)
    x.read_only = absl::StrCat("the file is not writable by this user (", std::strerror(errno), ")");
  if (x.read_only.empty() && ::access(dir.c_str(), W_OK) != 0)
    x.read_only = absl::StrCat("its folder ", dir, " is not writable by this user (", std::strerror(errno), ")");
  auto store = Open(path, /*read_only=*/true);
  if (!store.ok()) {
    x.open_error = std::string(store.status().message());
    return x;
  }
  sqlite3* db = (*store)->impl_->db;
  auto first = [](void* out, int, char** values, char**) {
    auto* v = static_cast<std::vector<std::string>*>(out);
    if (v->size() < 5) v->push_back(values[0] ? values[0] : "");
    return 0;
  };
  {
    std::vector<std::string> schema;
    ExecPatiently(db, "SELECT value FROM meta WHERE key='schema'", first, &schema);
    absl::StatusOr<int> version = ParseSchema(path, schema.empty() ? "" : schema.front());
    if (version.ok()) x.schema = *version;
    else if (x.open_error.empty()) x.open_error = std::string(version.status().message());
  }
  if (st.st_size <= quick_check_limit) {
    std::vector<std::string> lines;
    if (std::string err = ExecPatiently(db, "PRAGMA quick_check", first, &lines); !err.empty()) {
      x.quick_check = err;
    } else {
      for (const auto& l : lines) absl::StrAppend(&x.quick_check, x.quick_check.empty() ? "" : "; ", l);
    }
  }
  // Every row parses as a session entry: one that does not is named, the others still count.
  sqlite3_stmt* rows = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT agent, session_key, entry_json FROM sessions", -1, &rows, nullptr) == SQLITE_OK) {
    int rc;
    while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
      ++x.rows;
      auto text = [&](int col) {
        const unsigned char* t = sqlite3_column_text(rows, col);
        return std::string(t ? reinterpret_cast<const char*>(t) : "", static_cast<size_t>(sqlite3_column_bytes(rows, col)));
      };
      auto parsed = SessionState::FromStorageJson(text(2));
      if (parsed.ok()) continue;
      if (++x.bad_row_count <= 20) x.bad_rows.push_back(absl::StrCat(text(0), " ", text(1), ": ", parsed.status().message()));
    }
    if (rc != SQLITE_DONE && x.open_error.empty())
      x.open_error = absl::StrCat(path, ": reading the sessions: ", sqlite3_errmsg(db));
  } else {
    x.open_error = absl::StrCat(path, ": reading the sessions: ", sqlite3_errmsg(db));
  }
  sqlite3_finalize(rows);
  return x;
}

}  // namespace modelpin
