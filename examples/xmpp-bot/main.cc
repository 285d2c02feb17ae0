// An XMPP bot that embeds modelpin: every chat message goes through the engine; command replies
// are posted back, ordinary text goes to the model the route names, with the route's credentials
// tried in order, and the model's answer is posted back.
//
//   xmpp-bot --jid bot@example.org --password-file pw --server HOST:PORT
//            [--room ROOM@SERVICE]... --config FILE --state DIR
//
// Sessions: agent:<agent>:xmpp:direct:<bare-jid> for a direct chat, agent:<agent>:xmpp:group:<room>
// for a room. The sender is the author's bare JID (in a room its real JID when the room reveals
// it, else the occupant JID room@service/nick), so commands.ownerAllowFrom names JIDs.
#include <strophe.h>
#include <curl/curl.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/calls/chat.h>
#include <modelpin/embed/open.h>

namespace xmppbot {
namespace {

constexpr const char* kUsage =
    R"(usage: xmpp-bot --jid JID --password-file FILE --server HOST:PORT [--room ROOM@SERVICE]...
                --config FILE --state DIR [--timeout-ms N]

  --jid JID            the bot's account; its local part is its nick in rooms
  --password-file F    the account's password (first line); never logged
  --server HOST:PORT   the XMPP server (no TLS: for a server on loopback or a trusted network)
  --room ROOM@SERVICE  a group room to join (repeatable)
  --config FILE        modelpin's config (OpenClaw's openclaw.json shape)
  --state DIR          auth stores (agents/<id>/agent/auth-profiles.json) and sessions.sqlite
  --timeout-ms N       per model call (default 60000)

Reconnects when the server drops it; SIGTERM or SIGINT stops it cleanly.
)";

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Options {
  std::string jid, password_file, host, config, state;
  unsigned short port = 5222;
  std::vector<std::string> rooms;
  long timeout_ms = 60000;
};

void Log(const std::string& line) { std::cerr << "xmpp-bot: " << line << std::endl; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Returns "" or a usage error.
std::string ParseArgs(int argc, char** argv, Options& o, bool& help) {
  std::map<std::string, std::string*> single = {{"--jid", &o.jid},         {"--password-file", &o.password_file},
                                                {"--config", &o.config},   {"--state", &o.state}};
  std::string server, timeout;
  single["--server"] = &server;
  single["--timeout-ms"] = &timeout;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help = true;
      return "";
    }
    if (a != "--room" && !single.count(a)) return "unknown option " + a;
    if (i + 1 >= argc) return a + " needs a value";
    if (a == "--room") o.rooms.push_back(argv[++i]);
    else *single[a] = argv[++i];
  }
  for (const auto& [flag, value] : single)
    if (value->empty() && flag != "--timeout-ms") return "missing " + flag;
  size_t colon = server.rfind(':');
  if (colon == std::string::npos || colon == 0) return "--server wants HOST:PORT, got '" + server + "'";
  o.host = server.substr(0, colon);
  // The whole text must be the number: std::from_chars stops at the first other character.
  auto whole_number = [](std::string_view text, long& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size();
  };
  long port = 0;
  if (!whole_number(std::string_view(server).substr(colon + 1), port) || port <= 0 || port > 65535)
    return "--server: bad port in '" + server + "'";
  o.port = static_cast<unsigned short>(port);
  if (!timeout.empty() && (!whole_number(timeout, o.timeout_ms) || o.timeout_ms <= 0))
    return "--timeout-ms wants a positive number";
  return "";
}

// A libstrophe string (freed with xmpp_free) as a std::string.
std::string Take(xmpp_ctx_t* ctx, char* s) {
  if (!s) return "";
  std::string out = s;
  xmpp_free(ctx, s);
  return out;
}

class Bot {
 public:
  Bot(Options options, std::string password, std::unique_ptr<modelpin::Engine> engine)
      : o_(std::move(options)), password_(std::move(password)), engine_(std::move(engine)) {
    ctx_ = xmpp_ctx_new(nullptr, xmpp_get_default_logger(XMPP_LEVEL_ERROR));
    agent_ = engine_->ResolveAgent("");
  }
  ~Bot() {
    if (conn_) xmpp_conn_release(conn_);
    xmpp_ctx_free(ctx_);
  }

  // Runs until SIGTERM: connects, reconnects after a drop (1 s, doubling to 30 s), and on the
  // signal says goodbye (unavailable presence, </stream>) before returning.
  int Run() {
    int64_t stop_deadline = 0;
    while (true) {
      if (g_stop && stop_deadline == 0) {
        stop_deadline = NowMs() + 3000;
        if (connected_) {
          Log("stopping");
          xmpp_stanza_t* bye = xmpp_presence_new(ctx_);
          xmpp_stanza_set_type(bye, "unavailable");
          xmpp_send(conn_, bye);
          xmpp_stanza_release(bye);
          xmpp_disconnect(conn_);
        }
      }
      if (g_stop && (!conn_ || xmpp_conn_is_disconnected(conn_) || NowMs() > stop_deadline)) break;
      if (!g_stop && (!conn_ || xmpp_conn_is_disconnected(conn_)) && NowMs() >= reconnect_at_) Connect();
      xmpp_run_once(ctx_, 100);
    }
    Log("stopped");
    return 0;
  }

