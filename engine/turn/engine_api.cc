// The installed Engine forwards every call to its EngineImpl (engine/turn/engine_impl.h): the
// one pointer keeps the class the same size and layout whatever the implementation holds
// (docs/embedding.md, "API and ABI policy").
#include <modelpin/engine/turn/engine.h>

#include <utility>

#include <modelpin/engine/turn/engine_impl.h>

namespace modelpin {

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(Config config, std::unique_ptr<SessionStore> sessions,
                                                       EngineOptions options) {
  auto impl = EngineImpl::Create(std::move(config), std::move(sessions), std::move(options));
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Engine>(new Engine(*std::move(impl)));
}

absl::StatusOr<Outcome> Engine::Handle(const InboundMessage& message) { return impl_->Handle(message); }

absl::Status Engine::Handle(const InboundMessage& message, Outcome& out) { return impl_->Handle(message, out); }

absl::Status Engine::ReportOutcome(const std::string& agent_id, const std::string& session_key,
                                   const std::string& profile_id, CallResult result) {
  return impl_->ReportOutcome(agent_id, session_key, profile_id, result);
}

absl::Status Engine::ReportOutcome(const std::string& agent_id, const std::string& session_key,
                                   const CallReport& report) {
  return impl_->ReportOutcome(agent_id, session_key, report);
}

std::vector<std::pair<std::string, ProfileHealth>> Engine::RouteHealth(const std::string& agent_id,
                                                                       const Route& route) {
  return impl_->RouteHealth(agent_id, route);
}

void Engine::Simulate(std::shared_ptr<const Clock> clock) { impl_->Simulate(std::move(clock)); }

const Config& Engine::config() const { return impl_->config(); }

const EnvCredentials& Engine::env() const { return impl_->env(); }

absl::StatusOr<std::string> Engine::SecretFor(const std::string& agent_id, const std::string& profile_id) {
  return impl_->SecretFor(agent_id, profile_id);
}

const PluginRegistry& Engine::plugins() const { return impl_->plugins(); }

int64_t Engine::NowMs() const { return impl_->NowMs(); }

AuthHealthStore& Engine::auth_health() const { return impl_->auth_health(); }

std::string Engine::ResolveAgent(const std::string& agent_id) const { return impl_->ResolveAgent(agent_id); }

EventSink* Engine::events() const { return impl_->events(); }

void Engine::Recheck(const std::string& agent_id) const { impl_->Recheck(agent_id); }

std::string Engine::OwnAuthStorePath(const std::string& agent_id) const { return impl_->OwnAuthStorePath(agent_id); }

std::string Engine::EffectiveAuthStorePath(const std::string& agent_id) const {
  return impl_->EffectiveAuthStorePath(agent_id);
}

absl::StatusOr<std::shared_ptr<const AuthStore>> Engine::Auth(const std::string& agent_id) {
  return impl_->Auth(agent_id);
}

absl::StatusOr<SessionState> Engine::Session(const std::string& agent_id, const std::string& session_key) {
  return impl_->Session(agent_id, session_key);
}

absl::StatusOr<std::vector<std::string>> Engine::SessionKeys(const std::string& agent_id) {
  return impl_->SessionKeys(agent_id);
}

absl::Status Engine::ResetSession(const std::string& agent_id, const std::string& session_key) {
  return impl_->ResetSession(agent_id, session_key);
}

absl::Status Engine::CheckStores() { return impl_->CheckStores(); }

absl::Status Engine::FlushSessions() { return impl_->FlushSessions(); }

absl::StatusOr<std::shared_ptr<const ModelResolver>> Engine::Resolver(const std::string& agent_id) {
  return impl_->Resolver(agent_id);
}

absl::Status Engine::Inspect(const std::string& agent_id, const std::string& session_key,
                             const std::function<void(TurnContext&)>& fn) {
  return impl_->Inspect(agent_id, session_key, fn);
}

std::string Engine::DisplayPath(const std::string& path) { return EngineImpl::DisplayPath(path); }

}  // namespace modelpin
