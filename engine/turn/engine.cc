#include <modelpin/engine/turn/engine_impl.h>

#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <thread>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/base/recycled_blocks.h>
#include <modelpin/base/text.h>
#include <modelpin/base/clock.h>
#include <modelpin/engine/auth/budgets.h>
#include <modelpin/engine/models/catalog.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/turn/compose.h>
#include <modelpin/engine/turn/plugin_loader.h>

namespace modelpin {

bool TurnContext::HasDirective(std::string_view plugin) const {
  for (size_t i = 0; i < directive_count && i < directive_plugins.size(); ++i)
    if (directive_plugins[i] == plugin) return true;
  return false;
}

ModelRef TurnContext::CurrentModel() const {
  ModelRef ref;
  CurrentModelInto(ref);
  return ref;
}

ModelRef TurnContext::StoredModel() const {
  if (stored.provider_override && stored.model_override) return {*stored.provider_override, *stored.model_override};
  return agent.default_ref;
}

void TurnContext::CurrentModelInto(ModelRef& out) const {
  if (session.provider_override && session.model_override) {
    out.provider.assign(*session.provider_override);
    out.model.assign(*session.model_override);
  } else {
    out.provider.assign(agent.default_ref.provider);
    out.model.assign(agent.default_ref.model);
  }
}

const AuthOrder& TurnContext::OrderFor(const std::string& provider) const { return OrderFor(provider, {}); }

const AuthOrder& TurnContext::OrderFor(const std::string& provider, std::string_view model) const {
  if (orders) return orders->For(provider, model, now_ms, rule);
  // Without the engine's memo (tools, tests): computed once per provider for this context.
  auto it = local_orders.find(provider);
  if (it == local_orders.end()) {
    AuthOrderInput in{&config, &auth, provider, now_ms};
    in.rule_order = rule ? rule->OrderFor(provider) : nullptr;
    it = local_orders.emplace(provider, ResolveAuthOrder(in)).first;
  }
  return it->second;
}

EngineImpl::EngineImpl(Config config, std::unique_ptr<SessionStore> sessions, EngineOptions options)
    : config_(std::move(config)), sessions_(std::move(sessions)), options_(std::move(options)), serial_([] {
        static std::atomic<uint64_t> engines{0};
        return engines.fetch_add(1, std::memory_order_relaxed) + 1;
      }()) {
  clock_ = options_.clock ? options_.clock : std::make_shared<SystemClock>();
  health_ = options_.auth_health;
  if (!health_)
    health_ = std::make_shared<JsonFileAuthHealth>([this](const std::string& agent) { return EffectiveAuthStorePath(agent); });
  strict_ = options_.strict.value_or(config_.strict());
  plugins_ = std::move(options_.plugins);
  events_ = options_.events.get();
  created_ms_ = clock_->NowMs();
  default_agent_ = config_.DefaultAgentId();
}

EngineImpl::~EngineImpl() = default;

absl::StatusOr<std::unique_ptr<EngineImpl>> EngineImpl::Create(Config config, std::unique_ptr<SessionStore> sessions,
                                                       EngineOptions options) {
  if (!sessions) sessions = std::make_unique<MemorySessionStore>();
  std::string dotenv = options.state_dir.empty() ? "" : options.state_dir + "/.env";
  ASSIGN_OR_RETURN(EnvCredentials env,
                   EnvCredentials::Load(dotenv, options.environment ? *options.environment : ProcessEnvironment()));
  // Run-time plugins named by the config (plugins.load) come after the embedder's, and the
  // extra files (the CLI's --plugin) after those.
  std::vector<std::string> files = config.plugin_paths();
  files.insert(files.end(), options.extra_plugin_files.begin(), options.extra_plugin_files.end());
  for (const auto& path : files) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Plugin> plugin, LoadPlugin(path, &config));
    RETURN_IF_ERROR(options.plugins.Add(std::move(plugin)));
  }
  auto engine = std::unique_ptr<EngineImpl>(new EngineImpl(std::move(config), std::move(sessions), std::move(options)));
  engine->env_ = std::move(env);
  return engine;
}

absl::StatusOr<std::string> EngineImpl::SecretFor(const std::string& agent_id, const std::string& profile_id) {
  if (profile_id.rfind("env:", 0) == 0) {
    for (const auto& c : env_.all())
      if (c.ProfileId() == profile_id) return c.value;
    return absl::NotFoundError(absl::StrCat(profile_id.substr(4), " is not set"));
  }
  ASSIGN_OR_RETURN(auto cache, Agent(ResolveAgent(agent_id)));
  const Credential* c = cache->auth->Find(profile_id);
  if (c == nullptr) return absl::NotFoundError(absl::StrCat("Auth profile \"", profile_id, "\" not found."));
  if (c->secret.empty()) return absl::FailedPreconditionError(absl::StrCat("Auth profile \"", profile_id, "\" has no secret."));
  return c->secret;
}

std::string EngineImpl::ResolveAgent(const std::string& agent_id) const {
  return agent_id.empty() ? default_agent_ : text::ToLower(agent_id);
}

std::string EngineImpl::OwnAuthStorePath(const std::string& agent_id) const {
  if (options_.state_dir.empty()) return "";
  return absl::StrCat(options_.state_dir, "/agents/", agent_id, "/agent/auth-profiles.json");
}

std::string EngineImpl::EffectiveAuthStorePath(const std::string& agent_id) const {
  std::string own = OwnAuthStorePath(agent_id);
  if (own.empty()) return own;
  struct stat st;
  if (::stat(own.c_str(), &st) == 0) return own;
  return OwnAuthStorePath(config_.DefaultAgentId());
}

std::string EngineImpl::DisplayPath(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home && *home && path.rfind(home, 0) == 0 && (path.size() == strlen(home) || path[strlen(home)] == '/'))
    return "~" + path.substr(strlen(home));
  return path;
}

absl::StatusOr<std::shared_ptr<const EngineImpl::AgentCache>> EngineImpl::Agent(const std::string& agent_id) {
  return Agent(agent_id, clock_->NowMs());
}

bool EngineImpl::Fresh(const AgentCache& c, int64_t now, int64_t recheck_ms) {
  int64_t checked = c.checked_at.load(std::memory_order_relaxed);
  return now >= checked && now - checked < recheck_ms && now < c.orders->ValidUntil();
}

