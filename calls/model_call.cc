#include <modelpin/calls/model_call.h>

#include <algorithm>

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <memory>

#include <charconv>

#include "absl/strings/match.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {
namespace {

constexpr int kMaxTokens = 1024;

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::string StripSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A whole decimal integer, nothing else.
bool ParseInt(std::string_view s, int64_t& v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// What the header callback collects.
struct Headers {
  int64_t retry_after_ms = -1;
  RateLimits* limits;
};

// Picks Retry-After (seconds; retry-after-ms in milliseconds) and the rate-limit headers out of
// the response headers.
size_t ReadHeader(char* data, size_t size, size_t n, void* out) {
  auto* h = static_cast<Headers*>(out);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = Lower(text::Trim(line.substr(0, colon)));
  std::string_view value = text::Trim(line.substr(colon + 1));
  int64_t v = 0;
  if (name == "retry-after" && ParseInt(value, v) && v >= 0) {
    if (h->retry_after_ms < 0) h->retry_after_ms = v * 1000;
  } else if (name == "retry-after-ms" && ParseInt(value, v) && v >= 0) {
    h->retry_after_ms = v;  // the finer one wins
  } else {
    ReadRateLimitHeader(name, value, *h->limits);
  }
  return size * n;
}

std::string RequestBody(Api api, const std::string& model, const std::string& text, int max_tokens) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("model");
  w.String(model);
  if (api == Api::kAnthropicMessages || max_tokens > 0) {
    w.Key("max_tokens");
    w.Int(max_tokens > 0 ? max_tokens : kMaxTokens);
  }
  w.Key("messages");
  w.StartArray();
  w.StartObject();
  w.Key("role");
  w.String("user");
  w.Key("content");
  w.String(text);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

// The answer's text: content[].text (Anthropic) or choices[0].message.content (OpenAI).
std::optional<std::string> AnswerText(Api api, const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  std::string out;
  if (api == Api::kAnthropicMessages) {
    if (!d.HasMember("content") || !d["content"].IsArray()) return std::nullopt;
    for (const auto& block : d["content"].GetArray())
      if (block.IsObject() && block.HasMember("text") && block["text"].IsString()) out += block["text"].GetString();
    return out;
  }
  if (!d.HasMember("choices") || !d["choices"].IsArray() || d["choices"].Empty()) return std::nullopt;
  const auto& choice = d["choices"][0];
  if (!choice.IsObject() || !choice.HasMember("message") || !choice["message"].IsObject()) return std::nullopt;
  const auto& message = choice["message"];
  if (!message.HasMember("content") || !message["content"].IsString()) return std::nullopt;
  return std::string(message["content"].GetString());
}

}  // namespace

std::optional<TokenUsage> ReadTokenUsage(Api api, std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return std::nullopt;
  auto it = d.FindMember("usage");
  if (it == d.MemberEnd() || !it->value.IsObject()) return std::nullopt;
  const rapidjson::Value& u = it->value;
  auto count = [](const rapidjson::Value& o, const char* key) -> int64_t {
    auto m = o.FindMember(key);
    return m != o.MemberEnd() && m->value.IsNumber() && m->value.GetDouble() > 0 ? static_cast<int64_t>(m->value.GetDouble())
                                                                                  : 0;
  };
  TokenUsage t;
  if (api == Api::kAnthropicMessages) {
    // input_tokens excludes the cached part, which comes as cache reads and writes.
    t.input = count(u, "input_tokens");
    t.output = count(u, "output_tokens");
    t.cache_read = count(u, "cache_read_input_tokens");
    t.cache_write = count(u, "cache_creation_input_tokens");
  } else {
    // prompt_tokens includes the cached ones (prompt_tokens_details.cached_tokens): those are
    // cache reads, the rest input.
    int64_t prompt = count(u, "prompt_tokens");
    if (auto details = u.FindMember("prompt_tokens_details");
        details != u.MemberEnd() && details->value.IsObject())
      t.cache_read = std::min(prompt, count(details->value, "cached_tokens"));
    t.input = prompt - t.cache_read;
    t.output = count(u, "completion_tokens");
  }
  return t;
}

std::optional<ErrorClass> ClassifyStatus(long status) {
  if (status >= 200 && status < 300) return ErrorClass::kOk;
  if (status == 429) return ErrorClass::kRateLimit;
  if (status == 529 || status == 503) return ErrorClass::kOverloaded;
  if (status == 401 || status == 403) return ErrorClass::kAuth;
  if (status == 402) return ErrorClass::kBilling;
  if (status == 404) return ErrorClass::kModelNotFound;
  if (status == 408) return ErrorClass::kTimeout;
  if (status >= 500) return ErrorClass::kServerError;
  return std::nullopt;
}

bool ReadRateLimitHeader(std::string_view name, std::string_view value, RateLimits& out) {
  std::string n = Lower(name);
  value = text::Trim(value);
  auto number = [&](std::optional<int64_t>& field) {
    int64_t v = 0;
    if (ParseInt(value, v)) field = v;
    return true;
  };
  auto text = [&](std::string& field) {
    field.assign(value.substr(0, 64));
    return true;
  };
  if (absl::StartsWith(n, "anthropic-ratelimit-")) {
    std::string_view k = std::string_view(n).substr(20);
    if (k == "requests-limit") return number(out.requests_limit);
    if (k == "requests-remaining") return number(out.requests_remaining);
    if (k == "requests-reset") return text(out.requests_reset);
    if (k == "tokens-limit") return number(out.tokens_limit);
    if (k == "tokens-remaining") return number(out.tokens_remaining);
    if (k == "tokens-reset") return text(out.tokens_reset);
    if (k == "input-tokens-limit") return number(out.input_tokens_limit);
    if (k == "input-tokens-remaining") return number(out.input_tokens_remaining);
    if (k == "output-tokens-limit") return number(out.output_tokens_limit);
    if (k == "output-tokens-remaining") return number(out.output_tokens_remaining);
    return false;
  }
  if (absl::StartsWith(n, "x-ratelimit-")) {
    std::string_view k = std::string_view(n).substr(12);
    if (k == "limit-requests") return number(out.requests_limit);
    if (k == "remaining-requests") return number(out.requests_remaining);
    if (k == "reset-requests") return text(out.requests_reset);
    if (k == "limit-tokens") return number(out.tokens_limit);
    if (k == "remaining-tokens") return number(out.tokens_remaining);
    if (k == "reset-tokens") return text(out.tokens_reset);
    return false;
  }
  return false;
}

std::optional<int64_t> ParseGoDurationMs(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double v = 0;
    auto [end, ec] = std::from_chars(s.data() + start, s.data() + i, v);
    if (ec != std::errc() || end != s.data() + i) return std::nullopt;
    size_t unit = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '\xc2' || s[i] == '\xb5')) ++i;
    std::string_view u = s.substr(unit, i - unit);
    double scale = u == "h" ? 3'600'000 : u == "m" ? 60'000 : u == "s" ? 1000 : u == "ms" ? 1 : -1;
    if (u == "us" || u == "\xc2\xb5s") scale = 0.001;
    if (u == "ns") scale = 0.000001;
    if (scale < 0) return std::nullopt;
    total += v * scale;
  }
  if (total > 9e15) return std::nullopt;
  return static_cast<int64_t>(total + 0.5);
}

