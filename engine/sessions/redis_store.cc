#include "engine/sessions/redis_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <atomic>
#include <charconv>
#include <mutex>
#include <random>
#include <thread>

#include "absl/container/node_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "engine/sessions/last_entry.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {
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

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

timeval Timeval(int ms) { return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)}; }

// A writer id for this process's change messages: 64 random bits in hex (processes on several
// machines share one channel, so a pid would not do).
std::string WriterToken() {
  std::random_device rd;
  uint64_t bits = (uint64_t{rd()} << 32) ^ rd();
  return absl::StrCat(absl::Hex(bits, absl::kZeroPad16));
}

// hiredis writes with write(2): a server that went away would kill the process with SIGPIPE
// instead of failing the one command. A process that left SIGPIPE at its default gets it
// ignored (a handler the embedder installed is kept).
void IgnoreSigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
}

// Debian's abseil has its own string_view, so numbers and splits use the standard library.
template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t at = s.find(sep);
    if (at != 0) out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

}  // namespace

absl::StatusOr<RedisOptions> RedisOptions::FromUrl(std::string_view url) {
  RedisOptions o;
  auto bad = [&](std::string_view why) {
    // Never echo a password: credentials become "***", a socket's query is cut at "password=".
    std::string safe(url.substr(0, url.find("password=")));
    if (size_t at = safe.rfind('@'), scheme = safe.find("://"); at != std::string::npos && scheme != std::string::npos)
      safe.replace(scheme + 3, at - scheme - 3, "***");
    return absl::InvalidArgumentError(absl::StrCat("store URL \"", safe, "\": ", std::string(why)));
  };
  auto parse_db = [&](std::string_view v) -> bool { return ParseNumber(v, &o.db) && o.db >= 0 && o.db < 1 << 16; };
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) query = rest.substr(q + 1), rest = rest.substr(0, q);
    if (rest.empty() || rest.front() != '/') return bad("expected unix:///absolute/path/redis.sock[?db=N]");
    o.unix_path = std::string(rest);
    for (std::string_view kv : Split(query, '&')) {
      size_t eq = kv.find('=');
      std::string_view name = kv.substr(0, eq), value = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
      if (name == "db") {
        if (!parse_db(value)) return bad("db must be a number");
      } else if (name == "password") {
        o.password = std::string(value);
      } else {
        return bad(absl::StrCat("unknown parameter \"", std::string(name), "\" (known: db, password)"));
      }
    }
    return o;
  }
  if (!url.starts_with("redis://"))
    return bad("expected redis://[:password@]host:port/db or unix:///path/redis.sock?db=N");
  std::string_view rest = url.substr(8);
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    if (colon == std::string_view::npos) return bad("credentials must be :password or user:password");
    o.user = std::string(cred.substr(0, colon));
    o.password = std::string(cred.substr(colon + 1));
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  if (hostport.size() < rest.size() && !parse_db(rest.substr(hostport.size() + 1))) return bad("db must be a number");
  size_t colon = hostport.rfind(':');
  o.host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos && (!ParseNumber(hostport.substr(colon + 1), &o.port) || o.port <= 0 ||
                                          o.port > 65535))
    return bad("port must be a number from 1 to 65535");
  if (o.host.empty()) return bad("no host");
  return o;
}

std::string RedisOptions::Display() const {
  std::string auth = password.empty() ? "" : absl::StrCat(user, ":***@");
  if (!unix_path.empty()) return absl::StrCat("redis unix://", unix_path, "?db=", db, password.empty() ? "" : " (password ***)");
  return absl::StrCat("redis redis://", auth, host, ":", port, "/", db);
}

// ---- a connection ----

namespace {

// One synchronous connection with timeouts. After any error it is dropped, and the next command
// connects again: a server that went away or froze costs a message an error, not the bot.
class Connection {
 public:
  explicit Connection(const RedisOptions& o) : o_(o) {}