// The thread's slot (LeaseAgent): the cache its last turn used, with what it was valid for.
class EngineImpl::AgentLease {
 public:
  struct Slot {
    uint64_t serial = 0, gen = 0;
    std::string agent_id;
    std::shared_ptr<const AgentCache> cache;
  };
  AgentLease(std::shared_ptr<const AgentCache> cache, uint64_t serial, uint64_t gen, const std::string& agent_id,
             Slot& slot)
      : cache_(std::move(cache)), serial_(serial), gen_(gen), agent_id_(&agent_id), slot_(&slot) {}
  AgentLease(AgentLease&& o) noexcept
      : cache_(std::move(o.cache_)), serial_(o.serial_), gen_(o.gen_), agent_id_(o.agent_id_), slot_(o.slot_) {}
  AgentLease& operator=(AgentLease&&) = delete;
  ~AgentLease() {
    if (!cache_) return;
    Slot& s = *slot_;  // the thread's (a lease never leaves the thread that took it)
    s.serial = serial_;
    s.gen = gen_;
    if (!text::SameBytes(s.agent_id, *agent_id_)) s.agent_id = *agent_id_;
    s.cache = std::move(cache_);
  }
  const AgentCache* operator->() const { return cache_.get(); }

 private:
  friend class EngineImpl;
  static Slot& ThreadSlot() {
    thread_local Slot slot;
    return slot;
  }
  std::shared_ptr<const AgentCache> cache_;
  uint64_t serial_, gen_;
  const std::string* agent_id_;  // the turn's (Outcome::agent_id), which outlives the lease
  Slot* slot_;
};

absl::StatusOr<EngineImpl::AgentLease> EngineImpl::LeaseAgent(const std::string& agent_id, int64_t now) {
  AgentLease::Slot& s = AgentLease::ThreadSlot();
  // Read before Agent(): a map that changes meanwhile leaves the lease marked stale.
  const uint64_t gen = agents_gen_.load(std::memory_order_acquire);
  if (s.cache && s.serial == serial_ && s.gen == gen && text::SameBytes(s.agent_id, agent_id) &&
      Fresh(*s.cache, now, options_.auth_recheck_ms))
    return AgentLease(std::move(s.cache), serial_, gen, agent_id, s);
  ASSIGN_OR_RETURN(auto cache, Agent(agent_id, now));
  return AgentLease(std::move(cache), serial_, gen, agent_id, s);
}

absl::StatusOr<std::shared_ptr<const EngineImpl::AgentCache>> EngineImpl::Agent(const std::string& agent_id, int64_t now) {
  auto fresh = [&](const AgentCache& c) { return Fresh(c, now, options_.auth_recheck_ms); };
  {
    std::shared_lock lock(agents_mu_);
    auto it = agents_.find(agent_id);
    if (it != agents_.end() && fresh(*it->second)) return std::shared_ptr<const AgentCache>(it->second);
  }
  std::unique_lock lock(agents_mu_);
  // The agent's entry is replaced only by a complete cache: when reading the auth store or the
  // health fails below, the map keeps what it had (nothing, or the last good cache, which the
  // next message checks again), so a failed message never leaves a half-built entry behind.
  std::shared_ptr<AgentCache> slot;
  if (auto it = agents_.find(agent_id); it != agents_.end()) slot = it->second;
  std::string path = EffectiveAuthStorePath(agent_id);
  std::shared_ptr<const AuthStore> simulated;
  if (simulated_)
    if (auto it = simulated_auth_.find(path); it != simulated_auth_.end()) simulated = it->second;
  int64_t mtime = -1, size = -1;
  struct stat st;
  if (!simulated && !path.empty() && ::stat(path.c_str(), &st) == 0) {
    mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    size = static_cast<int64_t>(st.st_size);
  }
  // A shared health store is asked for its version (one small read) on the file's schedule. A
  // simulation (replay) keeps its own copy of the health and never looks at the shared one again.
  uint64_t health_version = 0;
  if (!simulated && !health_->InAuthFile()) {
    ASSIGN_OR_RETURN(health_version, health_->Version(agent_id));
  }
  bool unchanged = slot && path == slot->auth_path && mtime == slot->mtime_ns && size == slot->size &&
                   health_version == slot->health_version && now < slot->orders->ValidUntil() &&
                   (!simulated || slot->auth == simulated);
  if (unchanged) {
    slot->checked_at.store(now, std::memory_order_relaxed);
    return std::shared_ptr<const AgentCache>(slot);
  }
  auto cache = std::make_shared<AgentCache>();
  std::shared_ptr<const AuthStore> store;
  if (simulated) {
    store = simulated;  // holds the shared health it started from (ReportOutcome)
  } else {
    auto loaded = std::make_shared<AuthStore>();
    if (!path.empty()) {
      ASSIGN_OR_RETURN(*loaded, AuthStore::Load(path));
    }
    if (!health_->InAuthFile()) {
      ASSIGN_OR_RETURN(AuthHealth health, health_->Read(agent_id));
      loaded->OverlayHealth(std::move(health));
    }
    ApplyBudgets(config_, agent_id, *loaded, now);  // nothing without budgets
    store = std::move(loaded);
  }
  cache->health_version = health_version;
  cache->auth = store;
  cache->auth_path = path;
  cache->store_label = DisplayPath(path);
  cache->mtime_ns = mtime;
  cache->size = size;
  cache->orders = std::make_unique<AuthOrderMemo>(&config_, store.get(), now);
  cache->view = &config_.Agent(agent_id);
  CatalogPlan plan = PlanCatalog(config_, *cache->view, [&](std::string_view provider) {
    return !cache->orders->For(std::string(provider), now).ids.empty() || env_.For(provider) != nullptr;
  });
  cache->resolver = std::make_shared<ModelResolver>(config_, *cache->view, std::move(plan.rows), strict_);
  cache->checked_at.store(now, std::memory_order_relaxed);
  std::vector<Event> lapsed;  // cooldowns that ran out (events.h), sent once the lock is released
  if (events_) lapsed = LapsedHealth(agent_id, *store, now);
  agents_[agent_id] = cache;
  agents_gen_.fetch_add(1, std::memory_order_release);
  lock.unlock();
  for (const Event& e : lapsed) events_->OnEvent(e);
  return std::shared_ptr<const AgentCache>(cache);
}

void EngineImpl::Recheck(const std::string& agent_id) const {
  std::shared_lock lock(agents_mu_);
  if (auto it = agents_.find(ResolveAgent(agent_id)); it != agents_.end())
    it->second->checked_at.store(std::numeric_limits<int64_t>::min() / 2, std::memory_order_relaxed);
}

absl::StatusOr<std::shared_ptr<const AuthStore>> EngineImpl::Auth(const std::string& agent_id) {
  ASSIGN_OR_RETURN(auto c, Agent(ResolveAgent(agent_id)));
  return c->auth;
}

absl::StatusOr<std::shared_ptr<const ModelResolver>> EngineImpl::Resolver(const std::string& agent_id) {
  ASSIGN_OR_RETURN(auto c, Agent(ResolveAgent(agent_id)));
  return c->resolver;
}

absl::Status EngineImpl::FlushSessions() { return sessions_->Flush(); }