std::optional<ProviderLimits> LimitsOf(const RateLimits& r, int64_t now) {
  auto reset = [&](const std::string& when) -> int64_t {
    if (when.empty()) return 0;
    if (auto at = ParseUtc(when)) return *at;
    if (auto in = ParseGoDurationMs(when)) return now + *in;
    return 0;
  };
  auto window = [](const std::optional<int64_t>& limit, const std::optional<int64_t>& remaining, int64_t at) {
    QuotaWindow w;
    if (limit) w.limit = *limit;
    if (remaining) w.remaining = *remaining;
    if (w.known()) w.reset_at = at;
    return w;
  };
  ProviderLimits l;
  const int64_t tokens_reset = reset(r.tokens_reset);
  l.requests = window(r.requests_limit, r.requests_remaining, reset(r.requests_reset));
  l.tokens = window(r.tokens_limit, r.tokens_remaining, tokens_reset);
  l.input_tokens = window(r.input_tokens_limit, r.input_tokens_remaining, tokens_reset);
  l.output_tokens = window(r.output_tokens_limit, r.output_tokens_remaining, tokens_reset);
  l.reported_at = now;
  if (l.empty()) return std::nullopt;
  return l;
}

Endpoint EndpointFor(const modelpin::Config& config, const std::string& provider) {
  Endpoint e;
  std::string base, api;
  for (const auto& p : config.providers())
    if (p.id == provider) base = p.base_url, api = p.api;
  bool openai = StartsWith(api, "openai") || (api.empty() && provider != "anthropic");
  e.api = openai ? Api::kOpenAiChat : Api::kAnthropicMessages;
  if (base.empty()) {
    if (provider == "anthropic") base = "https://api.anthropic.com";
    else if (provider == "openrouter") base = "https://openrouter.ai/api/v1";
    else base = "https://api.openai.com/v1";
  }
  base = StripSlash(base);
  if (openai) e.url = base + "/chat/completions";
  // Anthropic's base URL is the host (OpenClaw's default); one that already ends in /v1 is kept.
  else e.url = base + (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 ? "/messages" : "/v1/messages");
  return e;
}

CallAnswer CallModel(const Endpoint& endpoint, const std::string& model, const CallCredential& credential,
                     const std::string& text, long timeout_ms, int max_tokens) {
  CallAnswer answer;
  // libcurl's global state, once per process (thread-safe since C++11 statics).
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    answer.error = "curl_easy_init failed";
    return answer;
  }
  std::string body = RequestBody(endpoint.api, model, text, max_tokens), response;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (endpoint.api == Api::kAnthropicMessages) {
    headers = curl_slist_append(headers, "anthropic-version: 2023-06-01");
    std::string auth = credential.bearer ? "Authorization: Bearer " + credential.secret : "x-api-key: " + credential.secret;
    headers = curl_slist_append(headers, auth.c_str());
  } else {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + credential.secret).c_str());
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  curl_easy_setopt(curl.get(), CURLOPT_URL, endpoint.url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  Headers seen{-1, &answer.rate_limits};
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &seen);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl.get());
  answer.retry_after_ms = seen.retry_after_ms;
  if (rc != CURLE_OK) {
    answer.error = curl_easy_strerror(rc);  // names the host, never a header
    answer.result = ErrorClass::kTimeout;
    return answer;
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &answer.http_status);
  if (answer.http_status != 200) {
    answer.error = "HTTP " + std::to_string(answer.http_status);
    answer.result = ClassifyStatus(answer.http_status);
    if (answer.result == ErrorClass::kOk) answer.result.reset();  // a 2xx that is not 200: not an answer
    return answer;
  }
  std::optional<std::string> out = AnswerText(endpoint.api, response);
  if (!out) {
    answer.error = "the provider's answer is not the expected JSON";
    return answer;
  }
  answer.text = *std::move(out);
  answer.usage = ReadTokenUsage(endpoint.api, response);
  answer.result = ErrorClass::kOk;
  return answer;
}

}  // namespace modelpin
