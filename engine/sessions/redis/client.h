// The small pieces every Redis user of engine/sessions/ shares: owned hiredis replies and
// contexts, one-off commands (sentinels are asked this way), number parsing. Internal to
// engine/sessions/ (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_REDIS_CLIENT_H_
#define MODELPIN_ENGINE_SESSIONS_REDIS_CLIENT_H_

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelpin::redis_internal {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

using Args = std::vector<std::string_view>;

timeval Timeval(int ms);
// A writer id for this process's change messages: 64 random bits in hex (processes on several
// machines share one channel, so a pid would not do).
std::string WriterToken();
// hiredis writes with write(2): a server that went away would kill the process with SIGPIPE
// instead of failing the one command. A process that left SIGPIPE at its default gets it
// ignored (a handler the embedder installed is kept).
void IgnoreSigpipe();
// Debian's abseil has its own string_view, so numbers and splits use the standard library.
template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}
std::vector<std::string_view> Split(std::string_view s, char sep);
// Milliseconds of the steady clock: deadlines and back-offs.
int64_t NowMs();
// Connects to host:port within `timeout_ms`; nullptr or a context with `err` set on failure.
Context Dial(const std::string& host, int port, int timeout_ms);
// One command on a connection of its own (sentinels are asked this way); a reply or why not.
absl::StatusOr<Reply> AskOnce(redisContext* c, const Args& args);
// A string or status reply's text; "" for anything else.
std::string Str(const redisReply* r);

}  // namespace modelpin::redis_internal

#endif  // MODELPIN_ENGINE_SESSIONS_REDIS_CLIENT_H_