absl::StatusOr<SessionState> EngineImpl::Session(const std::string& agent_id, const std::string& session_key) {
  std::string agent = ResolveAgent(agent_id);
  return sessions_->Get(agent, session_key.empty() ? absl::StrCat("agent:", agent, ":main") : session_key);
}

absl::StatusOr<std::vector<std::string>> EngineImpl::SessionKeys(const std::string& agent_id) {
  return sessions_->Keys(ResolveAgent(agent_id));
}

absl::Status EngineImpl::ResetSession(const std::string& agent_id, const std::string& session_key) {
  std::string agent = ResolveAgent(agent_id);
  std::string key = session_key.empty() ? absl::StrCat("agent:", agent, ":main") : session_key;
  std::lock_guard<std::mutex> session_lock(SessionLock(agent, key));
  return sessions_->Put(agent, key, SessionState{});
}

absl::Status EngineImpl::CheckStores() {
  std::string agent = ResolveAgent("");
  SessionState probe;
  uint64_t version = 0;
  RETURN_IF_ERROR(sessions_->LoadVersioned(agent, "modelpin:probe", probe, version, SessionStore::Read::kFresh));
  if (!health_->InAuthFile()) RETURN_IF_ERROR(health_->Version(agent).status());
  return absl::OkStatus();
}

std::mutex& EngineImpl::SessionLock(const std::string& agent, const std::string& key) {
  // The key alone picks the lock: two agents' sessions of one key share one (rare, harmless),
  // and a turn hashes one string instead of two.
  (void)agent;
  return session_locks_[std::hash<std::string>()(key) % session_locks_.size()];
}

namespace {

// The auth pin rules that run when a message reaches the model (docs/pins.md): a user pin that no
// longer exists or cannot authenticate the provider is dropped; without a user pin the first
// profile of the order becomes the automatic pin (kept while it stays usable). Returns whether
// the session changed.
bool ApplyTurnPins(TurnContext& ctx, const ModelRef& model, const AuthOrder& order, std::string* notice) {
  SessionState& s = ctx.session;
  bool changed = false;
  // The pin history records the change once, as what it was before the first step and with the
  // first step's reason ("invalid" when a dropped user pin is replaced by an automatic one).
  std::optional<PinSelection> before;
  PinSource source = PinSource::kAuto;
  auto changing = [&](PinSource why) {
    if (before) return;
    before = s.Selection();
    source = why;
  };
  auto clear_pin = [&] {
    s.auth_profile_override.reset();
    s.auth_profile_override_source.reset();
    s.auth_profile_override_compaction_count.reset();
    changed = true;
  };
  auto done = [&] {
    if (before) s.RecordPinChange(ctx.now_ms, source, *before);
    return changed;
  };
  if (s.auth_profile_override && s.auth_profile_override_source && *s.auth_profile_override_source == "user") {
    const Credential* c = ctx.auth.Find(*s.auth_profile_override);
    if (c == nullptr || !SameAuthProvider(c->provider, model.provider)) {
      changing(PinSource::kInvalid);
      // Strict mode says so, once: the pin is gone after this turn.
      if (ctx.strict && notice)
        *notice = absl::StrCat("Your pinned auth profile ", *s.auth_profile_override, " was dropped: ",
                               c == nullptr ? "it is no longer in the auth store."
                                            : absl::StrCat("it cannot authenticate ", model.provider, "."));
      clear_pin();
    } else {
      return false;
    }
  }
  if (s.auth_profile_override) {
    bool usable = std::find(order.ids.begin(), order.ids.end(), *s.auth_profile_override) != order.ids.end() &&
                  std::find(order.cooling.begin(), order.cooling.end(), *s.auth_profile_override) == order.cooling.end();
    // fill_first promotes a recovered higher-priority profile back: the auto pin follows the top.
    if (usable && order.strategy == Strategy::kFillFirst && order.ids.front() != *s.auth_profile_override &&
        !order.AllCooling())
      usable = false;
    // quota_aware leaves a profile whose reported quota fell under the threshold for the one
    // with the most left, the order's first (docs/rotation.md#quota_aware).
    if (usable && !order.low_quota.empty() && order.ids.front() != *s.auth_profile_override &&
        std::find(order.low_quota.begin(), order.low_quota.end(), *s.auth_profile_override) != order.low_quota.end())
      usable = false;
    if (usable || order.ids.empty()) return done();
    changing(PinSource::kOrder);
  }
  if (order.ids.empty()) return done();
  changing(PinSource::kAuto);
  s.auth_profile_override = order.ids.front();
  s.auth_profile_override_source = "auto";
  s.auth_profile_override_compaction_count = 0;
  changed = true;
  return done();
}

// Writes the profiles to try, in order, into `out` (its strings reused).
void RouteProfiles(const TurnContext& ctx, const ModelRef& model, const AuthOrder& order,
                   std::vector<std::string>& out) {
  size_t n = 0;
  auto add = [&](const std::string& id) {
    if (n < out.size()) out[n].assign(id);
    else out.push_back(id);
    ++n;
  };
  const SessionState& s = ctx.session;
  // The pin leads while it can be used. A pin cooling down or disabled keeps its place in the
  // order (last, by when it is back) and the provider's other profiles go first: OpenClaw keeps
  // the pin and tries the next profile of the same provider (fixtures/rotation-oracle/auth-401-pinned).
  // The model's label is built only for a profile with model cooldowns (the only ones it reads).
  const UsageStats* pin = s.auth_profile_override ? &ctx.auth.Usage(*s.auth_profile_override) : nullptr;
  if (pin && !IsCoolingDown(*pin, pin->model_cooldowns.empty() ? std::string() : model.Label(), ctx.now_ms)) {
    // A pin that is in the order is eligible by construction; only a pin outside it (a user pin
    // of a profile the explicit order leaves out) needs the check.
    bool in_order = std::find(order.ids.begin(), order.ids.end(), *s.auth_profile_override) != order.ids.end();
    const Credential* c = in_order ? nullptr : ctx.auth.Find(*s.auth_profile_override);
    if (in_order || (c && IsEligible(*c, model.provider, ctx.config, ctx.now_ms, nullptr)))
      add(*s.auth_profile_override);
  }
  for (const auto& id : order.ids)
    if (n == 0 || id != out.front()) add(id);
  // No eligible stored profile: the provider's environment variable, if set (named as such).
  if (n == 0 && ctx.env)
    if (const EnvCredential* c = ctx.env->For(model.provider)) add(c->ProfileId());
  out.resize(n);
}

// The order of a model's provider; per model only while some profile has a model cooldown.
const AuthOrder& ModelOrder(const TurnContext& ctx, const ModelRef& model) {
  if (ctx.orders && ctx.orders->HasModelCooldowns()) return ctx.OrderFor(model.provider, model.Label());
  return ctx.OrderFor(model.provider);
}

// "anthropic:work cooldown until 2026-12-01T10:00:30Z, 1 error"
std::string HealthOf(const TurnContext& ctx, const std::string& id, const ModelRef& model) {
  return absl::StrCat(id, " ", DescribeHealth(ctx.auth.Usage(id), model.Label(), ctx.now_ms).Text());
}

// The failover plan (OpenClaw's model fallback, decided before the call): the models of the
// configured fallbacks that have a profile ready, each with its profiles. When the session's
// model cannot be called now (every profile cooling down or disabled; a user pin that is goes
// last, see RouteProfiles), the route moves to the first of them for this message; the session
// is not changed.
void PlanFallbacks(const TurnContext& ctx, const AuthOrder& order, Route& route) {
  for (const ModelRef& fb : ctx.agent.fallbacks) {
    if (fb == route.model) continue;
    const AuthOrder& o = ModelOrder(ctx, fb);
    RouteCandidate c{fb, {}};
    for (const auto& id : o.ids)
      if (std::find(o.cooling.begin(), o.cooling.end(), id) == o.cooling.end()) c.profiles.push_back(id);
    if (c.profiles.empty() && ctx.env)
      if (const EnvCredential* e = ctx.env->For(fb.provider)) c.profiles.push_back(e->ProfileId());
    if (!c.profiles.empty()) route.plan.push_back(std::move(c));
  }
  if (!order.AllCooling() || route.plan.empty()) return;
  std::vector<std::string> why;
  for (const auto& id : order.ids) why.push_back(HealthOf(ctx, id, route.model));
  route.fallback_reason = absl::StrCat("every profile of ", route.model.Label(), " is cooling down or disabled (",
                                       absl::StrJoin(why, "; "), ")");
  route.fallback_from = route.model;
  route.model = route.plan.front().model;
  route.profiles = std::move(route.plan.front().profiles);
  route.plan.erase(route.plan.begin());
}

}  // namespace

