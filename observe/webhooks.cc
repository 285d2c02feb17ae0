#include <modelpin/observe/webhooks.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include <modelpin/base/digest.h>

namespace modelpin {

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  return "sha256=" + Hex(HmacSha256(secret, body));
}

bool VerifyWebhookSignature(std::string_view secret, std::string_view body, std::string_view header) {
  return ConstantTimeEquals(WebhookSignature(secret, body), header);
}

namespace {

// A prepared statement, finalized when it goes out of scope.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  Stmt& Text(int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  int Step() { return s ? sqlite3_step(s) : SQLITE_ERROR; }
  std::string Column(int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : std::string();
  }
};

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// POSTs `body`; the HTTP status, or 0 with `error` set when no answer came.
long Post(const std::string& url, const std::string& body, const std::vector<std::string>& headers, long timeout_ms,
          std::string& error) {
  static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)init;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "libcurl could not start";
    return 0;
  }
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  else error = curl_easy_strerror(rc);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Webhooks>> Webhooks::Open(std::vector<Config::WebhookConfig> hooks,
                                                         WebhookOptions options) {
  sqlite3* db = nullptr;
  const std::string& path = options.outbox_path;
  if (path.empty()) return absl::InvalidArgumentError("webhooks: no outbox path");
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  auto fail = [&](std::string_view what) {
    std::string msg = absl::StrCat(path, ": ", std::string(what), ": ", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return absl::UnavailableError(msg);
  };
  if (rc != SQLITE_OK) return fail("cannot open the webhook outbox");
  ::chmod(path.c_str(), 0600);
  sqlite3_busy_timeout(db, 5000);
  // FULL: an event OnEvent accepted survives a crash of the process and of the machine.
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL,"
      " event_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
      " next_at INTEGER NOT NULL);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return fail("not a webhook outbox");
  auto w = std::unique_ptr<Webhooks>(new Webhooks(std::move(hooks), std::move(options), db));
  Stmt count(db, "SELECT COUNT(*) FROM outbox");
  if (count.Step() == SQLITE_ROW) w->pending_ = static_cast<size_t>(sqlite3_column_int64(count.s, 0));
  return w;
}

Webhooks::Webhooks(std::vector<Config::WebhookConfig> hooks, WebhookOptions options, sqlite3* db)
    : hooks_(std::move(hooks)), options_(std::move(options)), db_(db) {
  clock_ = options_.clock ? options_.clock : std::make_shared<SystemClock>();
}

Webhooks::~Webhooks() {
  Stop();
  sqlite3_close(db_);
}

void Webhooks::OnEvent(const Event& event) {
  const std::string_view kind = EventKindName(event.kind);
  std::string body;
  const int64_t now = clock_->NowMs();
  bool queued = false;
  {
    std::lock_guard lock(db_mu_);
    for (const auto& hook : hooks_) {
      if (!hook.events.empty() && std::find(hook.events.begin(), hook.events.end(), kind) == hook.events.end())
        continue;
      if (pending_ >= options_.max_outbox) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        last_error_ = absl::StrCat(hook.url, ": outbox full (", options_.max_outbox, " entries), event ", event.id,
                                   " dropped");
        continue;
      }
      if (body.empty()) body = event.ToJson();
      // Not due before the hook's earlier entries (one in backoff holds those after it): each
      // hook receives its events in the order they happened.
      Stmt insert(db_,
                  "INSERT INTO outbox (url, event_id, kind, body, next_at) VALUES (?1, ?2, ?3, ?4,"
                  " MAX(?5, COALESCE((SELECT MAX(next_at) FROM outbox WHERE url = ?1), 0)))");
      insert.Text(1, hook.url).Text(2, event.id).Text(3, kind).Text(4, body).Int(5, now);
      if (insert.Step() != SQLITE_DONE) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        last_error_ = absl::StrCat(options_.outbox_path, ": ", sqlite3_errmsg(db_));
        continue;
      }
      ++pending_;
      queued = true;
    }
  }
  if (queued) {
    {
      std::lock_guard lock(run_mu_);
      woken_ = true;
    }
    wake_.notify_one();
  }
}