 private:
  void Connect() {
    if (conn_) xmpp_conn_release(conn_);
    occupants_.clear();
    conn_ = xmpp_conn_new(ctx_);
    xmpp_conn_set_flags(conn_, XMPP_CONN_FLAG_DISABLE_TLS);
    xmpp_conn_set_jid(conn_, o_.jid.c_str());
    xmpp_conn_set_pass(conn_, password_.c_str());
    xmpp_conn_set_sockopt_callback(conn_, xmpp_sockopt_cb_keepalive);  // notices a dead server
    if (xmpp_connect_client(conn_, o_.host.c_str(), o_.port, &Bot::OnConnection, this) != XMPP_EOK) {
      Log("cannot connect to " + o_.host + ":" + std::to_string(o_.port));
      ScheduleReconnect();
    }
  }

  void ScheduleReconnect() {
    reconnect_at_ = NowMs() + backoff_ms_;
    backoff_ms_ = std::min<int64_t>(backoff_ms_ * 2, 30000);
  }

  static void OnConnection(xmpp_conn_t* conn, xmpp_conn_event_t event, int, xmpp_stream_error_t*, void* self_ptr) {
    auto* self = static_cast<Bot*>(self_ptr);
    if (event == XMPP_CONN_CONNECT) {
      self->connected_ = true;
      self->backoff_ms_ = 1000;
      Log("connected as " + self->o_.jid);
      xmpp_handler_add(conn, &Bot::OnMessage, nullptr, "message", nullptr, self);
      xmpp_handler_add(conn, &Bot::OnPresence, nullptr, "presence", nullptr, self);
      xmpp_stanza_t* hello = xmpp_presence_new(self->ctx_);
      xmpp_send(conn, hello);
      xmpp_stanza_release(hello);
      for (const auto& room : self->o_.rooms) self->JoinRoom(room);
      return;
    }
    self->connected_ = false;
    if (!g_stop) {
      Log(event == XMPP_CONN_FAIL ? "connection failed; retrying" : "disconnected; reconnecting");
      self->ScheduleReconnect();
    }
  }

  std::string Nick() const { return o_.jid.substr(0, o_.jid.find('@')); }

  // <presence to='room@service/nick'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x>
  void JoinRoom(const std::string& room) {
    xmpp_stanza_t* p = xmpp_presence_new(ctx_);
    xmpp_stanza_set_to(p, (room + "/" + Nick()).c_str());
    xmpp_stanza_t* x = xmpp_stanza_new(ctx_);
    xmpp_stanza_set_name(x, "x");
    xmpp_stanza_set_ns(x, "http://jabber.org/protocol/muc");
    xmpp_stanza_t* history = xmpp_stanza_new(ctx_);
    xmpp_stanza_set_name(history, "history");
    xmpp_stanza_set_attribute(history, "maxstanzas", "0");  // no replay of old messages
    xmpp_stanza_add_child_ex(x, history, 0);
    xmpp_stanza_add_child_ex(p, x, 0);
    xmpp_send(conn_, p);
    xmpp_stanza_release(p);
    Log("joining " + room);
  }

  // Room presences tell occupants' real JIDs (rooms that reveal them): nick -> bare JID.
  static int OnPresence(xmpp_conn_t*, xmpp_stanza_t* stanza, void* self_ptr) {
    auto* self = static_cast<Bot*>(self_ptr);
    const char* from = xmpp_stanza_get_from(stanza);
    if (!from) return 1;
    std::string room = Take(self->ctx_, xmpp_jid_bare(self->ctx_, from));
    std::string nick = Take(self->ctx_, xmpp_jid_resource(self->ctx_, from));
    xmpp_stanza_t* x = xmpp_stanza_get_child_by_name_and_ns(stanza, "x", "http://jabber.org/protocol/muc#user");
    if (!x || nick.empty()) return 1;
    const char* type = xmpp_stanza_get_type(stanza);
    if (type && std::string(type) == "unavailable") {
      self->occupants_[room].erase(nick);
      return 1;
    }
    xmpp_stanza_t* item = xmpp_stanza_get_child_by_name(x, "item");
    const char* jid = item ? xmpp_stanza_get_attribute(item, "jid") : nullptr;
    if (jid) self->occupants_[room][nick] = Take(self->ctx_, xmpp_jid_bare(self->ctx_, jid));
    return 1;
  }

  static int OnMessage(xmpp_conn_t*, xmpp_stanza_t* stanza, void* self_ptr) {
    static_cast<Bot*>(self_ptr)->HandleMessage(stanza);
    return 1;
  }

