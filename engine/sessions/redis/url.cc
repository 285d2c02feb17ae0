// Redis store URLs: parsing (RedisOptions::FromUrl) and display with the password masked.
#include <modelpin/engine/sessions/redis_store.h>

#include "absl/strings/str_cat.h"
#include <modelpin/engine/sessions/redis/client.h>

namespace modelpin {

using namespace redis_internal;  // NOLINT: this file's own internals

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
  // "[user]:password@" before the hosts (redis:// and redis-sentinel://): taken off `rest` into
  // o.user and o.password; false for credentials without a ':'.
  auto take_credentials = [&](std::string_view& rest) -> bool {
    const size_t at = rest.rfind('@');
    if (at == std::string_view::npos) return true;
    const std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) return false;
    o.user = std::string(cred.substr(0, colon));
    o.password = std::string(cred.substr(colon + 1));
    return true;
  };
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
    if (!take_credentials(rest)) return bad("credentials must be :password or user:password");
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
  if (!take_credentials(rest)) return bad("credentials must be :password or user:password");
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

}  // namespace modelpin