std::vector<std::string> TurnContext::RouteProfilesFor(const ModelRef& model) const {
  std::vector<std::string> out;
  RouteProfiles(*this, model, OrderFor(model.provider), out);
  return out;
}

namespace {

bool IsOwner(const Config& config, const std::string& sender) {
  if (sender.empty()) return false;
  const auto& owners = config.owner_allow_from();
  return std::find(owners.begin(), owners.end(), sender) != owners.end();
}

// The steps of a turn (Engine::HandleTurnOnce), in the order it runs them. Each takes what it
// works on by reference and allocates only where the turn needs it (an ordinary message of one
// line takes the short path of each).

// Names the turn's agent and session in `out`: the message's agent (resolved), and its session
// key, else the agent's main session. Reuses out's strings.
void NameTurn(const InboundMessage& message, const std::string& default_agent, Outcome& out) {
  // The last reply's buffer goes round to this turn's (RecycledReply) instead of being freed.
  if (!out.replies.empty()) RecycledReply::Give(std::move(out.replies.front().text));
  out.replies.clear();
  // The agent's id, in the buffer the last outcome left (ResolveAgent's rule).
  if (message.agent_id.empty()) {
    out.agent_id.assign(default_agent);
  } else {
    out.agent_id.assign(message.agent_id);
    for (char& c : out.agent_id) c = text::LowerAscii(c);
  }
  if (message.session_key.empty()) {
    out.session_key.clear();
    absl::StrAppend(&out.session_key, "agent:", out.agent_id, ":main");
  } else {
    out.session_key.assign(message.session_key);
  }
}

// Line breaks as OpenClaw sees them: CRLF and lone CR become LF before any parsing. The text,
// in `normalized` only when it held a CR.
std::string_view NormalizeLineBreaks(std::string_view text, std::string& normalized) {
  if (text::FindByte(text, '\r') == std::string_view::npos) return text;
  normalized.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') normalized += text[i];
    else if (i + 1 >= text.size() || text[i + 1] != '\n') normalized += '\n';
  }
  return normalized;
}

// Whether the message is plain text that holds no directive or command (most messages: they
// only route). Addressed commands (commands.botName): "/model@<this bot>" is "/model" (`text`
// then points into `addressed`); a message that starts with a command for another bot is
// ordinary text, whatever it holds (`for_other_bot`).
bool IsPlainText(std::string_view& text, const std::string& bot_name, std::string& addressed, bool& for_other_bot) {
  bool plain = !grammar::MayHoldDirective(text);
  if (!plain && !bot_name.empty() && text::FindByte(text, '@') != std::string_view::npos) {
    switch (grammar::StripBotAddress(text, bot_name, addressed)) {
      case grammar::Addressing::kThisBot: text = addressed; break;
      case grammar::Addressing::kOtherBot: for_other_bot = plain = true; break;
      case grammar::Addressing::kNone: break;
    }
  }
  return plain;
}

// Ends pins that lapsed before the message is looked at, silently (their history event says
// so): a scoped pin whose time is up, and a model pin the agent's policy no longer allows
// (OpenClaw drops it too; strict mode says so once, in `notice`). Whether one ended.
bool EndLapsedPins(SessionState& session, const AgentView& agent, const ModelResolver& resolver,
                   const AgentView& view, int64_t now, bool strict, std::string& notice) {
  bool ended = false;
  if (const ModelpinSessionData* m = session.modelpin.get();
      m && m->scope && m->scope->kind == PinScope::Kind::kFor && now >= m->scope->until_ms) {
    session.EndPinScope(now, PinSource::kExpiry);
    ended = true;
  }
  if (agent.policy && session.model_override && session.provider_override &&
      !resolver.Permitted({*session.provider_override, *session.model_override})) {
    ModelRef dropped{*session.provider_override, *session.model_override};
    PinSelection before = session.Selection();
    session.modelpin.SetScope(std::nullopt);
    session.provider_override.reset();
    session.model_override.reset();
    session.model_override_source.reset();
    session.model_override_route_resolution.reset();
    session.RecordPinChange(now, PinSource::kInvalid, before);
    ended = true;
    if (strict)
      notice = absl::StrCat("Your pinned model ", dropped.Label(), " was dropped: ", agent.policy->path,
                            " no longer allows it. Back to the default, ", view.default_ref.Label(), ".");
  }
  return ended;
}

// A directive one plugin found in the message.
struct Found {
  Found(const Plugin* p, DirectiveHit&& h) : plugin(p), hit(std::move(h)) {}  // for emplace_back (clang 14)
  const Plugin* plugin;
  DirectiveHit hit;
};
using FoundDirectives = absl::InlinedVector<Found, 4>;

// A plugin that failed on this message: it threw, or answered something no plugin may (a
// directive span outside the text). The message is refused with an error reply that names the
// plugin; nothing of it is stored and it never goes on to the model (docs/faults.md).
struct PluginFailure {
  const Plugin* plugin = nullptr;
  std::string what;
  explicit operator bool() const { return plugin != nullptr; }
  Reply ToReply() const {
    return {absl::StrCat("The ", std::string(plugin->name()), " plugin failed on this message (", what,
                         "); nothing was changed."),
            true};
  }
};

