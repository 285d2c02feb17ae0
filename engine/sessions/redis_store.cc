#include "engine/sessions/redis_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <deque>
#include <functional>
#include <atomic>
#include <charconv>
#include <mutex>
#include <random>
#include <thread>

#include "absl/container/node_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
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
  if (url.starts_with("redis-sentinel://")) {
    std::string_view rest = url.substr(17);
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
      std::string_view cred = rest.substr(0, at);
      rest = rest.substr(at + 1);
      size_t colon = cred.find(':');
      if (colon == std::string_view::npos) return bad("credentials must be :password or user:password");
      o.user = std::string(cred.substr(0, colon));
      o.password = std::string(cred.substr(colon + 1));
    }
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) query = rest.substr(q + 1), rest = rest.substr(0, q);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size())
      return bad("expected redis-sentinel://host:port[,host:port...]/<master-name>[?db=N]");
    o.master_name = std::string(rest.substr(slash + 1));
    if (o.master_name.find('/') != std::string::npos) return bad("the master name must not contain '/'");
    for (std::string_view hp : Split(rest.substr(0, slash), ',')) {
      RedisOptions::Server s;
      size_t colon = hp.rfind(':');
      s.host = std::string(hp.substr(0, colon));
      if (colon != std::string_view::npos &&
          (!ParseNumber(hp.substr(colon + 1), &s.port) || s.port <= 0 || s.port > 65535))
        return bad(absl::StrCat("sentinel \"", std::string(hp), "\": port must be a number from 1 to 65535"));
      if (s.host.size() > 2 && s.host.front() == '[' && s.host.back() == ']') s.host = s.host.substr(1, s.host.size() - 2);
      if (s.host.empty()) return bad(absl::StrCat("sentinel \"", std::string(hp), "\": no host"));
      o.sentinels.push_back(std::move(s));
    }
    if (o.sentinels.empty()) return bad("no sentinel host:port");
    for (std::string_view kv : Split(query, '&')) {
      size_t eq = kv.find('=');
      std::string_view name = kv.substr(0, eq), value = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
      if (name != "db") return bad(absl::StrCat("unknown parameter \"", std::string(name), "\" (known: db)"));
      if (!parse_db(value)) return bad("db must be a number");
    }
    return o;
  }
  if (!url.starts_with("redis://"))
    return bad("expected redis://[:password@]host:port/db, unix:///path/redis.sock?db=N or "
               "redis-sentinel://host:port[,host:port...]/<master-name>?db=N");
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
  if (!sentinels.empty()) {
    std::string out = absl::StrCat("redis redis-sentinel://", auth);
    for (size_t i = 0; i < sentinels.size(); ++i) {
      const std::string& h = sentinels[i].host;  // an IPv6 address in brackets, as in the URL
      bool v6 = h.find(':') != std::string::npos;
      absl::StrAppend(&out, i ? "," : "", v6 ? "[" : "", h, v6 ? "]" : "", ":", sentinels[i].port);
    }
    absl::StrAppend(&out, "/", master_name, "?db=", db);
    return out;
  }
  return absl::StrCat("redis redis://", auth, host, ":", port, "/", db);
}

// ---- the primary, as the sentinels name it ----

namespace {

using Args = std::vector<std::string_view>;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Connects to host:port within `timeout_ms`; nullptr or a context with `err` set on failure.
Context Dial(const std::string& host, int port, int timeout_ms) {
  timeval tv = Timeval(timeout_ms);
  Context c(redisConnectWithTimeout(host.c_str(), port, tv));
  if (c && !c->err) redisSetTimeout(c.get(), tv);
  return c;
}

// One command on a connection of its own (sentinels are asked this way); a reply or why not.
absl::StatusOr<Reply> AskOnce(redisContext* c, const Args& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto a : args) argv.push_back(a.data()), lens.push_back(a.size());
  void* raw = redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (raw == nullptr)
    return absl::UnavailableError(c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                                      ? std::string("no answer in time")
                                      : std::string(c->errstr));
  Reply r(static_cast<redisReply*>(raw));
  if (r->type == REDIS_REPLY_ERROR) return absl::InternalError(std::string(r->str, r->len));
  return r;
}

std::string Str(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len)
                                                                                          : std::string();
}

