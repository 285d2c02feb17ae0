// A stand-in HTTP/1.1 server on loopback for the tests of calls/ and observe/webhooks: it
// records each request and answers what the test's handler says (status, headers, body, and
// a delay to play a slow server). Stop() closes the port (a receiver that is down); Start()
// opens the same port again. One connection at a time, closed after each answer.
#ifndef MODELPIN_TEST_HTTP_STUB_H_
#define MODELPIN_TEST_HTTP_STUB_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modelpin::testing {

struct StubRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct StubResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "{}";
  int delay_ms = 0;  // wait before answering
};

class HttpStub {
 public:
  using Handler = std::function<StubResponse(const StubRequest&)>;
  explicit HttpStub(Handler handler) : handler_(std::move(handler)) { Start(); }
  ~HttpStub() { Stop(); }

  int port() const { return port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  void Start() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("stub: bind failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    stop_ = false;
    thread_ = std::thread([this] { Serve(); });
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::vector<StubRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void SetHandler(Handler h) {
    std::lock_guard lock(mu_);
    handler_ = std::move(h);
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Handle(c);
      ::close(c);
    }
  }

  void Handle(int c) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos, need = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
        std::string head = data.substr(0, header_end);
        size_t cl = Lower(head).find("content-length:");
        need = header_end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15)));
      }
      if (header_end != std::string::npos && data.size() >= need) break;
    }
    if (header_end == std::string::npos) return;
    StubRequest req;
    std::string head = data.substr(0, header_end);
    size_t eol = head.find("\r\n");
    std::string first = head.substr(0, eol);
    req.method = first.substr(0, first.find(' '));
    req.path = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = line.find_first_not_of(' ', colon + 1);
        req.headers[Lower(line.substr(0, colon))] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = end + 2;
    }
    req.body = data.substr(header_end + 4);
    Handler h;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      h = handler_;
    }
    StubResponse r = h(req);
    if (r.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " Stub\r\nContent-Type: application/json\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  static std::string Lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<StubRequest> requests_;
};

}  // namespace modelpin::testing

#endif  // MODELPIN_TEST_HTTP_STUB_H_