// Runs `fn` (a call into `plugin`), turning an exception it throws into `failure`. Whether it
// returned normally.
template <typename Fn>
bool CallPlugin(const Plugin& plugin, PluginFailure& failure, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    failure = {&plugin, absl::StrCat("it threw: ", e.what())};
  } catch (...) {
    failure = {&plugin, "it threw a non-standard exception"};
  }
  return false;
}

// Step 1 of plugin.h: each plugin, in registration order, looks for its directive in the text
// the earlier ones left (their spans removed). The text left, in `cleaned` once one was found.
// A plugin that fails stops the search (`failure`).
std::string_view FindDirectives(const PluginRegistry& plugins, std::string_view input, const TurnContext& ctx,
                                std::string& cleaned, FoundDirectives& found, PluginFailure& failure) {
  bool cleaned_set = false;
  for (const auto& plugin : plugins.plugins()) {
    std::string_view current = cleaned_set ? std::string_view(cleaned) : input;
    std::optional<DirectiveHit> hit;
    if (!CallPlugin(*plugin, failure, [&] { hit = plugin->FindDirective(current, ctx); })) break;
    if (!hit) continue;
    if (hit->span.begin >= hit->span.end || hit->span.end > current.size()) {
      failure = {plugin.get(), absl::StrCat("it found a directive at ", hit->span.begin, "..", hit->span.end,
                                            ", outside the ", current.size(), "-byte message")};
      break;
    }
    std::string rest = grammar::RemoveSpan(current, hit->span);
    found.emplace_back(plugin.get(), std::move(*hit));
    cleaned = std::move(rest);
    cleaned_set = true;
  }
  return cleaned_set ? std::string_view(cleaned) : input;
}

// The pin history: one event for what the directives of a turn changed of the model and the
// pin, with the source and scope the directives' results name (PinSource::kPlugin without one).
void RecordDirectivePinChange(SessionState& session, const SessionState& stored, int64_t now,
                              const std::optional<PinChange>& change) {
  std::string scope = change ? change->ScopeText() : std::string();
  if (!session.SameSelection(stored) || !scope.empty())
    session.RecordPinChange(now, change ? change->source : PinSource::kPlugin, stored, std::move(scope));
}

// Step 2 of plugin.h: applies the directives found on the working session (AppliesLast ones
// after the others) and composes their replies and effects (DirectiveComposer, compose.h): the
// replies are added to `replies`, the pin change is recorded in the session's history and the
// thinking level of this message's model call is left in `run_thinking`, and whether a directive
// ends the turn in `stop_turn`. A refusal or a query
// is returned instead, and nothing is added: the turn stores nothing of what the directives did.
std::optional<Reply> ApplyDirectives(const FoundDirectives& found, bool directive_only, TurnContext& ctx,
                                     const SessionState& stored, std::vector<Reply>& replies,
                                     std::string& run_thinking, bool& stop_turn) {
  ctx.directive_count = found.size();
  ctx.directive_only = directive_only;
  for (size_t i = 0; i < found.size() && i < ctx.directive_plugins.size(); ++i)
    ctx.directive_plugins[i] = found[i].plugin->name();
  for (const Found& f : found) ctx.directive_effects |= f.plugin->DirectiveEffects();
  absl::InlinedVector<size_t, 4> apply_order;
  for (size_t i = 0; i < found.size(); ++i)
    if (!found[i].plugin->AppliesLast()) apply_order.push_back(i);
  for (size_t i = 0; i < found.size(); ++i)
    if (found[i].plugin->AppliesLast()) apply_order.push_back(i);
  DirectiveComposer compose(found.size(), directive_only);
  for (size_t i : apply_order) {
    const Found& f = found[i];
    PluginFailure failure;
    bool accepted = true;
    // The result goes to the composer as it comes back (no copy of it); Take itself throws nothing
    // but allocation failures.
    if (!CallPlugin(*f.plugin, failure, [&] { accepted = compose.Take(i, f.plugin->ApplyDirective(f.hit, ctx)); }))
      return failure.ToReply();
    if (!accepted) return compose.TakeRefusal();
  }
  compose.AppendReplies(replies);
  RecordDirectivePinChange(ctx.session, stored, ctx.now_ms, compose.pin_change());
  if (!compose.run_thinking().empty()) run_thinking = compose.run_thinking();
  stop_turn = compose.stop_turn();
  return std::nullopt;
}

// Step 3 of plugin.h: a cleaned text that starts with '/' goes to the plugins until one claims
// it; its replies are added to `replies`. Whether one did.
bool RunCommand(const PluginRegistry& plugins, std::string_view body, TurnContext& ctx, std::vector<Reply>& replies,
                PluginFailure& failure) {
  if (body.empty() || body.front() != '/') return false;
  for (const auto& plugin : plugins.plugins()) {
    std::optional<std::vector<Reply>> answer;
    if (!CallPlugin(*plugin, failure, [&] { answer = plugin->HandleCommand(body, ctx); })) return true;
    if (!answer) continue;
    replies.insert(replies.end(), std::make_move_iterator(answer->begin()), std::make_move_iterator(answer->end()));
    return true;
  }
  return false;
}

// Step 4 of plugin.h: the text goes on to the model. Fills `route` (reusing its buffers): the
// model, its profiles after the turn's pin rules, the fallback plan, and counts the message
// against a scoped pin; `run_thinking` is the thinking level of this call (an inline /think), "" for
// the session's. A pin dropped on the way is said in `replies`. Whether the pin rules
// changed the session.
bool RouteText(TurnContext& ctx, const RouteRule* rule, std::string_view body, std::string_view run_thinking,
               int64_t now, Route& route, std::vector<Reply>& replies) {
  route.text.assign(body);
  route.thinking.assign(run_thinking);
  if (rule) route.rule.assign(rule->name);
  else route.rule.clear();
  ctx.CurrentModelInto(route.model);
  const AuthOrder& order = ModelOrder(ctx, route.model);
  std::string dropped_notice;
  bool pins_changed = ApplyTurnPins(ctx, route.model, order, &dropped_notice);
  if (!dropped_notice.empty()) replies.push_back({std::move(dropped_notice), false});
  RouteProfiles(ctx, route.model, order, route.profiles);
  route.fallback_from.provider.clear();
  route.fallback_from.model.clear();
  route.fallback_reason.clear();
  route.plan.clear();
  if (!ctx.agent.fallbacks.empty()) PlanFallbacks(ctx, order, route);
  // A scoped pin counted in messages: this routed message used it; the last one ends it, so
  // the session is back on its own selection for the next message.
  SessionState& session = ctx.session;
  if (const ModelpinSessionData* m = session.modelpin.get(); m && m->scope && m->scope->kind != PinScope::Kind::kFor) {
    if (session.modelpin.CountTurn() <= 0) session.EndPinScope(now, PinSource::kExpiry);
    pins_changed = true;
  }
  return pins_changed;
}

}  // namespace