  // Runs one command; transport errors and timeouts are Unavailable, server errors Internal.
  // Replies of commands sent ahead (Send) are read first, in order.
  absl::StatusOr<Reply> Run(const std::vector<std::string_view>& args) {
    Drain();
    RETURN_IF_ERROR(Connect());
    void* raw = nullptr;
    if (!Append(args) || redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr)
      return Drop(absl::StrCat(std::string(args.front()), " failed"));
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR)
      return absl::InternalError(
          absl::StrCat(o_.Display(), ": ", std::string(args.front()), ": ", std::string(r->str, r->len)));
    return r;
  }
  absl::Status Connect() {
    if (ctx_) return absl::OkStatus();
    timeval tv = Timeval(o_.timeout_ms);
    ctx_.reset(o_.unix_path.empty() ? redisConnectWithTimeout(o_.host.c_str(), o_.port, tv)
                                    : redisConnectUnixWithTimeout(o_.unix_path.c_str(), tv));
    if (!ctx_ || ctx_->err) return Drop("cannot connect");
    redisSetTimeout(ctx_.get(), tv);
    // A failed AUTH or SELECT leaves no half-set-up connection behind.
    auto setup = [&](const std::vector<std::string_view>& command, const char* what) -> absl::Status {
      absl::Status st = Run(command).status();
      if (st.ok()) return st;
      ctx_.reset();
      return absl::Status(st.code(), absl::StrCat(st.message(), " (", what, ")"));
    };
    if (!o_.password.empty()) {
      std::vector<std::string_view> auth = {"AUTH"};
      if (!o_.user.empty()) auth.push_back(o_.user);
      auth.push_back(o_.password);
      RETURN_IF_ERROR(setup(auth, "check the password of modelpin.store"));
    }
    if (o_.db != 0) {
      std::string db = std::to_string(o_.db);
      RETURN_IF_ERROR(setup({"SELECT", db}, "selecting the db of modelpin.store"));
    }
    return absl::OkStatus();
  }
  // Runs a Lua script by its SHA1 (`sha`: learnt with SCRIPT LOAD on first use, and again when
  // the server forgot it), so the script's text crosses the socket once, not with every call.
  absl::StatusOr<Reply> Eval(std::string_view body, std::string& sha, std::vector<std::string_view> args) {
    for (int attempt = 0;; ++attempt) {
      if (sha.empty()) {
        ASSIGN_OR_RETURN(Reply loaded, Run({"SCRIPT", "LOAD", body}));
        if (loaded->type != REDIS_REPLY_STRING) return absl::InternalError(absl::StrCat(o_.Display(), ": SCRIPT LOAD: no SHA1"));
        sha.assign(loaded->str, loaded->len);
      }
      args.insert(args.begin(), {"EVALSHA", sha});
      absl::StatusOr<Reply> r = Run(args);
      if (r.ok() || attempt > 0 || !absl::StrContains(r.status().message(), "NOSCRIPT")) return r;
      args.erase(args.begin(), args.begin() + 2);
      sha.clear();
    }
  }
  // Pipelining: sends a command without waiting for its reply. `tag` comes back with the reply
  // (or the error that stands for it) to `on_reply`, when the next Run or Drain reads it.
  using OnReply = std::function<void(const std::string& tag, absl::StatusOr<Reply> reply)>;
  void set_on_reply(OnReply f) { on_reply_ = std::move(f); }
  absl::Status Send(const std::vector<std::string_view>& args, std::string tag) {
    if (pending_.size() >= kMaxPending) Drain();
    RETURN_IF_ERROR(Connect());
    if (!Append(args)) return Drop(absl::StrCat(std::string(args.front()), " failed"));
    pending_.push_back(std::move(tag));
    for (int done = 0; !done;)  // on the wire now: the server works while the caller goes on
      if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) return Drop(absl::StrCat(std::string(args.front()), " failed"));
    return absl::OkStatus();
  }
  // Reads the replies of every command sent ahead.
  void Drain() {
    while (!pending_.empty()) {
      std::string tag = std::move(pending_.front());
      pending_.pop_front();
      void* raw = nullptr;
      if (!ctx_ || redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
        absl::Status lost = ctx_ ? Drop("reading a pipelined reply") : absl::UnavailableError(absl::StrCat(o_.Display(), ": connection lost"));
        on_reply_(tag, lost);
        continue;
      }
      Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR)
        on_reply_(tag, absl::InternalError(absl::StrCat(o_.Display(), ": ", std::string(r->str, r->len))));
      else
        on_reply_(tag, std::move(r));
    }
  }
  redisContext* get() { return ctx_.get(); }
  absl::Status Drop(std::string_view what) {
    // Commands sent ahead on this connection lose their replies with it.
    std::deque<std::string> lost;
    lost.swap(pending_);
    std::string why = ctx_ && ctx_->err ? (ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                                               ? absl::StrCat("no answer within ", o_.timeout_ms, " ms")
                                               : std::string(ctx_->errstr))
                                        : "no reply";
    ctx_.reset();
    absl::Status st = absl::UnavailableError(absl::StrCat(o_.Display(), ": ", std::string(what), ": ", why));
    for (const std::string& tag : lost) on_reply_(tag, st);
    return st;
  }

 private:
  // Puts a command in the output buffer (Run then waits for its reply; Send flushes it).
  bool Append(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data()) == REDIS_OK;
  }
  static constexpr size_t kMaxPending = 1000;
  const RedisOptions& o_;
  Context ctx_;
  std::deque<std::string> pending_;
  OnReply on_reply_ = [](const std::string&, absl::StatusOr<Reply>) {};
};

}  // namespace

