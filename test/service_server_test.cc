// The service's server and router on their own, without the engine: the route seam other pieces
// plug into (Router::Add, AddStream for Server-Sent Events), path parameters and query decoding,
// 404/405, and what Stop() does to a stream and to idle connections.
#define BOOST_TEST_MODULE service_server
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <modelpin/service/router.h>
#include <modelpin/service/server.h>

namespace svc = modelpin::service;

namespace {

// A connected loopback socket to "127.0.0.1:PORT".
int Connect(const std::string& address) {
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void Send(int fd, const std::string& s) { BOOST_REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size())); }

// Reads until `needle` has arrived, the peer closes, or 5 s pass.
std::string ReadUntil(int fd, const std::string& needle) {
  std::string got;
  char buf[4096];
  while (needle.empty() || got.find(needle) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Whether the peer closes the connection within the receive timeout (whatever it sends first).
bool Closes(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

struct Fixture {
  svc::Router router;
  std::unique_ptr<svc::Server> server;
  std::thread thread;
  std::atomic<int> exit_code{-1};

  void Start(svc::ServerOptions o = {}) {
    o.listen = "127.0.0.1:0";
    o.token = "tok";
    o.log = [](std::string_view) {};
    auto s = svc::Server::Listen(std::move(o), router);
    BOOST_REQUIRE(s.ok());
    server = *std::move(s);
    thread = std::thread([this] { exit_code = server->Run(); });
  }
  ~Fixture() {
    if (thread.joinable()) {
      server->Stop();
      thread.join();
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(percent_decoding_and_queries) {
  std::string out;
  BOOST_TEST(svc::PercentDecode("agent%3Amain%3Ax", false, out));
  BOOST_TEST(out == "agent:main:x");
  BOOST_TEST(svc::PercentDecode("a+b", false, out));
  BOOST_TEST(out == "a+b");
  BOOST_TEST(svc::PercentDecode("a+b", true, out));
  BOOST_TEST(out == "a b");
  BOOST_TEST(!svc::PercentDecode("%4", false, out));
  BOOST_TEST(!svc::PercentDecode("%zz", false, out));
  svc::Request r;
  r.query = "limit=2&after=agent%3Amain&flag&x=%zz";
  bool present = false;
  BOOST_TEST(r.Query("after") == "agent:main");
  BOOST_TEST(r.Query("limit", &present) == "2");
  BOOST_TEST(present);
  BOOST_TEST(r.Query("flag", &present) == "");
  BOOST_TEST(present);
  BOOST_TEST(r.Query("none", &present) == "");
  BOOST_TEST(!present);
}

BOOST_AUTO_TEST_CASE(router_matches_params_and_methods) {
  svc::Router router;
  router.Add("GET", "/v1/sessions/{key}", svc::Access::kRead, [](const svc::Request&, svc::Response&) {});
  router.Add("DELETE", "/v1/sessions/{key}", svc::Access::kWrite, [](const svc::Request&, svc::Response&) {});
  router.AddHidden("POST", "/bench/floor", svc::Access::kWrite, [](const svc::Request&, svc::Response&) {});
  std::vector<std::pair<std::string_view, std::string>> params;
  auto m = router.Find("GET", "/v1/sessions/agent%3Amain", params);
  BOOST_REQUIRE(m.route != nullptr);
  BOOST_TEST(m.route->pattern == "/v1/sessions/{key}");
  BOOST_REQUIRE(params.size() == 1u);
  BOOST_TEST(params[0].second == "agent:main");
  m = router.Find("PUT", "/v1/sessions/x", params);
  BOOST_TEST(m.status == 405);
  BOOST_TEST(m.allow == "GET, DELETE");
  BOOST_TEST(router.Find("GET", "/v1/sessions", params).status == 404);
  BOOST_TEST(router.Find("GET", "/v1/sessions/a/b", params).status == 404);
  BOOST_TEST(router.Find("GET", "/v1/sessions/%zz", params).status == 400);
  // Hidden routes are served, not listed.
  BOOST_TEST(router.Find("POST", "/bench/floor", params).route != nullptr);
  BOOST_TEST(router.Routes() == (std::vector<std::string>{"DELETE /v1/sessions/{key}", "GET /v1/sessions/{key}"}));
}

BOOST_AUTO_TEST_CASE(token_comparison) {
  BOOST_TEST(svc::TokenMatches("abc", "abc"));
  BOOST_TEST(!svc::TokenMatches("abd", "abc"));
  BOOST_TEST(!svc::TokenMatches("ab", "abc"));
  BOOST_TEST(!svc::TokenMatches("", ""));  // no token configured matches nothing
}

// The seam for Server-Sent Events: a stream written from another thread reaches the client in
// order; the client going away makes Write answer false; Stop() ends open streams and Run
// returns 0.
BOOST_AUTO_TEST_CASE(streams_and_drain) {
  Fixture f;
  std::mutex mu;
  std::vector<std::shared_ptr<svc::Stream>> streams;
  f.router.AddStream("GET", "/v1/events", svc::Access::kRead, [&](const svc::Request&, std::shared_ptr<svc::Stream> s) {
    s->Write("event: hello\ndata: {}\n\n");
    std::lock_guard lock(mu);
    streams.push_back(std::move(s));
  });
  f.router.Add("GET", "/healthz", svc::Access::kProbe, [](const svc::Request&, svc::Response& r) { r.body = "{}"; });
  f.Start();
  const std::string address = f.server->address();

  int a = Connect(address);
  Send(a, "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n");
  std::string got = ReadUntil(a, "data: {}\n\n");
  BOOST_TEST(got.find("HTTP/1.1 200 OK\r\n") == 0u);
  BOOST_TEST(got.find("Content-Type: text/event-stream") != std::string::npos);
  // Written from this thread, not the server's.
  std::shared_ptr<svc::Stream> first;
  {
    std::lock_guard lock(mu);
    BOOST_REQUIRE(streams.size() == 1u);
    first = streams[0];
  }
  for (int i = 0; i < 100; ++i) BOOST_TEST(first->Write("data: " + std::to_string(i) + "\n\n"));
  got = ReadUntil(a, "data: 99\n\n");
  BOOST_TEST(got.find("data: 0\n\n") < got.find("data: 99\n\n"));

  // A stream without a token is refused like any route.
  int b = Connect(address);
  Send(b, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(ReadUntil(b, "}}").find("HTTP/1.1 401") == 0u);
  ::close(b);

  // A client that goes away: Write soon answers false.
  int c = Connect(address);
  Send(c, "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n");
  ReadUntil(c, "data: {}\n\n");
  std::shared_ptr<svc::Stream> second;
  {
    std::lock_guard lock(mu);
    BOOST_REQUIRE(streams.size() == 2u);
    second = streams[1];
  }
  ::close(c);
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = !second->Write("data: x\n\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(closed);

  // An idle keep-alive connection and the open stream both end on Stop(); Run returns 0.
  int idle = Connect(address);
  Send(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(ReadUntil(idle, "{}").find("HTTP/1.1 200") == 0u);
  f.server->Stop();
  f.thread.join();
  BOOST_TEST(f.exit_code.load() == 0);
  BOOST_TEST(!first->open());
  BOOST_TEST(!first->Write("data: late\n\n"));
  BOOST_TEST(Closes(a));     // the stream's connection was closed
  BOOST_TEST(Closes(idle));  // and so was the idle one
  ::close(a);
  ::close(idle);
}