absl::StatusOr<Outcome> EngineImpl::Handle(const InboundMessage& message) {
  Outcome out;
  RETURN_IF_ERROR(Handle(message, out));
  return out;
}

// Runs `attempt` again while it answers Aborted (another process changed the session after the
// attempt read it; the store then holds the fresh state), pausing a random time between
// retries that grows from 0-50 us to 0-5 ms, so writers that collide spread out. Bounded by the
// store's contention budget (SessionStore::ContentionBudget), a time, not a count: four
// processes changing one session at full speed all get through (docs/faults.md).
namespace {
template <typename Fn>
absl::Status RetryContended(absl::Status st, std::chrono::milliseconds budget, const std::string& what, Fn&& attempt) {
  if (!absl::IsAborted(st)) return st;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + budget;
  thread_local uint64_t seed = 0;
  if (seed == 0)
    seed = (reinterpret_cast<uintptr_t>(&seed) ^ static_cast<uint64_t>(start.time_since_epoch().count())) | 1;
  auto pause_cap = std::chrono::microseconds(50);
  int attempts = 1;
  while (absl::IsAborted(st)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return absl::AbortedError(absl::StrCat(what, " kept changing under this message for ", budget.count(),
                                             " ms (", attempts, " attempts); message not applied"));
    if (attempts > 1) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;  // xorshift64
      std::this_thread::sleep_for(std::chrono::microseconds(seed % (pause_cap.count() + 1)));
      pause_cap = std::min(pause_cap * 2, std::chrono::microseconds(5000));
    }
    ++attempts;
    st = attempt();
  }
  return st;
}
}  // namespace

namespace {
// Tells the route observers (Plugin::ObservesRoutes) where a stored turn's message went.
[[gnu::noinline]] void NotifyRoute(const PluginRegistry& plugins, const InboundMessage& message, const Outcome& out,
                                   int64_t now) {
  for (const Plugin* p : plugins.route_observers()) {
    try {
      p->OnRoute(message, out, now);
    } catch (...) {  // an observer cannot change the answer (plugin.h)
    }
  }
}
}  // namespace

absl::Status EngineImpl::Handle(const InboundMessage& message, Outcome& out) {
  // A session another process changed after this turn read it is refused by the store's
  // version-checked write; the turn then runs again on the fresh state (RetryContended).
  absl::Status st = HandleTurn(message, out);
  if (absl::IsAborted(st))
    st = RetryContended(std::move(st), sessions_->ContentionBudget(), absl::StrCat("session ", out.session_key),
                        [&] { return HandleTurn(message, out); });
  RETURN_IF_ERROR(st);
  if (out.route && !plugins_.route_observers().empty()) [[unlikely]] NotifyRoute(plugins_, message, out, clock_->NowMs());
  // Every reply leaves as valid UTF-8 without control characters (but line breaks and tabs) and
  // at most 16 KiB: a chat client never receives bytes it could misread.
  for (auto& r : out.replies)
    if (!text::IsSafeReply(r.text)) r.text = text::SafeReply(r.text);
  return absl::OkStatus();
}

// A turn reads its session from the store's cache (a shared store's cache learns of other
// processes' changes asynchronously) and then proves what it read was current with one round
// trip: a turn that stores a change does it with a version-checked write, and a command that
// stores nothing (its reply describes the session: /model status) confirms the version instead.
// Either answers Aborted when another process changed the session, and the turn runs again.
absl::Status EngineImpl::HandleTurn(const InboundMessage& message, Outcome& out) {
  TurnStore ts;
  RETURN_IF_ERROR(HandleTurnOnce(message, out, ts));
  if (!ts.plain && !ts.wrote) RETURN_IF_ERROR(sessions_->Confirm(out.agent_id, out.session_key, ts.version));
  if (events_) [[unlikely]] EmitTurnEvents(out, ts, clock_->NowMs());
  return absl::OkStatus();
}

absl::Status EngineImpl::TurnStore::Put(SessionStore& store, const Outcome& out, const SessionState& state) {
  wrote = true;
  return store.PutIfVersion(out.agent_id, out.session_key, state, version);
}

namespace {
// A directive turn's copy of its session as read (restored when a directive refuses the
// message, compared at the end), in the thread's buffers of its last turn: copying the
// session's strings into them allocates nothing once they have grown. What the copy holds
// besides its strings (the pin history block, plugin state) is let go at the end of the turn,
// so a session erased later is not kept alive by it. A nested turn on the same thread (a plugin
// that handles a message of its own) gets a copy of its own. A plain message needs no copy:
// the state it holds is empty.
class StoredCopy {
 public:
  explicit StoredCopy(const SessionState* from) {
    if (from == nullptr) {
      p_ = &own_.emplace();
      return;
    }
    if (busy_) {
      p_ = &own_.emplace(*from);
      return;
    }
    busy_ = owner_ = true;
    p_ = &buffer_;
    buffer_ = *from;
  }
  ~StoredCopy() {
    if (!owner_) return;
    buffer_.modelpin.reset();
    buffer_.plugin_state.clear();
    busy_ = false;
  }
  StoredCopy(const StoredCopy&) = delete;
  StoredCopy& operator=(const StoredCopy&) = delete;
  SessionState& get() { return *p_; }

 private:
  static thread_local SessionState buffer_;
  static thread_local bool busy_;
  bool owner_ = false;
  std::optional<SessionState> own_;
  SessionState* p_ = nullptr;
};
thread_local SessionState StoredCopy::buffer_;
thread_local bool StoredCopy::busy_ = false;
}  // namespace