// ---- the store ----

struct RedisSessionStore::Impl {
  RedisOptions options;
  std::string channel;
  std::mutex mu;  // the command connection and the cache
  std::unique_ptr<Connection> conn;
  struct Cached {
    uint64_t version;
    SessionState state;
  };
  absl::node_hash_map<std::string, Cached> cache;  // by full Redis key; entries never move
  LastEntry<Cached> last;                            // the entry the last cached read used
  void Forget(const std::string& k) {
    last.Forget();
    cache.erase(k);
  }
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
      if (sp2 != std::string_view::npos && rest.substr(0, sp2) == token) return;
      key = sp2 == std::string_view::npos ? rest : rest.substr(sp2 + 1);
    } else {
      version = UINT64_MAX;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (message.empty()) {
      last.Forget();
      cache.clear();
      return;
    }
    auto it = cache.find(std::string(key));
    if (it != cache.end() && it->second.version < version) {
      last.Forget();
      cache.erase(it);
    }
  }

  // Follows the change channel on its own connection. While it is down, nothing is cached.
  void Listen() {
    int backoff_ms = 10;
    while (!stop.load()) {
      Connection sub(options);
      auto subscribed = sub.Run({"SUBSCRIBE", channel});
      if (!subscribed.ok()) {
        for (int waited = 0; waited < backoff_ms && !stop.load(); waited += 10)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        backoff_ms = std::min(backoff_ms * 2, 1000);
        continue;
      }
      backoff_ms = 10;
      Invalidate("");
      live.store(true);
      // Replies are read only when poll says the socket has data, so a quiet channel never
      // times out the connection, and `stop` is seen within 100 ms.
      while (!stop.load()) {
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

  // Reads a session (under mu): from the cache when `cached` allows and it holds the session,
  // else from the server (and caches it while the change subscription is up).
  absl::Status Read(const std::string& agent, const std::string& key, SessionState& into, uint64_t& version,
                    bool cached) {
    Cached* hit = nullptr;
    if (live.load(std::memory_order_acquire)) {
      hit = last.Find(agent, key);
      if (hit == nullptr)
        if (auto it = cache.find(Key(agent, key)); it != cache.end()) hit = last.Remember(agent, key, &it->second);
    }
    if (cached && hit != nullptr) {
      into = hit->state;
      version = hit->version;
      return absl::OkStatus();
    }
    const std::string& k = Key(agent, key);
    // A fresh read asks the server, which answers with the version alone when the cached copy
    // is current: no session JSON crosses the socket or is parsed again.
    bool current = false;
    RETURN_IF_ERROR(Fetch(k, key, hit != nullptr ? std::to_string(hit->version) : "", into, version, current));
    if (current) into = hit->state;
    return absl::OkStatus();
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
    return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
  }

  // Reads Redis key `k` unless the server holds version `held`: then sets `current` and leaves
  // `into` alone. Otherwise `into` and `version` are what the server holds (cached when live).
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
    if (live.load()) cache.insert_or_assign(k, Cached{version, into});
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
      cache.insert_or_assign(k, Cached{*expected + 1, state});
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Reply r, conn->Eval(kPutScript, put_sha, {"3", k, index, channel, want, json, key, token}));
    if (r->type != REDIS_REPLY_INTEGER) return absl::InternalError(absl::StrCat(options.Display(), ": unexpected reply to a session write"));
    if (r->integer < 0) {
      Forget(k);
      return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
    }
    // Our own change message carries this version and leaves the entry; a later one drops it.
    if (live.load()) cache.insert_or_assign(k, Cached{static_cast<uint64_t>(r->integer), state});
    return absl::OkStatus();
  }
};

RedisSessionStore::RedisSessionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisSessionStore::~RedisSessionStore() {
  impl_->stop.store(true);
  if (impl_->listener.joinable()) impl_->listener.join();
}

