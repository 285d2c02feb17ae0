// `modelpin serve`'s HTTP/1.1 server (Boost.Beast over Boost.Asio): keep-alive, a small fixed
// pool of threads, bearer tokens, limits that answer with clear JSON errors, and a graceful drain
// on SIGTERM (in-flight requests finish, then Run returns). It knows routes only through the
// Router (service/router.h); docs/service.md describes the whole service.
//
//   Router router;
//   RegisterApi(router, engine, {});                    // service/api.h
//   auto server = Server::Listen({.listen = "127.0.0.1:8787", .token = token}, router);
//   if (!server.ok()) return Fail(server.status());
//   return (*server)->Run();                            // until SIGTERM or SIGINT
#ifndef MODELPIN_SERVICE_SERVER_H_
#define MODELPIN_SERVICE_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include <modelpin/service/router.h>

namespace modelpin::service {

struct ServerOptions {
  // "HOST:PORT" ("127.0.0.1:8787", "[::1]:8787"; port 0 picks a free one) or "unix:PATH".
  std::string listen = "127.0.0.1:8787";
  int threads = 2;
  // The service token (every /v1 route) and the read-only token (GET routes only; "" = none).
  // An empty service token refuses every /v1 request.
  std::string token{};
  std::string read_token{};
  // Probes (/healthz, /readyz, /metrics) answer without a token from anywhere, not only from
  // loopback and unix sockets.
  bool public_probes = false;
  size_t max_body = 1 << 20;         // bytes; more is 413
  size_t max_header = 16 * 1024;     // bytes of request line and headers; more is 431
  size_t max_connections = 512;      // more are answered 503 and closed
  // A request must arrive whole within this (a slow client is closed, 408 when it had begun);
  // an idle keep-alive connection is closed after it too.
  std::chrono::milliseconds read_timeout{10'000};
  // How long a drain waits for in-flight requests before it closes them.
  std::chrono::milliseconds drain_timeout{10'000};
  // Where the server's own lines go (start, drain, handler failures); stderr when unset. Never
  // holds a token.
  std::function<void(std::string_view)> log{};
};

class Server {
 public:
  // Binds the address (a stale unix socket file is replaced) or names why it cannot.
  static absl::StatusOr<std::unique_ptr<Server>> Listen(ServerOptions options, const Router& router);
  virtual ~Server() = default;
  // Where it listens: "127.0.0.1:43125" (the port bound) or "unix:/run/modelpin.sock".
  virtual std::string address() const = 0;
  // Serves until SIGTERM or SIGINT (or Stop), then drains: stops accepting, lets in-flight
  // requests finish (up to drain_timeout), closes idle connections and streams. Returns 0.
  virtual int Run() = 0;
  // Starts the drain from any thread.
  virtual void Stop() = 0;
};

// Whether `presented` equals `expected`, in time that depends on neither's contents (OpenSSL's
// CRYPTO_memcmp; only a length mismatch answers early). An empty `expected` matches nothing.
bool TokenMatches(std::string_view presented, std::string_view expected);

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_SERVER_H_
