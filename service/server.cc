#include <modelpin/service/server.h>

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace modelpin::service {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using unix_socket = net::local::stream_protocol;

bool TokenMatches(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return false;
  // Only the length may show in the time taken (it is not secret: tokens have fixed formats).
  if (presented.size() != expected.size()) return false;
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

namespace {

// The part of a connection the server can drain.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Drain() = 0;
};

class ServerImpl;

// What every connection shares with its server.
struct Shared {
  ServerOptions options;
  const Router* router = nullptr;
  std::atomic<bool> draining{false};
  std::atomic<size_t> live{0};
  std::mutex mu;
  std::list<std::weak_ptr<Connection>> connections;
  std::function<void()> on_idle;  // called when draining and the last connection closes
  void Log(std::string_view line) const {
    if (options.log) options.log(line);
    else std::fprintf(stderr, "modelpin serve: %.*s\n", static_cast<int>(line.size()), line.data());
  }
};

// A Server-Sent Events stream's end of a connection.
struct StreamState {
  std::atomic<bool> open{true};
};

template <class Protocol>
class Session : public Connection, public std::enable_shared_from_this<Session<Protocol>> {
 public:
  using Socket = typename Protocol::socket;

  Session(Socket socket, Shared& shared, bool local, bool over_limit)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), shared_(shared), local_(local),
        over_limit_(over_limit) {}

  ~Session() override {
    if (stream_state_) stream_state_->open = false;
    if (!over_limit_) {
      size_t left = --shared_.live;
      if (left == 0 && shared_.draining && shared_.on_idle) shared_.on_idle();
    }
  }

  void Start() {
    net::dispatch(socket_.get_executor(), [self = this->shared_from_this()] { self->Read(); });
  }

  void Drain() override {
    net::post(socket_.get_executor(), [self = this->shared_from_this()] {
      if (self->streaming_) {
        self->CloseStream();
      } else if (self->reading_ && self->buffer_.size() == 0 && !(self->parser_ && self->parser_->got_some())) {
        // Idle between requests: nothing in flight to finish.
        beast::error_code ec;
        self->socket_.shutdown(Socket::shutdown_both, ec);
        self->socket_.close(ec);
      }
    });
  }

  // ---- Server-Sent Events -------------------------------------------------------------------
  void StreamWrite(std::string chunk) {
    net::post(socket_.get_executor(), [self = this->shared_from_this(), chunk = std::move(chunk)]() mutable {
      if (!self->streaming_ || !self->stream_state_->open) return;
      self->queued_ += chunk.size();
      if (self->queued_ > kMaxQueued) {  // a reader that does not keep up is dropped
        self->CloseStream();
        return;
      }
      self->out_.push_back(std::move(chunk));
      if (!self->writing_) self->WriteNext();
    });
  }
  void StreamClose() {
    net::post(socket_.get_executor(), [self = this->shared_from_this()] { self->CloseStream(); });
  }

 private:
  static constexpr size_t kMaxQueued = 4 << 20;

  void Read() {
    if (shared_.draining && !over_limit_ && requests_ > 0) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.options.max_header));
    parser_->body_limit(shared_.options.max_body);
    Arm();
    reading_ = true;
    http::async_read(socket_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (timed_out_) {
      timed_out_ = false;
      if (parser_->got_some() || buffer_.size() > 0) return Refuse(408, "request not received within the read timeout");
      return Close();
    }
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::bad_descriptor)
      return Close();
    if (ec == http::error::body_limit)
      return Refuse(413, absl::StrCat("request body larger than ", shared_.options.max_body, " bytes"));
    if (ec == http::error::header_limit)
      return Refuse(431, absl::StrCat("request headers larger than ", shared_.options.max_header, " bytes"));
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return Refuse(400, absl::StrCat("malformed HTTP request: ", ec.message()));
    if (ec) return Close();
    ++requests_;
    if (over_limit_)
      return Refuse(503, absl::StrCat("too many connections (at most ", shared_.options.max_connections, ")"));
    Handle();
  }

  void Handle() {
    auto& req = parser_->get();
    res_.clear();
    res_.body().clear();
    res_.version(11);
    keep_alive_ = req.keep_alive() && !shared_.draining;
    std::string_view target(req.target().data(), req.target().size());
    size_t q = target.find('?');
    Request request;
    request.method = std::string_view(req.method_string().data(), req.method_string().size());
    request.path = target.substr(0, q);
    request.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    request.body = req.body();
    response_.Clear();

    Router::Match m = shared_.router->Find(request.method, request.path, request.params);
    if (m.route == nullptr) {
      if (m.status == 405) {
        response_.headers.emplace_back("Allow", m.allow);
        Error(405, absl::StrCat("method ", std::string(request.method), " not allowed on this path (allowed: ", m.allow, ")"));
      } else if (m.status == 400) {
        Error(400, "malformed percent-escape in the path");
      } else {
        Error(404, "no such route (the API is described in docs/openapi.json)");
      }
      return Send();
    }
    if (!Authorized(*m.route, req)) return Send();
    if (m.route->stream) return StartStream(*m.route, request);
    try {
      m.route->handler(request, response_);
    } catch (const std::exception& e) {
      shared_.Log(absl::StrCat("handler of ", m.route->method, " ", m.route->pattern, " failed: ", e.what()));
      response_.Clear();
      Error(500, "internal error");
    }
    Send();
  }

  bool Authorized(const Router::Route& route, const http::request<http::string_body>& req) {
    const ServerOptions& o = shared_.options;
    if (route.access == Access::kPublic) return true;
    if (route.access == Access::kProbe && (local_ || o.public_probes)) return true;
    auto it = req.find(http::field::authorization);
    std::string_view presented;
    if (it != req.end()) {
      std::string_view v(it->value().data(), it->value().size());
      if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer ")) presented = v.substr(7);
    }
    if (presented.empty()) {
      response_.headers.emplace_back("WWW-Authenticate", "Bearer");
      Error(401, "missing bearer token (Authorization: Bearer ...)");
      return false;
    }
    if (TokenMatches(presented, o.token)) return true;
    if (TokenMatches(presented, o.read_token)) {
      if (route.access != Access::kWrite) return true;
      Error(403, "the read-only token may not change anything");
      return false;
    }
    Error(403, "wrong bearer token");
    return false;
  }

  void Error(int status, std::string_view message) {
    response_.status = status;
    response_.content_type = "application/json";
    response_.body = ErrorJson(status, message);
  }

  void Send() {
    res_.result(static_cast<unsigned>(response_.status));
    res_.set(http::field::content_type, response_.content_type);
    for (const auto& [k, v] : response_.headers) res_.set(k, v);
    res_.body().swap(response_.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    Arm();  // a client that does not read its answer is closed too
    http::async_write(socket_, res_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->res_.body().swap(self->response_.body);  // keep the buffer for the next answer
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  // Answers `status` and closes: the request could not be read whole.
  void Refuse(int status, std::string_view message) {
    keep_alive_ = false;
    response_.Clear();
    Error(status, message);
    res_.clear();
    res_.version(11);
    Send();
  }

  void Close() {
    beast::error_code ec;
    timer_.cancel();
    socket_.shutdown(Socket::shutdown_send, ec);
    socket_.close(ec);
  }

  // Cancels the socket's operation unless the request (or answer) is through within the read
  // timeout.
  void Arm() {
    timer_.expires_after(shared_.options.read_timeout);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }

  class StreamHandle : public modelpin::service::Stream {
   public:
    StreamHandle(std::shared_ptr<Session> s, std::shared_ptr<StreamState> state)
        : session_(std::move(s)), state_(std::move(state)) {}
    bool Write(std::string_view chunk) override {
      if (!state_->open) return false;
      if (auto s = session_.lock()) {
        s->StreamWrite(std::string(chunk));
        return true;
      }
      state_->open = false;
      return false;
    }
    bool open() const override { return state_->open; }
    void Close() override {
      state_->open = false;
      if (auto s = session_.lock()) s->StreamClose();
    }

   private:
    std::weak_ptr<Session> session_;
    std::shared_ptr<StreamState> state_;
  };

  void StartStream(const Router::Route& route, const Request& request) {
    streaming_ = true;
    stream_state_ = std::make_shared<StreamState>();
    out_.push_back(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
    queued_ = out_.back().size();
    timer_.cancel();
    WriteNext();
    // A read that ends when the client goes away.
    socket_.async_read_some(net::buffer(sink_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->OnSinkRead(ec);
    });
    auto handle = std::make_shared<StreamHandle>(this->shared_from_this(), stream_state_);
    try {
      route.stream(request, handle);
    } catch (const std::exception& e) {
      shared_.Log(absl::StrCat("stream handler of ", route.pattern, " failed: ", e.what()));
      CloseStream();
    }
  }

  void OnSinkRead(beast::error_code ec) {
    if (ec) return CloseStream();
    socket_.async_read_some(net::buffer(sink_), [self = this->shared_from_this()](beast::error_code ec2, size_t) {
      self->OnSinkRead(ec2);
    });
  }

  void WriteNext() {
    if (out_.empty() || !stream_state_->open) {
      writing_ = false;
      if (!stream_state_->open) Close();
      return;
    }
    writing_ = true;
    net::async_write(socket_, net::buffer(out_.front()),
                     [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                       self->queued_ -= n;
                       self->out_.pop_front();
                       if (ec) return self->CloseStream();
                       self->WriteNext();
                     });
  }

  void CloseStream() {
    if (stream_state_) stream_state_->open = false;
    if (!writing_) {
      out_.clear();
      Close();
    }
  }

  Socket socket_;
  net::steady_timer timer_;
  bool timed_out_ = false;
  Shared& shared_;
  bool local_;
  bool over_limit_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Response response_;
  bool keep_alive_ = false;
  bool reading_ = false;
  size_t requests_ = 0;
  // Streaming.
  bool streaming_ = false;
  bool writing_ = false;
  size_t queued_ = 0;
  std::deque<std::string> out_;
  std::shared_ptr<StreamState> stream_state_;
  char sink_[512];
};

class ServerImpl : public Server {
 public:
  ServerImpl(ServerOptions options, const Router& router)
      : ioc_(std::max(1, options.threads)), signals_(ioc_, SIGTERM, SIGINT), drain_timer_(ioc_) {
    shared_.options = std::move(options);
    shared_.router = &router;
    shared_.on_idle = [this] { net::post(ioc_, [this] { ioc_.stop(); }); };
  }

  ~ServerImpl() override {
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  }

  absl::Status Bind() {
    const std::string& listen = shared_.options.listen;
    beast::error_code ec;
    if (listen.rfind("unix:", 0) == 0) {
      unix_path_ = listen.substr(5);
      if (unix_path_.empty()) return absl::InvalidArgumentError("--listen unix: needs a path (unix:/run/modelpin.sock)");
      struct stat st;
      if (::lstat(unix_path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
          return absl::FailedPreconditionError(absl::StrCat(unix_path_, " exists and is not a socket"));
        ::unlink(unix_path_.c_str());
      }
      unix_acceptor_.emplace(ioc_);
      unix_socket::endpoint ep(unix_path_);
      unix_acceptor_->open(ep.protocol(), ec);
      if (!ec) unix_acceptor_->bind(ep, ec);
      if (!ec) unix_acceptor_->listen(net::socket_base::max_listen_connections, ec);
      if (ec) {
        std::string path = std::exchange(unix_path_, "");
        return absl::UnavailableError(absl::StrCat("cannot listen on unix:", path, ": ", ec.message()));
      }
      return absl::OkStatus();
    }
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat("--listen \"", listen, "\": expected HOST:PORT or unix:PATH"));
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535)
      return absl::InvalidArgumentError(absl::StrCat("--listen \"", listen, "\": bad port"));
    auto address = net::ip::make_address(host, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("--listen \"", listen, "\": \"", host, "\" is not an IP address"));
    tcp::endpoint ep(address, static_cast<unsigned short>(port));
    tcp_acceptor_.emplace(ioc_);
    tcp_acceptor_->open(ep.protocol(), ec);
    if (!ec) tcp_acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) tcp_acceptor_->bind(ep, ec);
    if (!ec) tcp_acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", ec.message()));
    return absl::OkStatus();
  }

  std::string address() const override {
    if (unix_acceptor_) return "unix:" + unix_path_;
    beast::error_code ec;
    auto ep = tcp_acceptor_->local_endpoint(ec);
    std::string host = ep.address().to_string();
    if (ep.address().is_v6()) host = "[" + host + "]";
    return absl::StrCat(host, ":", ep.port());
  }

  int Run() override {
    signals_.async_wait([this](beast::error_code ec, int sig) {
      if (!ec) {
        shared_.Log(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining"));
        BeginDrain();
      }
    });
    Accept();
    std::vector<std::thread> pool;
    for (int i = 1; i < std::max(1, shared_.options.threads); ++i) pool.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : pool) t.join();
    shared_.on_idle = nullptr;
    shared_.Log("stopped");
    return 0;
  }

  void Stop() override {
    net::post(ioc_, [this] { BeginDrain(); });
  }

 private:
  void Accept() {
    if (tcp_acceptor_) {
      tcp_acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec != net::error::operation_aborted && !shared_.draining) Accept();
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto remote = socket.remote_endpoint(ignored);
        bool local = !ignored && remote.address().is_loopback();
        Started(std::make_shared<Session<tcp>>(std::move(socket), shared_, local, Full()));
        Accept();
      });
    } else {
      unix_acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, unix_socket::socket socket) {
        if (ec) {
          if (ec != net::error::operation_aborted && !shared_.draining) Accept();
          return;
        }
        Started(std::make_shared<Session<unix_socket>>(std::move(socket), shared_, true, Full()));
        Accept();
      });
    }
  }

  // Whether a new connection is one too many (it is then answered 503 and closed).
  bool Full() {
    if (shared_.live.load() >= shared_.options.max_connections) return true;
    ++shared_.live;
    return false;
  }

  template <class S>
  void Started(std::shared_ptr<S> session) {
    {
      std::lock_guard lock(shared_.mu);
      // Forget closed connections as new ones come.
      for (auto it = shared_.connections.begin(); it != shared_.connections.end();)
        it = it->expired() ? shared_.connections.erase(it) : std::next(it);
      shared_.connections.push_back(session);
    }
    session->Start();
  }

  void BeginDrain() {
    if (shared_.draining.exchange(true)) return;
    beast::error_code ec;
    if (tcp_acceptor_) tcp_acceptor_->close(ec);
    if (unix_acceptor_) unix_acceptor_->close(ec);
    signals_.cancel(ec);
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(shared_.mu);
      for (auto& w : shared_.connections)
        if (auto c = w.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->Drain();
    live.clear();
    if (shared_.live.load() == 0) {
      ioc_.stop();
      return;
    }
    drain_timer_.expires_after(shared_.options.drain_timeout);
    drain_timer_.async_wait([this](beast::error_code e) {
      if (e) return;
      shared_.Log(absl::StrCat("drain timeout: closing ", shared_.live.load(), " connection(s)"));
      ioc_.stop();
    });
  }

  Shared shared_;  // first: connections still queued in ioc_ use it while ioc_ is destroyed
  net::io_context ioc_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  std::optional<tcp::acceptor> tcp_acceptor_;
  std::optional<unix_socket::acceptor> unix_acceptor_;
  std::string unix_path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Listen(ServerOptions options, const Router& router) {
  auto server = std::make_unique<ServerImpl>(std::move(options), router);
  if (absl::Status st = server->Bind(); !st.ok()) return st;
  return server;
}

}  // namespace modelpin::service