absl::StatusOr<std::unique_ptr<RedisSessionStore>> RedisSessionStore::Open(const RedisOptions& options) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->channel = absl::StrCat(options.prefix, "changes");
  impl->token = WriterToken();
  impl->conn = std::make_unique<Connection>(impl->options);
  Impl* raw = impl.get();
  impl->conn->set_on_reply([raw](const std::string& k, absl::StatusOr<Reply> r) { raw->OnPipelinedReply(k, std::move(r)); });
  RETURN_IF_ERROR(impl->conn->Run({"PING"}).status());
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
  impl_->conn->Drain();
  return std::exchange(impl_->group_error, absl::OkStatus());
}

absl::Status RedisSessionStore::Confirm(const std::string& agent, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Confirm(agent, key, version);
}

absl::Status RedisSessionStore::LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                                              uint64_t& version, Read read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Read(agent, key, into, version, read == Read::kCached);
}

absl::Status RedisSessionStore::Put(const std::string& agent, const std::string& key, const SessionState& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Write(agent, key, state, std::nullopt);
}

absl::Status RedisSessionStore::PutIfVersion(const std::string& agent, const std::string& key,
                                             const SessionState& state, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Write(agent, key, state, version);
}

absl::StatusOr<std::vector<std::string>> RedisSessionStore::Keys(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ASSIGN_OR_RETURN(Reply r, impl_->conn->Run({"SMEMBERS", impl_->IndexKey(agent)}));
  std::vector<std::string> keys;
  for (size_t i = 0; i < r->elements; ++i) keys.emplace_back(r->element[i]->str, r->element[i]->len);
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool RedisSessionStore::caching() const { return impl_->live.load(); }

// ---- auth health ----

struct RedisAuthHealth::Impl {
  RedisOptions options;
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

absl::StatusOr<std::unique_ptr<RedisAuthHealth>> RedisAuthHealth::Open(const RedisOptions& options) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->conn = std::make_unique<Connection>(impl->options);
  RETURN_IF_ERROR(impl->conn->Run({"PING"}).status());
  return std::unique_ptr<RedisAuthHealth>(new RedisAuthHealth(std::move(impl)));
}

absl::StatusOr<AuthHealth> RedisAuthHealth::Read(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
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
}

absl::StatusOr<uint64_t> RedisAuthHealth::Version(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ASSIGN_OR_RETURN(Reply r, impl_->conn->Run({"HGET", impl_->Key(agent), "ver"}));
  uint64_t v = 0;
  if (r->type == REDIS_REPLY_STRING) ParseNumber(std::string_view(r->str, r->len), &v);
  return v;
}

absl::Status RedisAuthHealth::Update(const std::string& agent, const std::string& profile_id,
                                     const std::string& provider, const Change& change) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Connection& c = *impl_->conn;
  const std::string key = impl_->Key(agent), ufield = "u:" + profile_id, gfield = "g:" + provider;
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    RETURN_IF_ERROR(c.Run({"WATCH", key}).status());
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
}

// ---- from the config ----

absl::StatusOr<std::optional<RedisOptions>> ConfiguredRedis(const Config& config) {
  const Config::StoreConfig& sc = config.store();
  if (sc.url.empty()) return std::nullopt;
  auto options = RedisOptions::FromUrl(sc.url);
  if (!options.ok())
    return absl::InvalidArgumentError(absl::StrCat(config.path(), ": $.modelpin.store: ", options.status().message()));
  options->prefix = sc.prefix;
  options->timeout_ms = sc.timeout_ms;
  return options;
}

absl::StatusOr<std::unique_ptr<SessionStore>> OpenConfiguredSessionStore(const Config& config,
                                                                         const std::string& state_dir) {
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));
  if (!redis) {
    ASSIGN_OR_RETURN(auto sqlite, SqliteSessionStore::Open(state_dir + "/sessions.sqlite"));
    return std::unique_ptr<SessionStore>(std::move(sqlite));
  }
  ASSIGN_OR_RETURN(auto store, RedisSessionStore::Open(*redis));
  return std::unique_ptr<SessionStore>(std::move(store));
}

absl::StatusOr<std::shared_ptr<AuthHealthStore>> OpenConfiguredAuthHealth(const Config& config) {
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));
  if (!redis) return nullptr;
  ASSIGN_OR_RETURN(auto health, RedisAuthHealth::Open(*redis));
  return std::shared_ptr<AuthHealthStore>(std::move(health));
}

}  // namespace modelpin
