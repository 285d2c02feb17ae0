// The service's routes: which handler answers a method and path, and who may call it. The HTTP
// server (service/server.h) parses a request, asks the router, checks the caller's token, and
// writes what the handler answers; handlers never see sockets. Other pieces plug in with one line
// each (docs/service.md, "Adding a route"):
//
//   router.Add("GET", "/metrics", Access::kProbe, [&](const Request&, Response& r) {
//     r.content_type = "text/plain; version=0.0.4";
//     r.body = registry.Text();
//   });
//   router.AddStream("GET", "/v1/events", Access::kRead, [&](const Request&, std::shared_ptr<Stream> s) {
//     fanout.Subscribe(std::move(s));   // writes "data: ...\n\n" to it as events arrive
//   });
//
// Paths are literal segments and "{name}" segments, which match one non-empty segment
// (percent-decoded: Request::Param). Thread-safe once the server runs: routes are added before.
#ifndef MODELPIN_SERVICE_ROUTER_H_
#define MODELPIN_SERVICE_ROUTER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelpin::service {

// Who may call a route.
enum class Access {
  kPublic,  // no token from anywhere: the console's static page, which holds nothing of the
            // deployment (the page itself asks for the token and sends it with every call)
  kProbe,  // no token from loopback or a unix socket (or from anywhere when probes are public);
           // otherwise any valid token
  kRead,   // the service token or the read-only token (dashboards)
  kWrite,  // the service token only
};

struct Request {
  std::string_view method;  // "GET"
  std::string_view path;    // "/v1/sessions/agent%3Amain" as sent, without the query
  std::string_view query;   // "limit=10&cursor=x", without '?'
  std::string_view body;
  // The "{name}" segments of the route that matched, percent-decoded, in path order.
  std::vector<std::pair<std::string_view, std::string>> params;

  // The "{name}" segment, "" when the route has none of that name.
  const std::string& Param(std::string_view name) const;
  // The query parameter (percent-decoded, '+' as space), "" when absent; `present` says whether
  // it was given at all.
  std::string Query(std::string_view name, bool* present = nullptr) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  void Clear() {
    status = 200;
    content_type = "application/json";
    body.clear();
    headers.clear();
  }
};

// A long-lived response (Server-Sent Events): the server has sent the status line and headers
// (200, text/event-stream, no-cache) and writes each chunk as it is given, in order. Any thread
// may write. Write answers false once the client is gone or the server drains: drop the stream.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual bool Write(std::string_view chunk) = 0;
  virtual bool open() const = 0;
  // Ends the response (the connection closes).
  virtual void Close() = 0;
};

using Handler = std::function<void(const Request&, Response&)>;
using StreamHandler = std::function<void(const Request&, std::shared_ptr<Stream>)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;                // "/v1/sessions/{key}"
    std::vector<std::string> segments;  // {"v1", "sessions", "{key}"}
    Access access = Access::kWrite;
    Handler handler;                    // set for an ordinary route
    StreamHandler stream;               // set for a streaming one
    bool hidden = false;                // not in Routes() (the benchmark's floor)
  };
  struct Match {
    const Route* route = nullptr;  // null: see status
    int status = 200;              // 404 no such path, 405 the path takes other methods
    std::string allow;             // for 405: "GET, DELETE"
  };

  // Adds a route. A second route of the same method and pattern replaces the first.
  void Add(std::string_view method, std::string_view pattern, Access access, Handler handler);
  void AddStream(std::string_view method, std::string_view pattern, Access access, StreamHandler handler);
  // A route left out of Routes(): served, not documented (the benchmark's constant answer).
  void AddHidden(std::string_view method, std::string_view pattern, Access access, Handler handler);

  // The route for `method` and `path` (without the query), its "{name}" segments in `params`.
  Match Find(std::string_view method, std::string_view path,
             std::vector<std::pair<std::string_view, std::string>>& params) const;
  // Every documented route as "METHOD pattern", sorted (`modelpin serve --routes`; a test holds
  // the OpenAPI document against it).
  std::vector<std::string> Routes() const;

 private:
  Route& Put(std::string_view method, std::string_view pattern);
  std::vector<Route> routes_;
};

// The JSON error body every refusal uses: {"error": {"status": 404, "message": "..."}}.
std::string ErrorJson(int status, std::string_view message);

// Percent-decoding of a path segment or query part ('+' is a space in a query only). False on a
// malformed escape.
bool PercentDecode(std::string_view in, bool query, std::string& out);

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_ROUTER_H_
