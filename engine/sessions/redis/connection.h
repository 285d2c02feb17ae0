// A command connection to a Redis store's server (or its primary). Internal to engine/sessions/
// (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_REDIS_CONNECTION_H_
#define MODELPIN_ENGINE_SESSIONS_REDIS_CONNECTION_H_

#include <poll.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/redis/client.h>
#include <modelpin/engine/sessions/redis/topology.h>
#include <modelpin/engine/sessions/redis_store.h>

namespace modelpin::redis_internal {

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

}  // namespace modelpin::redis_internal

#endif  // MODELPIN_ENGINE_SESSIONS_REDIS_CONNECTION_H_