// One turn, as its steps: name it, read its session, end lapsed pins, then plugin.h's steps
// (directives, a command, else a route), and store the session if it changed.
absl::Status EngineImpl::HandleTurnOnce(const InboundMessage& message, Outcome& out, TurnStore& ts) {
  NameTurn(message, default_agent_, out);
  const int64_t now = clock_->NowMs();
  ASSIGN_OR_RETURN(AgentLease agent, LeaseAgent(out.agent_id, now));

  std::lock_guard<std::mutex> session_lock(SessionLock(out.agent_id, out.session_key));
  std::string normalized, addressed;
  std::string_view text = NormalizeLineBreaks(message.text, normalized);
  bool for_other_bot = false;
  const bool plain = IsPlainText(text, config_.bot_name(), addressed, for_other_bot);
  // Read from the cache; HandleTurn proves it current (see there).
  ts.plain = plain;
  RETURN_IF_ERROR(sessions_->LoadVersioned(out.agent_id, out.session_key, out.session, ts.version,
                                           SessionStore::Read::kCached));
  // Routing rules: the first that matches gives the session its default model (the rule's view
  // of the agent) and auth order. Matched once per turn; without rules this is one check.
  const RouteRule* rule = MatchRoute(config_.routes(), out.session_key, message.channel, message.chat_type);
  const AgentView& view = rule ? config_.RuleAgent(out.agent_id, *rule) : *agent->view;
  std::string pin_notice;
  const bool ended = EndLapsedPins(out.session, *agent->view, *agent->resolver, view, now, strict_, pin_notice);
  if (!pin_notice.empty()) out.replies.push_back({std::move(pin_notice), false});
  // The session is read into out.session, and a turn changes it there. Most messages hold no
  // directive: they only route, and the route's pin rules report whether they changed the
  // session, so they need no copy of it. Directives work on out.session and keep the stored
  // state in `stored`, to restore it when they refuse the message.
  StoredCopy stored_copy(plain ? nullptr : &out.session);
  SessionState& stored = stored_copy.get();
  if (events_ && !plain) ts.before = std::make_unique<PinSelection>(stored.Selection());
  SessionState& session = out.session;
  TurnContext ctx{config_,
                  view,
                  out.agent_id,
                  out.session_key,
                  *agent->auth,
                  agent->store_label,
                  *agent->resolver,
                  now,
                  IsOwner(config_, message.sender),
                  strict_,
                  message.source,
                  session,
                  plain ? session : stored};
  ctx.env = &env_;
  ctx.orders = agent->orders.get();
  ctx.plugins = &plugins_;
  ctx.sender = message.sender;
  ctx.rule = rule;

  // A turn that ends with replies only: the session is stored if it changed, and no route.
  auto finish_without_route = [&]() -> absl::Status {
    out.route.reset();
    if (session == stored && !ended) return absl::OkStatus();
    return ts.Put(*sessions_, out, session);
  };
  // 1. Directives, in plugin order, each removed before the next plugin looks.
  // A refused message: its reply only, the session as it was (but for pins that lapsed before it).
  const size_t replies_before = out.replies.size();
  auto refuse = [&](Reply reply) -> absl::Status {
    out.replies.resize(replies_before);  // no acknowledgement of what is not stored
    out.replies.push_back(std::move(reply));
    out.session = std::move(stored);
    out.route.reset();
    if (ended) return ts.Put(*sessions_, out, out.session);
    return absl::OkStatus();
  };
  std::string cleaned, run_thinking;
  FoundDirectives found;
  PluginFailure failure;
  std::string_view remaining = plain ? text : FindDirectives(plugins_, text, ctx, cleaned, found, failure);
  if (failure) return refuse(failure.ToReply());
  // 2. Apply them on the working copy; any error (or a query) refuses the whole message.
  if (!found.empty()) {
    const bool directive_only = text::Trim(remaining).empty();
    bool stop_turn = false;
    if (std::optional<Reply> refusal =
            ApplyDirectives(found, directive_only, ctx, stored, out.replies, run_thinking, stop_turn))
      return refuse(std::move(*refusal));
    if (directive_only || stop_turn) return finish_without_route();
  }
  // 3. Commands: the cleaned text starts with '/'.
  std::string_view body = text::Trim(remaining);
  if (!for_other_bot && RunCommand(plugins_, body, ctx, out.replies, failure)) {
    if (failure) return refuse(failure.ToReply());
    return finish_without_route();
  }
  // 4. The text goes on to the model. The route's buffers are reused when `out` held one.
  Route& route = out.route ? *out.route : out.route.emplace();
  const bool pins_changed = RouteText(ctx, rule, body, run_thinking, now, route, out.replies);
  if (ended || (plain ? pins_changed : !(session == stored)))
    RETURN_IF_ERROR(ts.Put(*sessions_, out, session));
  return absl::OkStatus();
}

absl::Status EngineImpl::Inspect(const std::string& agent_id, const std::string& session_key,
                             const std::function<void(TurnContext&)>& fn) {
  std::string agent = ResolveAgent(agent_id);
  std::string key = session_key.empty() ? absl::StrCat("agent:", agent, ":main") : session_key;
  ASSIGN_OR_RETURN(auto cache, Agent(agent));
  ASSIGN_OR_RETURN(SessionState stored, sessions_->Get(agent, key));
  SessionState working = stored;
  // The session's routing rule, from its key alone (a tool has no chat to ask).
  const RouteRule* rule = MatchRoute(config_.routes(), key);
  TurnContext ctx{config_, rule ? config_.RuleAgent(agent, *rule) : config_.Agent(agent), agent, key, *cache->auth,
                  cache->store_label, *cache->resolver, clock_->NowMs(), false, strict_, MessageSource::kBot, working,
                  stored};
  ctx.orders = cache->orders.get();
  ctx.rule = rule;
  ctx.directive_only = true;
  ctx.directive_count = 1;
  ctx.env = &env_;
  ctx.plugins = &plugins_;
  fn(ctx);
  return absl::OkStatus();
}

absl::Status EngineImpl::ReportOutcome(const std::string& agent_id, const std::string& session_key,
                                   const std::string& profile_id, CallResult result) {
  static constexpr ErrorClass kClass[] = {ErrorClass::kOk, ErrorClass::kAuth, ErrorClass::kRateLimit,
                                          ErrorClass::kBilling, ErrorClass::kTimeout};
  return ReportOutcome(agent_id, session_key, CallReport{profile_id, kClass[static_cast<int>(result)], 0, ""});
}