size_t Webhooks::DeliverDue() {
  struct Entry {
    int64_t seq;
    std::string url, event_id, kind, body;
    int64_t attempts;
  };
  size_t delivered = 0;
  std::set<std::string> failed;  // hooks that failed in this pass
  int64_t after = 0;             // the last seq looked at
  for (;;) {
    std::vector<Entry> batch;
    const int64_t now = clock_->NowMs();
    {
      std::lock_guard lock(db_mu_);
      Stmt due(db_,
               "SELECT seq, url, event_id, kind, body, attempts FROM outbox WHERE next_at <= ? AND seq > ? "
               "ORDER BY seq LIMIT 64");
      due.Int(1, now).Int(2, after);
      while (due.Step() == SQLITE_ROW)
        batch.push_back({sqlite3_column_int64(due.s, 0), due.Column(1), due.Column(2), due.Column(3), due.Column(4),
                         sqlite3_column_int64(due.s, 5)});
    }
    if (batch.empty()) break;
    for (Entry& e : batch) {
      after = e.seq;
      {
        std::lock_guard lock(run_mu_);
        if (stop_) return delivered;
      }
      if (failed.count(e.url)) continue;
      auto hook = std::find_if(hooks_.begin(), hooks_.end(), [&](const auto& h) { return h.url == e.url; });
      if (hook == hooks_.end()) {
        // The config no longer has this hook: its entries have nowhere to go.
        std::lock_guard lock(db_mu_);
        Stmt del(db_, "DELETE FROM outbox WHERE seq = ?");
        del.Int(1, e.seq);
        if (del.Step() == SQLITE_DONE && pending_ > 0) --pending_;
        continue;
      }
      std::vector<std::string> headers = {"Content-Type: application/json",
                                          "User-Agent: modelpin-webhooks",
                                          "Expect:",
                                          "X-Modelpin-Event: " + e.kind,
                                          "X-Modelpin-Event-Id: " + e.event_id,
                                          "X-Modelpin-Attempt: " + std::to_string(e.attempts + 1),
                                          "X-Modelpin-Signature: " + WebhookSignature(hook->secret, e.body)};
      std::string error;
      long status = Post(e.url, e.body, headers, options_.timeout_ms, error);
      std::lock_guard lock(db_mu_);
      if (status >= 200 && status < 300) {
        Stmt del(db_, "DELETE FROM outbox WHERE seq = ?");
        del.Int(1, e.seq);
        if (del.Step() == SQLITE_DONE && pending_ > 0) --pending_;
        delivered_.fetch_add(1, std::memory_order_relaxed);
        ++delivered;
        continue;
      }
      failed_.fetch_add(1, std::memory_order_relaxed);
      failed.insert(e.url);
      last_error_ = absl::StrCat(e.url, ": ", status ? absl::StrCat("HTTP ", status) : error);
      // Backoff: initial, doubling per failure of this entry, capped. The hook's later entries
      // wait as long, so they are not delivered before this one.
      int64_t backoff = options_.initial_backoff_ms;
      for (int64_t i = 0; i < e.attempts && backoff < options_.max_backoff_ms; ++i) backoff *= 2;
      backoff = std::min(backoff, options_.max_backoff_ms);
      const int64_t next = clock_->NowMs() + backoff;
      Stmt retry(db_, "UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE seq = ?");
      retry.Int(1, next).Int(2, e.seq).Step();
      Stmt hold(db_, "UPDATE outbox SET next_at = ? WHERE url = ? AND seq > ? AND next_at < ?");
      hold.Int(1, next).Text(2, e.url).Int(3, e.seq).Int(4, next).Step();
    }
  }
  return delivered;
}

int64_t Webhooks::NextDueMs() {
  std::lock_guard lock(db_mu_);
  Stmt next(db_, "SELECT MIN(next_at) FROM outbox");
  if (next.Step() == SQLITE_ROW && sqlite3_column_type(next.s, 0) != SQLITE_NULL) return sqlite3_column_int64(next.s, 0);
  return 0;
}

Webhooks::Stats Webhooks::stats() {
  Stats s;
  s.delivered = delivered_.load();
  s.failed_attempts = failed_.load();
  s.dropped = dropped_.load();
  std::lock_guard lock(db_mu_);
  s.pending = pending_;
  s.last_error = last_error_;
  return s;
}

void Webhooks::Start() {
  std::lock_guard lock(run_mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Webhooks::Stop() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Webhooks::Run() {
  for (;;) {
    DeliverDue();
    int64_t wait = options_.idle_poll_ms;
    if (int64_t next = NextDueMs(); next > 0) wait = std::clamp<int64_t>(next - clock_->NowMs(), 1, wait);
    std::unique_lock lock(run_mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_ || woken_; });
    woken_ = false;
    if (stop_) return;
  }
}

}  // namespace modelpin
