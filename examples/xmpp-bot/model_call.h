// One model call over HTTP: Anthropic's Messages API or the OpenAI-compatible chat completions
// API (openrouter, openai, any provider whose `api` says so), with libcurl.
//
//   Endpoint e = EndpointFor(engine.config(), "anthropic");
//   CallAnswer a = CallModel(e, "claude-opus-4-5", {.secret = key, .bearer = false}, "hello");
//   if (a.result) engine.ReportOutcome(agent, session, {.profile_id = profile, .error = *a.result});
#ifndef MODELPIN_EXAMPLES_XMPP_BOT_MODEL_CALL_H_
#define MODELPIN_EXAMPLES_XMPP_BOT_MODEL_CALL_H_

#include <optional>
#include <string>

#include "engine/turn/engine.h"

namespace xmppbot {

enum class Api { kAnthropicMessages, kOpenAiChat };

struct Endpoint {
  std::string url;  // the full URL the request is POSTed to
  Api api = Api::kAnthropicMessages;
};

// The endpoint of `provider`: models.providers.<provider>.baseUrl (else the provider's public
// default) and its API (`api` "openai-completions"/"openai-responses", or the provider's own).
Endpoint EndpointFor(const modelpin::Config& config, const std::string& provider);

struct Credential {
  std::string secret;  // never logged
  bool bearer = false;  // a token (Authorization: Bearer) rather than an API key (x-api-key)
};

struct CallAnswer {
  long http_status = 0;          // 0: no HTTP answer (connection failed, timed out)
  std::string text;              // the model's answer when ok
  std::string error;             // why not, for logs and the chat; never holds the secret
  int64_t retry_after_s = -1;    // a 429's Retry-After, when given
  // How the call went, for Engine::ReportOutcome (429 rate_limit, 503/529 overloaded, 401/403 auth,
  // 402 billing, 404 model_not_found, 408 and no answer timeout, other 5xx server_error); nullopt
  // when the failure says nothing about the credential (a malformed request, an unparsable
  // answer): then no other profile is tried.
  std::optional<modelpin::ErrorClass> result;
  bool ok() const { return result == modelpin::ErrorClass::kOk; }
};

CallAnswer CallModel(const Endpoint& endpoint, const std::string& model, const Credential& credential,
                     const std::string& text, long timeout_ms);

}  // namespace xmppbot

#endif  // MODELPIN_EXAMPLES_XMPP_BOT_MODEL_CALL_H_