absl::Status EngineImpl::ReportOutcome(const std::string& agent_id, const std::string& session_key,
                                   const CallReport& report) {
  std::string agent = ResolveAgent(agent_id);
  std::string path = EffectiveAuthStorePath(agent);
  if (path.empty() && !simulated_) return absl::FailedPreconditionError("no state dir: outcomes cannot be recorded");
  int64_t now = clock_->NowMs();
  // The rule (engine/auth/rotation.h) runs inside the health store's update: atomic under a file lock
  // or a Redis transaction, and re-run there when another process won the race.
  UsageStats health_before, health_after;  // with an event sink only
  std::string provider;
  // The call's cost comes from the catalog price of the model called (docs/usage-and-budgets.md).
  std::optional<ModelPrice> price;
  if (report.usage) price = config_.PriceOf(report.billed_model.empty() ? report.model : report.billed_model);
  const bool budget_events = events_ && !config_.budgets().empty();
  UsageLedger ledger_before, ledger_after;  // with budgets and an event sink only
  auto rule = [&](UsageStats& u, std::string& last_good) -> absl::Status {
    if (events_) health_before = u;
    if (budget_events) ledger_before = u.usage;
    ApplyReport(report, config_.rotation(), now, u);
    RecordCall(u.usage, now, ErrorClassName(report.error), report.usage, price);
    if (budget_events) ledger_after = u.usage;
    if (events_) health_after = u;
    if (report.error == ErrorClass::kOk) last_good = report.profile_id;
    return absl::OkStatus();
  };
  auto not_found = [&]() {
    return absl::NotFoundError(absl::StrCat("Auth profile \"", report.profile_id, "\" not found in ", path));
  };
  if (simulated_) {
    // A replay's outcomes change a copy in memory; the file (and a shared health store) is read
    // once and never written.
    std::unique_lock lock(agents_mu_);
    std::shared_ptr<const AuthStore>& slot = simulated_auth_[path];
    AuthStore copy;
    if (slot) {
      ASSIGN_OR_RETURN(copy, AuthStore::Parse(path, slot->ToJson()));
    } else {
      if (!path.empty()) {
        ASSIGN_OR_RETURN(copy, AuthStore::Load(path));
      }
      if (!health_->InAuthFile()) {
        // The shared health the engine showed so far becomes the copy's own.
        ASSIGN_OR_RETURN(AuthHealth health, health_->Read(agent));
        for (const auto& [id, u] : health.usage) copy.SetUsage(id, u);
        for (const auto& [provider, id] : health.last_good) copy.SetLastGood(provider, id);
      }
    }
    const Credential* c = copy.Find(report.profile_id);
    if (c == nullptr) return not_found();
    UsageStats u = copy.Usage(report.profile_id);
    provider = AuthProvider(c->provider);
    const std::string* stored = copy.LastGood(provider);
    std::string last_good = stored ? *stored : "";
    const std::string before = last_good;
    RETURN_IF_ERROR(rule(u, last_good));
    copy.SetUsage(report.profile_id, u);
    if (last_good != before && !last_good.empty()) copy.SetLastGood(provider, last_good);
    // Usage only grows on a report, so the copy's budget stops are computed here; the agent's
    // orders are rebuilt when the earliest of them ends (AuthOrderMemo::ValidUntil).
    ApplyBudgets(config_, agent, copy, now);
    slot = std::make_shared<const AuthStore>(std::move(copy));
    agents_.clear();
    agents_gen_.fetch_add(1, std::memory_order_release);
  } else {
    // Credentials stay in the file; only the health change goes through the health store.
    ASSIGN_OR_RETURN(AuthStore credentials, AuthStore::Load(path));
    const Credential* c = credentials.Find(report.profile_id);
    if (c == nullptr) return not_found();
    provider = AuthProvider(c->provider);
    RETURN_IF_ERROR(health_->Update(agent, report.profile_id, provider, rule));
    std::unique_lock lock(agents_mu_);
    agents_.erase(agent);  // reload on next use
    agents_gen_.fetch_add(1, std::memory_order_release);
  }
  if (events_) EmitHealthChange(*this, agent, session_key, report, provider, health_before, health_after, now);
  if (budget_events) {
    // The other profiles' usage as this engine last read it (one read of the agent's health).
    auto cache = Agent(agent, now);
    if (cache.ok()) {
      for (const BudgetCrossing& c : BudgetCrossings(config_, agent, *(*cache)->auth, report.profile_id, provider,
                                                     ledger_before, ledger_after, now)) {
        Event e{NewEventId(), now, c.exhausted ? EventKind::kBudgetExhausted : EventKind::kBudgetWarning, agent,
                session_key, {{"profile", report.profile_id}, {"provider", provider}}};
        e.fields.emplace_back("budget", c.budget->Describe());
        e.fields.emplace_back("scope", std::string(BudgetScopeName(c.budget->scope)));
        e.fields.emplace_back("target", c.budget->target);
        e.fields.emplace_back("window", std::string(UsageWindowName(c.budget->window)));
        e.fields.emplace_back("used", absl::StrCat(c.used));
        e.fields.emplace_back("limit", absl::StrCat(c.budget->limit));
        if (c.exhausted) e.fields.emplace_back("until", FormatUtc(c.until));
        events_->OnEvent(e);
      }
    }
  }
  for (const Plugin* p : plugins_.outcome_observers()) {
    try {
      p->OnOutcome(agent, session_key, report, provider, now);
    } catch (...) {  // an observer cannot change the outcome (plugin.h)
    }
  }
  const bool success = report.error == ErrorClass::kOk;
  if (success && !session_key.empty()) {
    // A run that started on the switched model settles the switch.
    auto settle = [&]() -> absl::Status {
      std::lock_guard<std::mutex> session_lock(SessionLock(agent, session_key));
      SessionState s;
      uint64_t version = 0;
      RETURN_IF_ERROR(sessions_->LoadVersioned(agent, session_key, s, version));
      if (!s.live_model_switch_pending) return absl::OkStatus();
      s.live_model_switch_pending.reset();
      return sessions_->PutIfVersion(agent, session_key, s, version);
    };
    RETURN_IF_ERROR(RetryContended(settle(), sessions_->ContentionBudget(), absl::StrCat("session ", session_key), settle));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, ProfileHealth>> EngineImpl::RouteHealth(const std::string& agent_id,
                                                                        const Route& route) {
  std::vector<std::pair<std::string, ProfileHealth>> out;
  int64_t now = clock_->NowMs();
  auto cache = Agent(ResolveAgent(agent_id), now);
  if (!cache.ok()) return out;
  const AuthStore& store = *(*cache)->auth;
  // The model's label is read only by model cooldowns: built once, when a profile has one.
  std::string label;
  auto model_of = [&](const UsageStats& u) -> std::string_view {
    if (u.model_cooldowns.empty()) return {};
    if (label.empty()) label = route.model.Label();
    return label;
  };
  out.reserve(route.profiles.size());
  for (const auto& id : route.profiles) {
    const UsageStats& u = store.Usage(id);
    out.emplace_back(id, DescribeHealth(u, model_of(u), now));
  }
  const AuthOrderMemo& orders = *(*cache)->orders;
  if (orders.HasModelCooldowns() && label.empty()) label = route.model.Label();
  const AuthOrder& order = orders.For(route.model.provider, label, now, config_.FindRoute(route.rule));
  for (const auto& [id, why] : order.excluded) {
    if (std::find(route.profiles.begin(), route.profiles.end(), id) != route.profiles.end()) continue;
    const UsageStats& u = store.Usage(id);
    ProfileHealth h = DescribeHealth(u, model_of(u), now);
    h.state = why == "token expired" ? ProfileHealth::State::kExpired : ProfileHealth::State::kIneligible;
    h.reason = why;
    out.emplace_back(id, std::move(h));
  }
  return out;
}

void EngineImpl::Simulate(std::shared_ptr<const Clock> clock) {
  std::unique_lock lock(agents_mu_);
  clock_ = std::move(clock);
  created_ms_ = clock_->NowMs();
  simulated_ = true;
  agents_.clear();
  agents_gen_.fetch_add(1, std::memory_order_release);
}

}  // namespace modelpin