// Where the primary of a `redis-sentinel://` store is, shared by every connection of the process
// to that store (sessions, their change subscription, auth health). The address is asked of the
// sentinels when first needed and again after a connection to it failed (`MarkStale`); each time
// it changes, `epoch` grows: connections made before reconnect, and the session cache (told
// through `OnSwitch`) is not used until its change subscription is on the new primary.
class Topology {
 public:
  struct Addr {
    std::string host;
    int port = 0;
    bool operator==(const Addr&) const = default;
    std::string Label() const { return absl::StrCat(host, ":", port); }
  };

  static std::shared_ptr<Topology> For(const RedisOptions& o) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Topology>> all;
    std::lock_guard<std::mutex> lock(mu);
    std::string key = absl::StrCat(o.Display(), "#", o.timeout_ms);
    if (auto t = all[key].lock()) return t;
    auto t = std::make_shared<Topology>(o);
    all[key] = t;
    return t;
  }
  explicit Topology(const RedisOptions& o) : o_(o) {}

  uint64_t epoch() const { return epoch_.load(); }

  // The primary's address and the epoch it belongs to; asks the sentinels when it is not known.
  absl::StatusOr<Addr> Primary(uint64_t* epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stale_ || primary_.host.empty()) {
      ASSIGN_OR_RETURN(Addr a, AskLocked());
      SwitchLocked(a);
      stale_ = false;
    }
    *epoch = epoch_.load();
    return primary_;
  }
  // The primary failed a connection or a command: the next connection asks the sentinels again.
  void MarkStale() {
    std::lock_guard<std::mutex> lock(mu_);
    stale_ = true;
  }
  // A sentinel announced a new primary (`+switch-master`), or was asked (`Refresh`).
  void Switch(const Addr& a) {
    std::lock_guard<std::mutex> lock(mu_);
    SwitchLocked(a);
    stale_ = false;
  }
  absl::Status Refresh() {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(Addr a, AskLocked());
    SwitchLocked(a);
    stale_ = false;
    return absl::OkStatus();
  }
  // `f` runs (on any thread, maybe with a store's lock held: it must only set flags) after each
  // change of the primary. Returns an id for Unsubscribe.
  int OnSwitch(std::function<void()> f) {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.emplace_back(++next_id_, std::move(f));
    return next_id_;
  }
  void Unsubscribe(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(listeners_, [&](const auto& l) { return l.first == id; });
  }
  // Asks each sentinel in turn, starting with the last one that answered, for the primary of
  // the master name. All failing is an error naming each sentinel and why.
  absl::StatusOr<Addr> Ask() {
    std::lock_guard<std::mutex> lock(mu_);
    return AskLocked();
  }

 private:
  absl::StatusOr<Addr> AskLocked() {
    std::vector<std::string> tried;
    const size_t n = o_.sentinels.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t at = (last_good_ + i) % n;
      const RedisOptions::Server& s = o_.sentinels[at];
      std::string label = absl::StrCat(s.host, ":", s.port);
      Context c = Dial(s.host, s.port, o_.timeout_ms);
      if (!c || c->err) {
        tried.push_back(absl::StrCat(label, " (", c ? c->errstr : "out of memory", ")"));
        continue;
      }
      auto r = AskOnce(c.get(), {"SENTINEL", "get-master-addr-by-name", o_.master_name});
      if (!r.ok()) {
        tried.push_back(absl::StrCat(label, " (", r.status().message(), ")"));
        continue;
      }
      const redisReply* x = r->get();
      int port = 0;
      if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 || !ParseNumber(Str(x->element[1]), &port)) {
        tried.push_back(absl::StrCat(label, " (does not know master \"", o_.master_name, "\")"));
        continue;
      }
      last_good_ = at;
      return Addr{Str(x->element[0]), port};
    }
    return absl::UnavailableError(absl::StrCat(o_.Display(), ": no sentinel named the primary of \"", o_.master_name,
                                               "\"; tried ", absl::StrJoin(tried, ", ")));
  }
  void SwitchLocked(const Addr& a) {
    if (a == primary_) return;
    bool first = primary_.host.empty();
    primary_ = a;
    epoch_.fetch_add(1);
    if (!first)
      for (auto& l : listeners_) l.second();
  }

  const RedisOptions o_;
  std::mutex mu_;
  Addr primary_;
  bool stale_ = false;
  size_t last_good_ = 0;
  std::atomic<uint64_t> epoch_{0};
  std::vector<std::pair<int, std::function<void()>>> listeners_;
  int next_id_ = 0;
};

