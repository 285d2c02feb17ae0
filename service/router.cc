#include <modelpin/service/router.h>

#include <algorithm>

#include <modelpin/base/text.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::service {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ErrorJson(int status, std::string_view message) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("status");
  w.Int(status);
  w.Key("message");
  // The message may quote what the client sent: valid UTF-8 only, so the answer parses.
  std::string clean = text::IsValidUtf8(message) ? std::string(message) : text::SanitizeUtf8(message);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

bool PercentDecode(std::string_view in, bool query, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = Hex(in[i + 1]);
      int lo = Hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && query) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

const std::string& Request::Param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return kEmpty;
}

std::string Request::Query(std::string_view name, bool* present) const {
  if (present) *present = false;
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string key;
    if (!PercentDecode(k, true, key) || key != name) continue;
    std::string value;
    if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), true, value)) continue;
    if (present) *present = true;
    return value;
  }
  return "";
}

Router::Route& Router::Put(std::string_view method, std::string_view pattern) {
  for (auto& r : routes_)
    if (r.method == method && r.pattern == pattern) {
      r = Route{};
      r.method = std::string(method);
      r.pattern = std::string(pattern);
      r.segments = Split(pattern);
      return r;
    }
  Route& r = routes_.emplace_back();
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  r.segments = Split(pattern);
  return r;
}

void Router::Add(std::string_view method, std::string_view pattern, Access access, Handler handler) {
  Route& r = Put(method, pattern);
  r.access = access;
  r.handler = std::move(handler);
}

void Router::AddStream(std::string_view method, std::string_view pattern, Access access, StreamHandler handler) {
  Route& r = Put(method, pattern);
  r.access = access;
  r.stream = std::move(handler);
}

void Router::AddHidden(std::string_view method, std::string_view pattern, Access access, Handler handler) {
  Route& r = Put(method, pattern);
  r.access = access;
  r.handler = std::move(handler);
  r.hidden = true;
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::vector<std::pair<std::string_view, std::string>>& params) const {
  Match m;
  m.status = 404;
  // Segments of the path, without allocating for the common short paths.
  std::string_view segs[16];
  size_t n = 0;
  for (size_t i = 0; i < path.size();) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (n == 16) return m;  // deeper than any route
    segs[n++] = path.substr(i, j - i);
    i = j;
  }
  for (const Route& r : routes_) {
    if (r.segments.size() != n) continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      const std::string& s = r.segments[i];
      if (s.size() >= 2 && s.front() == '{' && s.back() == '}') continue;
      ok = s == segs[i];
    }
    if (!ok) continue;
    if (r.method != method) {
      if (m.status != 200) {
        m.status = 405;
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += r.method;
      }
      continue;
    }
    params.clear();
    for (size_t i = 0; i < n; ++i) {
      const std::string& s = r.segments[i];
      if (!(s.size() >= 2 && s.front() == '{' && s.back() == '}')) continue;
      std::string value;
      if (!PercentDecode(segs[i], false, value)) {
        m.status = 400;
        m.route = nullptr;
        return m;
      }
      params.emplace_back(std::string_view(s).substr(1, s.size() - 2), std::move(value));
    }
    m.route = &r;
    m.status = 200;
    m.allow.clear();
    return m;
  }
  return m;
}

std::vector<std::string> Router::Routes() const {
  std::vector<std::string> out;
  for (const Route& r : routes_)
    if (!r.hidden) out.push_back(r.method + " " + r.pattern);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace modelpin::service