  void HandleMessage(xmpp_stanza_t* stanza) {
    const char* type_attr = xmpp_stanza_get_type(stanza);
    std::string type = type_attr ? type_attr : "normal";
    const char* from = xmpp_stanza_get_from(stanza);
    if (type == "error" || !from) return;
    std::string body = Take(ctx_, xmpp_message_get_body(stanza));
    if (body.empty()) return;  // chat states, receipts, room subjects
    if (xmpp_stanza_get_child_by_name_and_ns(stanza, "delay", "urn:xmpp:delay")) return;  // history
    std::string bare = Take(ctx_, xmpp_jid_bare(ctx_, from));
    std::string session, sender, reply_to;
    if (type == "groupchat") {
      std::string nick = Take(ctx_, xmpp_jid_resource(ctx_, from));
      if (nick.empty() || nick == Nick()) return;  // the room itself, or our own echo
      auto room = occupants_.find(bare);
      auto real = room == occupants_.end() ? std::map<std::string, std::string>::iterator() : room->second.find(nick);
      sender = room != occupants_.end() && real != room->second.end() ? real->second : std::string(from);
      session = "agent:" + agent_ + ":xmpp:group:" + bare;
      reply_to = bare;
    } else {
      sender = bare;
      session = "agent:" + agent_ + ":xmpp:direct:" + bare;
      reply_to = from;
      type = "chat";
    }
    // The whole message through the shared library (calls/chat.h): the engine's replies, or the
    // routed model with the route's credentials in order, each outcome reported so the next
    // route rotates, then the route's fallback models.
    // NOTE: the call runs on the XMPP thread, so the bot answers one message at a time; a bot for
    // busy rooms would hand calls to workers and post answers from the event loop.
    modelpin::ChatOptions options;
    options.timeout_ms = o_.timeout_ms;
    options.on_attempt = [](const modelpin::CallAttempt& a) {
      std::string line = "call " + a.model.Label() + " with " + a.profile + ": " +
                         (a.answer.ok() ? std::string("ok") : a.answer.error);
      if (a.answer.retry_after_ms >= 0)
        line += " (retry after " + std::to_string(a.answer.retry_after_ms / 1000) + " s)";
      Log(line);
    };
    absl::StatusOr<modelpin::ChatResult> r = modelpin::ChatThroughRoute(
        *engine_, {.agent_id = agent_, .session_key = session, .text = body, .sender = sender}, options);
    if (!r.ok()) {
      Log("engine: " + std::string(r.status().message()));
      Send(type, reply_to, "Sorry, something went wrong on my side.");
      return;
    }
    for (const auto& error : r->report_errors) Log("report: " + error);
    for (const auto& reply : r->outcome.replies) Send(type, reply_to, reply.text);
    if (r->outcome.route) Send(type, reply_to, r->answer ? *r->answer : r->failure);
  }

  void Send(const std::string& type, const std::string& to, const std::string& text) {
    xmpp_stanza_t* m = xmpp_message_new(ctx_, type.c_str(), to.c_str(), nullptr);
    xmpp_message_set_body(m, text.c_str());
    xmpp_send(conn_, m);
    xmpp_stanza_release(m);
  }

  Options o_;
  std::string password_;
  std::unique_ptr<modelpin::Engine> engine_;
  std::string agent_;
  xmpp_ctx_t* ctx_ = nullptr;
  xmpp_conn_t* conn_ = nullptr;
  bool connected_ = false;
  int64_t reconnect_at_ = 0;
  int64_t backoff_ms_ = 1000;
  std::map<std::string, std::map<std::string, std::string>> occupants_;  // room -> nick -> bare JID
};

}  // namespace
}  // namespace xmppbot

int main(int argc, char** argv) {
  using namespace xmppbot;
  Options options;
  bool help = false;
  if (std::string err = ParseArgs(argc, argv, options, help); !err.empty()) {
    std::cerr << "xmpp-bot: " << err << " (see: xmpp-bot --help)\n";
    return 2;
  }
  if (help) {
    std::cout << kUsage;
    return 0;
  }
  std::ifstream pw(options.password_file);
  std::string password;
  if (!pw || !std::getline(pw, password) || password.empty()) {
    std::cerr << "xmpp-bot: " << options.password_file << ": cannot read a password\n";
    return 1;
  }
  // The config's session and auth-health stores (SQLite or Redis), plugins.load and credentials.
  auto engine = modelpin::OpenEngine({.state_dir = options.state, .config_path = options.config});
  if (!engine.ok()) return std::cerr << "xmpp-bot: " << engine.status().message() << "\n", 1;

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  xmpp_initialize();
  int rc;
  {
    Bot bot(std::move(options), std::move(password), *std::move(engine));
    rc = bot.Run();
  }
  xmpp_shutdown();
  curl_global_cleanup();
  return rc;
}
