#include <modelpin/calls/chat.h>

#include "absl/strings/str_cat.h"

namespace modelpin {

bool UsesBearer(Engine& engine, const std::string& agent, const std::string& profile) {
  if (profile.rfind("env:", 0) == 0) return profile.find("TOKEN") != std::string::npos;
  auto store = engine.Auth(agent);
  if (!store.ok()) return false;
  const Credential* c = (*store)->Find(profile);
  return c && (c->type == "token" || c->type == "oauth");
}

absl::StatusOr<ChatResult> ChatThroughRoute(Engine& engine, const InboundMessage& message,
                                            const ChatOptions& options) {
  ChatResult r;
  absl::Status st = engine.Handle(message, r.outcome);
  if (!st.ok()) return st;
  if (!r.outcome.route) return r;
  const Route& route = *r.outcome.route;
  const std::string& agent = r.outcome.agent_id;
  const std::string& session = r.outcome.session_key;

  // The route's model first, then the plan's fallbacks, each with its profiles in order.
  std::vector<RouteCandidate> steps;
  steps.push_back({route.model, route.profiles});
  steps.insert(steps.end(), route.plan.begin(), route.plan.end());
  std::string failures;
  for (const RouteCandidate& step : steps) {
    const Endpoint endpoint = EndpointFor(engine.config(), step.model.provider);
    for (const std::string& profile : step.profiles) {
      CallAttempt attempt{step.model, profile, {}, false};
      absl::StatusOr<std::string> secret = engine.SecretFor(agent, profile);
      if (!secret.ok()) {
        attempt.answer.error = absl::StrCat("no secret: ", secret.status().message());
      } else {
        attempt.answer = CallModel(endpoint, step.model.model, {*secret, UsesBearer(engine, agent, profile)},
                                   route.text, options.timeout_ms);
      }
      if (attempt.answer.result) {
        // What is known goes back to the engine: the error class, the provider's Retry-After
        // and the model (a rate limit or an unknown model cools down that model of the profile
        // only, where the rotation rules allow it).
        CallReport report;
        report.profile_id = profile;
        report.error = *attempt.answer.result;
        report.retry_after_ms = attempt.answer.retry_after_ms > 0 ? attempt.answer.retry_after_ms : 0;
        report.model = step.model.Label();
        report.usage = attempt.answer.usage;  // priced as report.model
        report.limits = LimitsOf(attempt.answer.rate_limits, engine.NowMs());
        absl::Status rs = engine.ReportOutcome(agent, session, report);
        attempt.reported = rs.ok();
        if (!rs.ok()) r.report_errors.push_back(std::string(rs.message()));
      }
      if (options.on_attempt) options.on_attempt(attempt);
      const bool ok = attempt.answer.ok();
      const bool credential_fault = attempt.answer.result.has_value() || !secret.ok();
      if (!ok) absl::StrAppend(&failures, failures.empty() ? "" : ", ", profile, ": ", attempt.answer.error);
      if (ok) {
        r.answer = attempt.answer.text;
        r.answered_by = step.model;
        r.answered_profile = profile;
      }
      r.attempts.push_back(std::move(attempt));
      if (ok) return r;
      if (!credential_fault) {
        // Not the credential's fault: another one would fail the same way.
        r.failure = absl::StrCat("The model call failed (", failures, ").");
        return r;
      }
    }
  }
  r.failure = absl::StrCat("The model call failed (", failures.empty() ? "no usable credential" : failures, ").");
  return r;
}

}  // namespace modelpin