// ---- a connection ----

// One synchronous connection with timeouts. After any error it is dropped, and the next command
// connects again: a server that went away or froze costs a message an error, not the bot.
class Connection {
 public:
  explicit Connection(const RedisOptions& o, std::shared_ptr<Topology> topology = nullptr)
      : o_(o), topology_(std::move(topology)) {}

  // Runs one command (and `then`, in the same round trip, its reply in `then_reply`); transport
  // errors and timeouts are Unavailable, server errors Internal. Replies of commands sent ahead
  // (Send) are read first, in order. A command that never reached the server (the connection
  // had died while idle, or the write failed) or that a demoted primary refused (READONLY) is
  // sent once more on a fresh connection; `LOADING` (the server is reading its data after a
  // restart) is waited out within the timeout. After an Unavailable error, `sent()` says whether
  // the command may have reached the server.
  absl::StatusOr<Reply> Run(const Args& args, const Args* then = nullptr, Reply* then_reply = nullptr) {
    Drain();
    const int64_t deadline = NowMs() + o_.timeout_ms;
    bool retried = false;
    if (budgeted_ && ctx_) {  // a previous call shortened the socket's timeout: restore it
      timeval tv = Timeval(o_.timeout_ms);
      redisSetTimeout(ctx_.get(), tv);
      budgeted_ = false;
    }
    for (bool first = true;; first = false) {
      sent_ = false;
      if (pinned_) {
        // Inside a WATCH/MULTI transaction only the connection that holds it will do.
        if (!ctx_) return absl::UnavailableError(absl::StrCat(Where(), ": connection lost during a transaction"));
        absl::StatusOr<Reply> r = Call(args, then, then_reply);
        if (r.ok() && (*r)->type == REDIS_REPLY_ERROR)
          return absl::InternalError(absl::StrCat(Where(), ": ", std::string(args.front()), ": ", std::string((*r)->str, (*r)->len)));
        return r;
      }
      if (ctx_ && topology_ && epoch_ != topology_->epoch()) ctx_.reset();  // the primary moved
      if (ctx_) {
        // An idle connection with something to read was closed by the server (or is out of
        // step): it would fail the command after sending it. Start afresh instead.
        pollfd p{ctx_->fd, POLLIN, 0};
        if (::poll(&p, 1, 0) != 0) ctx_.reset();
      }
      const bool fresh = !ctx_;
      absl::Status connected = Connect(deadline);
      sent_ = false;  // what Connect sent (AUTH, SELECT, ROLE) is not this command
      if (!connected.ok()) return connected;
      // Connecting, a retry or a wait took part of this call's time: the rest is what it has.
      if (fresh || !first) Budget(deadline);
      absl::StatusOr<Reply> r = Call(args, then, then_reply);
      if (!r.ok()) {
        if (!sent_ && !retried && NowMs() < deadline) {
          retried = true;
          continue;
        }
        return r;
      }
      if ((*r)->type != REDIS_REPLY_ERROR) return r;
      std::string_view err((*r)->str, (*r)->len);
      if (err.starts_with("LOADING")) {
        if (NowMs() + 10 < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        return absl::UnavailableError(absl::StrCat(Where(), ": ", std::string(args.front()),
                                                   ": the server is still loading its data after ",
                                                   o_.timeout_ms, " ms (", std::string(err), ")"));
      }
      if (err.starts_with("READONLY")) {
        // A demoted primary: nothing was applied. Ask the sentinels and try the new one once.
        std::string where = Where();
        if (topology_) topology_->MarkStale();
        ctx_.reset();
        if (topology_ && !retried && NowMs() < deadline) {
          retried = true;
          continue;
        }
        return absl::UnavailableError(absl::StrCat(where, ": ", std::string(args.front()), ": ", std::string(err)));
      }
      return absl::InternalError(absl::StrCat(Where(), ": ", std::string(args.front()), ": ", std::string(err)));
    }
  }
  bool sent() const { return sent_; }
  // Shortens the socket's timeout to what is left until `deadline` (restored by the next Run).
  void Budget(int64_t deadline) {
    if (!ctx_ || ctx_->err) return;
    int64_t left = std::max<int64_t>(1, deadline - NowMs());
    if (left >= o_.timeout_ms && !budgeted_) return;
    timeval tv = Timeval(static_cast<int>(std::min<int64_t>(left, o_.timeout_ms)));
    redisSetTimeout(ctx_.get(), tv);
    budgeted_ = true;
  }
  uint64_t epoch() const { return epoch_; }
  // While pinned (a WATCH/MULTI transaction), commands neither reconnect nor retry.
  void set_pinned(bool pinned) { pinned_ = pinned; }

  // Connects unless connected; with a deadline (NowMs), within what is left of it.
  absl::Status Connect(int64_t deadline = 0) {
    if (ctx_) return absl::OkStatus();
    const int budget = deadline == 0 ? o_.timeout_ms : static_cast<int>(std::clamp<int64_t>(deadline - NowMs(), 1, o_.timeout_ms));
    timeval tv = Timeval(budget);
    if (topology_) {
      ASSIGN_OR_RETURN(Topology::Addr a, topology_->Primary(&epoch_));
      addr_ = a.Label();
      ctx_ = Dial(a.host, a.port, budget);
      if (deadline != 0) Budget(deadline);
    } else {
      ctx_.reset(o_.unix_path.empty() ? redisConnectWithTimeout(o_.host.c_str(), o_.port, tv)
                                      : redisConnectUnixWithTimeout(o_.unix_path.c_str(), tv));
      if (ctx_ && !ctx_->err) redisSetTimeout(ctx_.get(), tv);
      budgeted_ = budget < o_.timeout_ms;
    }
    if (!ctx_ || ctx_->err) return Drop("cannot connect");
    // A failed AUTH or SELECT leaves no half-set-up connection behind.
    auto setup = [&](const Args& command, const char* what) -> absl::StatusOr<Reply> {
      absl::StatusOr<Reply> r = Call(command, nullptr, nullptr);
      if (r.ok() && (*r)->type == REDIS_REPLY_ERROR)
        r = absl::InternalError(absl::StrCat(Where(), ": ", std::string(command.front()), ": ",
                                             std::string((*r)->str, (*r)->len)));
      if (r.ok()) return r;
      ctx_.reset();
      if (topology_) topology_->MarkStale();
      if (r.status().code() != absl::StatusCode::kInternal) return r.status();  // the connection, not the server's answer
      return absl::Status(r.status().code(), absl::StrCat(r.status().message(), " (", what, ")"));
    };
    if (!o_.password.empty()) {
      Args auth = {"AUTH"};
      if (!o_.user.empty()) auth.push_back(o_.user);
      auth.push_back(o_.password);
      RETURN_IF_ERROR(setup(auth, "check the password of modelpin.store").status());
    }
    if (o_.db != 0) {
      std::string db = std::to_string(o_.db);
      RETURN_IF_ERROR(setup({"SELECT", db}, "selecting the db of modelpin.store").status());
    }
    if (topology_) {
      // The sentinels may name a server that is not (or no longer) the primary: only a primary
      // that says so is used.
      ASSIGN_OR_RETURN(Reply role, setup({"ROLE"}, "asking the server named by the sentinels for its role"));
      std::string is = role->type == REDIS_REPLY_ARRAY && role->elements > 0 ? Str(role->element[0]) : "";
      if (is != "master") {
        std::string where = Where();
        ctx_.reset();
        topology_->MarkStale();
        return absl::UnavailableError(
            absl::StrCat(where, ": the server the sentinels named is a ", is.empty() ? "?" : is, ", not the primary"));
      }
    }
    return absl::OkStatus();
  }
  // Runs a Lua script by its SHA1 (`sha`: learnt with SCRIPT LOAD on first use, and again when
  // the server forgot it), so the script's text crosses the socket once, not with every call.
  absl::StatusOr<Reply> Eval(std::string_view body, std::string& sha, Args args, const Args* then = nullptr,
                             Reply* then_reply = nullptr) {
    for (int attempt = 0;; ++attempt) {
      if (sha.empty()) {
        ASSIGN_OR_RETURN(Reply loaded, Run({"SCRIPT", "LOAD", body}));
        if (loaded->type != REDIS_REPLY_STRING) return absl::InternalError(absl::StrCat(Where(), ": SCRIPT LOAD: no SHA1"));
        sha.assign(loaded->str, loaded->len);
      }
      args.insert(args.begin(), {"EVALSHA", sha});
      absl::StatusOr<Reply> r = Run(args, then, then_reply);
      if (r.ok() || attempt > 0 || !absl::StrContains(r.status().message(), "NOSCRIPT")) return r;
      args.erase(args.begin(), args.begin() + 2);
      sha.clear();
    }
  }
  // Pipelining: sends a command without waiting for its reply. `tag` comes back with the reply
  // (or the error that stands for it) to `on_reply`, when the next Run or Drain reads it.
  using OnReply = std::function<void(const std::string& tag, absl::StatusOr<Reply> reply)>;
  void set_on_reply(OnReply f) { on_reply_ = std::move(f); }
  absl::Status Send(const Args& args, std::string tag) {
    if (pending_.size() >= kMaxPending) Drain();
    if (ctx_ && topology_ && epoch_ != topology_->epoch() && pending_.empty()) ctx_.reset();
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
        absl::Status lost = ctx_ ? Drop("reading a pipelined reply") : absl::UnavailableError(absl::StrCat(Where(), ": connection lost"));
        on_reply_(tag, lost);
        continue;
      }
      Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ERROR) {
        if (topology_ && std::string_view(r->str, r->len).starts_with("READONLY")) topology_->MarkStale();
        on_reply_(tag, absl::InternalError(absl::StrCat(Where(), ": ", std::string(r->str, r->len))));
      } else {
        on_reply_(tag, std::move(r));
      }
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
    std::string where = Where();
    ctx_.reset();
    if (topology_) topology_->MarkStale();  // the next connection asks the sentinels again
    absl::Status st = absl::UnavailableError(absl::StrCat(where, ": ", std::string(what), ": ", why));
    for (const std::string& tag : lost) on_reply_(tag, st);
    return st;
  }
  // The store as errors name it: with Sentinel, the primary this connection uses too.
  std::string Where() const { return topology_ && !addr_.empty() ? absl::StrCat(o_.Display(), " (primary ", addr_, ")") : o_.Display(); }

 private:
  // Sends a command (and `then`) and reads the reply (and `then`'s); a server error is a reply.
  // Transport errors drop the connection; `sent_` tells whether the command left this process.
  absl::StatusOr<Reply> Call(const Args& args, const Args* then, Reply* then_reply) {
    if (!Append(args) || (then != nullptr && !Append(*then)))
      return Drop(absl::StrCat(std::string(args.front()), " failed"));
    for (int done = 0; !done;)
      if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) return Drop(absl::StrCat(std::string(args.front()), " failed"));
    sent_ = true;
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr)
      return Drop(absl::StrCat(std::string(args.front()), " failed"));
    Reply r(static_cast<redisReply*>(raw));
    if (then != nullptr) {
      void* more = nullptr;
      if (redisGetReply(ctx_.get(), &more) != REDIS_OK || more == nullptr)
        return Drop(absl::StrCat(std::string(then->front()), " failed"));
      then_reply->reset(static_cast<redisReply*>(more));
    }
    return r;
  }
  // Puts a command in the output buffer (Run then waits for its reply; Send flushes it).
  bool Append(const Args& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto a : args) argv.push_back(a.data()), lens.push_back(a.size());
    return redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data()) == REDIS_OK;
  }
  static constexpr size_t kMaxPending = 1000;
  const RedisOptions& o_;
  std::shared_ptr<Topology> topology_;
  Context ctx_;
  std::deque<std::string> pending_;
  bool sent_ = false;
  bool pinned_ = false;
  bool budgeted_ = false;  // the socket's timeout is shorter than timeout_ms (Budget)
  uint64_t epoch_ = 0;  // the topology's epoch when this connection was made
  std::string addr_;    // the primary it was made to (Sentinel)
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

  // Follows the sentinels' `+switch-master` announcements on one sentinel at a time (the next
  // one when it goes away). On (re)subscribing it asks for the primary, in case a switch
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
      for (int waited = 0; waited < backoff_ms && !stop.load(); waited += 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      backoff_ms = std::min(backoff_ms * 2, 500);
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
    if (live.load()) cache.insert_or_assign(k, Cached{static_cast<uint64_t>(x->integer), state});
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

absl::StatusOr<std::unique_ptr<RedisSessionStore>> RedisSessionStore::Open(const RedisOptions& options) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->channel = absl::StrCat(options.prefix, "changes");
  impl->token = WriterToken();
  Impl* raw = impl.get();
  if (!options.sentinels.empty()) {
    impl->topology = Topology::For(options);
    // A new primary may lack changes the old one acknowledged, and the change subscription is
    // on the old one: nothing cached is used until the subscription is on the new primary.
    impl->switch_subscription = impl->topology->OnSwitch([raw] { raw->live.store(false); });
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

absl::StatusOr<std::unique_ptr<RedisAuthHealth>> RedisAuthHealth::Open(const RedisOptions& options) {
  IgnoreSigpipe();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.sentinels.empty()) impl->topology = Topology::For(options);
  impl->conn = std::make_unique<Connection>(impl->options, impl->topology);
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
}

// ---- what the sentinels say (doctor) ----

absl::StatusOr<SentinelReport> ReportSentinels(const RedisOptions& options) {
  if (options.sentinels.empty()) return absl::InvalidArgumentError(absl::StrCat(options.Display(), ": not a redis-sentinel:// store"));
  SentinelReport report;
  std::map<std::string, int> votes;
  for (const RedisOptions::Server& s : options.sentinels) {
    SentinelReport::Answer& a = report.answers.emplace_back();
    a.sentinel = absl::StrCat(s.host, ":", s.port);
    Context c = Dial(s.host, s.port, options.timeout_ms);
    if (!c || c->err) {
      a.error = c ? c->errstr : "out of memory";
      continue;
    }
    auto r = AskOnce(c.get(), {"SENTINEL", "get-master-addr-by-name", options.master_name});
    if (!r.ok()) {
      a.error = std::string(r.status().message());
    } else if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != 2) {
      a.error = absl::StrCat("does not know master \"", options.master_name, "\"");
    } else {
      a.primary = absl::StrCat(Str((*r)->element[0]), ":", Str((*r)->element[1]));
      ++votes[a.primary];
    }
  }
  for (const auto& [primary, n] : votes)
    if (report.primary.empty() || n > votes[report.primary]) report.primary = primary;
  report.agree = votes.size() == 1 && std::all_of(report.answers.begin(), report.answers.end(),
                                                  [](const auto& a) { return !a.primary.empty(); });
  if (report.primary.empty()) return report;
  // The primary's own view of its replicas (ROLE): address and the offset each acknowledged.
  size_t colon = report.primary.rfind(':');
  int port = 0;
  ParseNumber(std::string_view(report.primary).substr(colon + 1), &port);
  Context c = Dial(report.primary.substr(0, colon), port, options.timeout_ms);
  if (!c || c->err) {
    report.primary_error = c ? c->errstr : "out of memory";
    return report;
  }
  if (!options.password.empty()) {
    Args auth = {"AUTH"};
    if (!options.user.empty()) auth.push_back(options.user);
    auth.push_back(options.password);
    if (auto r = AskOnce(c.get(), auth); !r.ok()) {
      report.primary_error = absl::StrCat("AUTH: ", r.status().message());
      return report;
    }
  }
  auto role = AskOnce(c.get(), {"ROLE"});
  if (!role.ok()) {
    report.primary_error = std::string(role.status().message());
    return report;
  }
  const redisReply* x = role->get();
  if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 || Str(x->element[0]) != "master") {
    report.primary_error = absl::StrCat("it says it is a ", x->type == REDIS_REPLY_ARRAY && x->elements ? Str(x->element[0]) : "?",
                                        ", not the primary");
    return report;
  }
  long long primary_offset = x->element[1]->type == REDIS_REPLY_INTEGER ? x->element[1]->integer : 0;
  const redisReply* list = x->element[2];
  for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; ++i) {
    const redisReply* r = list->element[i];
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) continue;
    report.replicas.push_back(absl::StrCat(Str(r->element[0]), ":", Str(r->element[1]), " (acknowledged offset ",
                                           Str(r->element[2]), " of ", primary_offset, ")"));
  }
  return report;
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
  options->wait_replicas = sc.wait_replicas;
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
