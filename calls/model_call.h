// One model call over HTTP with libcurl: Anthropic's Messages API or the OpenAI-compatible chat
// completions API (openrouter, openai, any provider whose `api` says so). The XMPP bot and the
// service call models through here (calls/chat.h does a whole message).
//
//   Endpoint e = EndpointFor(engine.config(), "anthropic");
//   CallAnswer a = CallModel(e, "claude-opus-4-5", {.secret = key, .bearer = false}, "hello", 60000);
//   if (a.result) engine.ReportOutcome(agent, session, {.profile_id = profile, .error = *a.result});
#ifndef MODELPIN_CALLS_MODEL_CALL_H_
#define MODELPIN_CALLS_MODEL_CALL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {

enum class Api { kAnthropicMessages, kOpenAiChat };

struct Endpoint {
  std::string url;  // the full URL the request is POSTed to
  Api api = Api::kAnthropicMessages;
};

// The endpoint of `provider`: models.providers.<provider>.baseUrl (else the provider's public
// default) and its API (`api` "openai-completions"/"openai-responses", or the provider's own).
Endpoint EndpointFor(const Config& config, const std::string& provider);

struct CallCredential {
  std::string secret;   // never logged
  bool bearer = false;  // a token (Authorization: Bearer) rather than an API key (x-api-key)
};

// What the provider said of its quotas, from `anthropic-ratelimit-*` (Anthropic) and
// `x-ratelimit-*` (OpenAI, OpenRouter) headers of any answer, 200 or 429. Unset: not sent.
struct RateLimits {
  std::optional<int64_t> requests_limit, requests_remaining;
  std::optional<int64_t> tokens_limit, tokens_remaining;
  std::optional<int64_t> input_tokens_limit, input_tokens_remaining;
  std::optional<int64_t> output_tokens_limit, output_tokens_remaining;
  // When the window resets, as sent: an instant ("2026-12-01T10:00:30Z", Anthropic) or a
  // duration ("6m0s", "20ms", OpenAI).
  std::string requests_reset, tokens_reset;
  bool any() const {
    return requests_limit || requests_remaining || tokens_limit || tokens_remaining || input_tokens_limit ||
           input_tokens_remaining || output_tokens_limit || output_tokens_remaining || !requests_reset.empty() ||
           !tokens_reset.empty();
  }
};
// Reads one header into `out` when it is a rate-limit header (the name compared without case).
// Returns whether it was one.
bool ReadRateLimitHeader(std::string_view name, std::string_view value, RateLimits& out);
// The headers as the engine keeps them (CallReport::limits): reset instants resolved against
// `now_ms` (an RFC 3339 instant as is; an OpenAI duration "6m0s", "1.5s", "20ms" from now); the
// input/output token windows reset with the tokens'. nullopt when no window has a limit and a
// remaining count.
std::optional<ProviderLimits> LimitsOf(const RateLimits& r, int64_t now_ms);
// "6m0s", "1h2m3.5s", "20ms", "0s" -> ms; nullopt when malformed.
std::optional<int64_t> ParseGoDurationMs(std::string_view text);

struct CallAnswer {
  long http_status = 0;          // 0: no HTTP answer (connection failed, timed out)
  std::string text;              // the model's answer when ok
  std::string error;             // why not, for logs and the chat; never holds the secret
  int64_t retry_after_ms = -1;   // Retry-After (seconds) or retry-after-ms, when given
  RateLimits rate_limits;
  // The tokens the call used, from the answer's `usage` (docs/usage-and-budgets.md); unset when absent.
  std::optional<TokenUsage> usage;
  // How the call went, for Engine::ReportOutcome: 200 ok, 429 rate_limit, 503/529 overloaded,
  // 401/403 auth, 402 billing, 404 model_not_found, 408 and no answer timeout, other 5xx
  // server_error; nullopt when the failure says nothing about the credential (a malformed
  // request, an unparsable answer): then no other profile is tried.
  std::optional<ErrorClass> result;
  bool ok() const { return result == ErrorClass::kOk; }
};

// The token counts of a 200 answer's body: Anthropic's usage.{input_tokens, output_tokens,
// cache_read_input_tokens, cache_creation_input_tokens}, or OpenAI's usage.{prompt_tokens,
// completion_tokens, prompt_tokens_details.cached_tokens} (cached prompt tokens are cache reads).
std::optional<TokenUsage> ReadTokenUsage(Api api, std::string_view body);

// The error class of an HTTP status (200 and other 2xx: ok); nullopt for the other 4xx.
std::optional<ErrorClass> ClassifyStatus(long status);

// `max_tokens` > 0 caps the answer (a probe asks for 1); 0: 1024 for Anthropic, the provider's
// default for OpenAI-style APIs.
CallAnswer CallModel(const Endpoint& endpoint, const std::string& model, const CallCredential& credential,
                     const std::string& text, long timeout_ms, int max_tokens = 0);

}  // namespace modelpin

#endif  // MODELPIN_CALLS_MODEL_CALL_H_
