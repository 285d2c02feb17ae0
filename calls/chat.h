// A whole chat message, end to end: the engine's replies for a command, or for ordinary text the
// call to the routed model with the route's profiles in order, each outcome reported to the
// engine (so the next route rotates), then the fallback models of the route's plan, until one
// answers. What the XMPP bot and the service's POST /v1/chat do for every message.
//
//   ChatResult r = *ChatThroughRoute(*engine, {.session_key = key, .text = text, .sender = who});
//   for (const auto& reply : r.outcome.replies) Send(reply.text);
//   if (r.outcome.route) Send(r.answer ? *r.answer : r.failure);
#ifndef MODELPIN_CALLS_CHAT_H_
#define MODELPIN_CALLS_CHAT_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/calls/model_call.h>
#include <modelpin/engine/turn/engine.h>

namespace modelpin {

// One model call of a message.
struct CallAttempt {
  ModelRef model;
  std::string profile;
  CallAnswer answer;   // its `text` is the model's answer when ok
  bool reported = false;  // ReportOutcome was called (answer.result was set) and succeeded
};

struct ChatOptions {
  long timeout_ms = 60'000;  // per model call
  // Called after each attempt (logs, metrics); the answer never holds the secret.
  std::function<void(const CallAttempt&)> on_attempt{};
};

struct ChatResult {
  Outcome outcome;                  // what Engine::Handle returned: replies, session, route
  std::optional<std::string> answer;  // the model's answer, when a call succeeded
  // Why there is no answer for a routed message, for people: "The model call failed
  // (anthropic:work: HTTP 429, anthropic:default: HTTP 401)." "" otherwise.
  std::string failure;
  ModelRef answered_by;             // the model and profile that answered
  std::string answered_profile;
  std::vector<CallAttempt> attempts;  // in order
  // ReportOutcome errors (a store that failed): the message was still answered.
  std::vector<std::string> report_errors;
};

// Handles `message` and, for text that goes on to a model, calls it: the route's model with its
// profiles in order, then each model of the route's plan with its profiles. A profile whose call
// fails for a reason of the credential (rate limit, auth, billing, overload, timeout, server
// error) is reported and the next one tried; a failure that is not the credential's (a
// malformed request, an unparsable answer) stops at once. Errors are the engine's (a store that
// failed to handle the message).
absl::StatusOr<ChatResult> ChatThroughRoute(Engine& engine, const InboundMessage& message,
                                            const ChatOptions& options = {});

// Whether a profile's secret goes as a bearer token (tokens, OAuth access tokens; env
// credentials whose variable names a TOKEN) rather than an API key.
bool UsesBearer(Engine& engine, const std::string& agent, const std::string& profile);

}  // namespace modelpin

#endif  // MODELPIN_CALLS_CHAT_H_
