#include <modelpin/engine/sessions/redis/client.h>

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"

namespace modelpin::redis_internal {

timeval Timeval(int ms) { return timeval{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)}; }

std::string WriterToken() {
  std::random_device rd;
  uint64_t bits = (uint64_t{rd()} << 32) ^ rd();
  return absl::StrCat(absl::Hex(bits, absl::kZeroPad16));
}

void IgnoreSigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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

}  // namespace modelpin::redis_internal
