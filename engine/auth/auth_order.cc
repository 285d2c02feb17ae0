#include <modelpin/engine/auth/auth_order.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include <modelpin/base/digest.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/env_credentials.h>

namespace modelpin {
namespace {

int TypeRank(const std::string& type) {
  if (type == "oauth") return 0;
  if (type == "token") return 1;
  if (type == "api_key") return 2;
  return 3;
}

// Non-explicit order: usable profiles by type, expired OAuth last, then by the provider's strategy
// (OpenClaw's round robin: least recently used first); then the ones cooling down, soonest
// available first. Stable, so ties keep the base order.
void SortAutomatic(std::vector<std::string>& ids, const AuthStore& store, const AuthOrderInput& in, Strategy strategy,
                   uint64_t seed, double threshold, std::vector<std::string>* low) {
  struct Row {
    std::string id;
    bool cooling;
    int rank;
    bool expired_oauth;
    uint64_t key;  // the strategy's sort key
    int64_t last_used;
    int64_t cooldown_end;
    bool low = false;   // quota_aware: under the threshold
    double left = 0;    // quota_aware: the share of quota left (1 without a report)
  };
  int64_t provider_uses = 0;
  bool quota_known = false;  // quota_aware: some profile has a reported quota
  for (const auto& id : ids) {
    UsageStats u = store.Usage(id);
    provider_uses += u.use_count;
    if (u.limits && u.limits->LeftFraction(in.now_ms)) quota_known = true;
  }
  std::vector<Row> rows;
  for (const auto& id : ids) {
    const Credential* c = store.Find(id);
    UsageStats u = store.Usage(id);
    bool expired_oauth = c && c->type == "oauth" && c->expires && *c->expires <= in.now_ms;
    uint64_t key = 0;
    switch (strategy) {
      case Strategy::kRoundRobin: key = static_cast<uint64_t>(u.last_used); break;
      case Strategy::kFillFirst: key = 0; break;
      case Strategy::kLeastUsed: key = static_cast<uint64_t>(u.use_count); break;
      // Without any reported quota, least_used; with one, the tie-break among equal shares.
      case Strategy::kQuotaAware: key = static_cast<uint64_t>(u.use_count); break;
      case Strategy::kRandom: {
        // FNV-1a over the seed, the id and how often the provider was used: a new draw after
        // each successful call, the same draw in every replay.
        uint64_t h = 1469598103934665603ULL ^ seed;
        auto mix = [&](uint64_t b) { h = (h ^ b) * 1099511628211ULL; };
        for (char ch : id) mix(static_cast<unsigned char>(ch));
        for (int i = 0; i < 8; ++i) mix(static_cast<uint64_t>(provider_uses) >> (8 * i) & 0xff);
        key = h;
        break;
      }
    }
    int64_t cool = CoolingUntil(u, in.model, in.now_ms);
    // fill_first keeps the base order: no tie-break by last use.
    int64_t last_used = strategy == Strategy::kFillFirst ? 0 : u.last_used;
    rows.push_back({id, cool > 0, TypeRank(c ? c->type : ""), expired_oauth, key, last_used, cool});
    if (strategy == Strategy::kQuotaAware && quota_known) {
      // A profile the provider said nothing about counts as full.
      rows.back().left = u.limits ? u.limits->LeftFraction(in.now_ms).value_or(1.0) : 1.0;
      rows.back().low = rows.back().left < threshold;
      if (rows.back().low && cool == 0 && low) low->push_back(id);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.cooling != b.cooling) return !a.cooling;
    if (a.cooling) return a.cooldown_end < b.cooldown_end;
    // quota_aware: profiles under the threshold last, then the most quota left first.
    if (a.low != b.low) return !a.low;
    if (a.left != b.left) return a.left > b.left;
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.expired_oauth != b.expired_oauth) return !a.expired_oauth;
    if (a.key != b.key) return a.key < b.key;
    return a.last_used < b.last_used;
  });
  for (size_t i = 0; i < rows.size(); ++i) ids[i] = rows[i].id;
}

// Explicit order: kept as given, except that profiles cooling down go last by cooldown end.
void SortExplicit(std::vector<std::string>& ids, const AuthStore& store, const AuthOrderInput& in) {
  auto until = [&](const std::string& id) { return CoolingUntil(store.Usage(id), in.model, in.now_ms); };
  auto first_cooling = std::stable_partition(ids.begin(), ids.end(), [&](const std::string& id) { return until(id) == 0; });
  std::stable_sort(first_cooling, ids.end(), [&](const std::string& a, const std::string& b) { return until(a) < until(b); });
}

}  // namespace

bool SameAuthProvider(std::string_view a, std::string_view b) {
  auto canonical = [](std::string_view p) -> std::string_view {
    return p == "claude-cli" ? std::string_view("anthropic") : p;
  };
  a = canonical(a);
  b = canonical(b);
  if (a.size() != b.size()) return AuthProvider(a) == AuthProvider(b);  // case-folding may still match
  for (size_t i = 0; i < a.size(); ++i)
    if (text::LowerAscii(a[i]) != text::LowerAscii(b[i])) return false;
  return true;
}

std::string_view ProfileProvider(const std::string& id, const Config& config, const AuthStore& store) {
  if (const Credential* c = store.Find(id)) return c->provider;
  if (const AuthProfileConfig* p = config.AuthProfile(id); p && !p->provider.empty()) return p->provider;
  return std::string_view(id).substr(0, id.find(':'));
}

bool IsEligible(const Credential& c, const std::string& provider, const Config& config, int64_t now_ms,
                std::string* why) {
  auto no = [&](const char* reason) {
    if (why) *why = reason;
    return false;
  };
  if (!SameAuthProvider(c.provider, provider)) return no("stored for another provider");
  if (const AuthProfileConfig* pc = config.AuthProfile(c.id)) {
    if (!pc->provider.empty() && !SameAuthProvider(pc->provider, provider))
      return no("config auth.profiles names another provider");
    bool mode_ok = pc->mode.empty() || pc->mode == c.type || (pc->mode == "oauth" && c.type == "token");
    if (!mode_ok) return no("config mode differs from the stored credential type");
  }
  if (c.secret.empty() && !c.has_secret_ref) return no("no secret stored");
  if (c.type == "token" && c.expires && *c.expires <= now_ms) return no("token expired");
  return true;
}

AuthOrder ResolveAuthOrder(const AuthOrderInput& in) {
  const Config& config = *in.config;
  const AuthStore& store = *in.store;
  const std::string provider = AuthProvider(in.provider);
  AuthOrder out;

  // 1. Explicit order: a routing rule's for its sessions, else the agent's stored override, else
  // config auth.order (mapped key, then raw).
  const std::vector<std::string>* explicit_ids = in.rule_order;
  if (explicit_ids == nullptr) explicit_ids = store.Order(provider);
  if (explicit_ids == nullptr) explicit_ids = store.Order(in.provider);
  if (in.rule_order) {
    out.source = AuthOrder::Source::kRule;
  } else if (explicit_ids) {
    out.source = AuthOrder::Source::kStored;
  } else {
    explicit_ids = config.AuthOrder(provider);
    if (explicit_ids == nullptr) explicit_ids = config.AuthOrder(in.provider);
    if (explicit_ids) out.source = AuthOrder::Source::kConfig;
  }
  out.explicit_order = explicit_ids != nullptr;

  // 2. Base list.
  std::vector<std::string> base;
  bool config_lists_provider = false;
  for (const auto& p : config.auth_profiles())
    if (AuthProvider(p.provider) == provider) config_lists_provider = true;
  if (explicit_ids) {
    for (const auto& id : *explicit_ids)
      if (std::find(base.begin(), base.end(), id) == base.end()) base.push_back(id);
  } else if (config_lists_provider) {
    out.source = AuthOrder::Source::kConfiguredProfiles;
    for (const auto& p : config.auth_profiles())
      if (AuthProvider(p.provider) == provider) base.push_back(p.id);
  } else {
    out.source = AuthOrder::Source::kStoreProfiles;
    for (const auto& c : store.profiles())
      if (AuthProvider(c.provider) == provider) base.push_back(c.id);
  }

  // 3. Eligibility.
  bool all_absent = true;
  for (const auto& id : base) {
    const Credential* c = store.Find(id);
    if (c == nullptr) {
      out.excluded.emplace_back(id, "not in the auth store");
      continue;
    }
    all_absent = false;
    std::string why;
    if (IsEligible(*c, provider, config, in.now_ms, &why)) out.ids.push_back(id);
    else out.excluded.emplace_back(id, why);
  }
  bool fallback = false;
  if (out.ids.empty() && all_absent && !base.empty() &&
      (out.source == AuthOrder::Source::kStored || config_lists_provider)) {
    fallback = true;
    out.source = AuthOrder::Source::kFallback;
    for (const auto& c : store.profiles()) {
      if (AuthProvider(c.provider) != provider) continue;
      std::string why;
      if (IsEligible(c, provider, config, in.now_ms, &why)) out.ids.push_back(c.id);
      else out.excluded.emplace_back(c.id, why);
    }
  }

  // 4. Order.
  out.strategy = config.rotation().StrategyFor(provider);
  if (explicit_ids && !fallback) SortExplicit(out.ids, store, in);
  else
    SortAutomatic(out.ids, store, in, out.strategy, config.rotation().seed, config.rotation().quota_threshold,
                  &out.low_quota);
  for (const auto& id : out.ids)
    if (IsCoolingDown(store.Usage(id), in.model, in.now_ms)) out.cooling.push_back(id);
  return out;
}

AuthOrderMemo::AuthOrderMemo(const Config* config, const AuthStore* store, int64_t now_ms)
    : config_(config), store_(store), valid_until_(std::numeric_limits<int64_t>::max()) {
  auto consider = [&](int64_t t) {
    if (t > now_ms && t < valid_until_) valid_until_ = t;
  };
  // quota_aware orders change when a reported quota window resets.
  bool quota_aware = false;
  for (const auto& [provider, s] : config->rotation().strategy) quota_aware |= s == Strategy::kQuotaAware;
  for (const auto& c : store->profiles()) {
    if (c.expires) consider(*c.expires);
    UsageStats u = store->Usage(c.id);
    consider(u.cooldown_until);
    consider(u.disabled_until);
    consider(u.budget_until);
    if (quota_aware && u.limits)
      for (const QuotaWindow* w : {&u.limits->requests, &u.limits->tokens, &u.limits->input_tokens,
                                   &u.limits->output_tokens})
        if (w->known()) consider(w->reset_at);
    for (const auto& [model, until] : u.model_cooldowns) {
      consider(until);
      if (until > now_ms) model_cooldowns_ = true;
    }
  }
}

const AuthOrder& AuthOrderMemo::For(const std::string& provider, std::string_view model, int64_t now_ms,
                                    const RouteRule* rule) const {
  // A rule's order is looked up outside the lock; sessions without a rule skip this.
  const std::vector<std::string>* rule_order = rule ? rule->OrderFor(provider) : nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  // Without model cooldowns every model of a provider shares one order (the common case). A
  // rule's orders are kept under their own key ("\x1f" and the rule's index cannot occur in a
  // provider id; short enough to stay in the string's own buffer for most providers), so they go
  // when the memo goes: when the auth store changes.
  std::string_view key = provider;
  std::string keyed;
  if ((model_cooldowns_ && !model.empty()) || rule_order) {
    keyed = provider;
    if (model_cooldowns_ && !model.empty()) keyed.append("\n").append(model);
    if (rule_order) {
      keyed.push_back('\x1f');
      absl::StrAppend(&keyed, rule->index);
    }
    key = keyed;
  }
  if (last_ != nullptr && key == last_key_) return *last_;
  auto it = orders_.find(key);
  if (it == orders_.end()) {
    AuthOrderInput in{config_, store_, provider, now_ms, model_cooldowns_ ? std::string(model) : std::string(),
                      rule_order};
    it = orders_.emplace(std::string(key), std::make_unique<const AuthOrder>(ResolveAuthOrder(in))).first;
  }
  last_key_.assign(key);
  last_ = it->second.get();
  return *last_;
}

namespace {

// The key's type prefix: up to 3 groups of ASCII letters each ending in '-' or '_', at most 12
// bytes, and never more than a third of the secret ("sk-ant-api03-..." -> "sk-ant-").
std::string_view TypePrefix(std::string_view s) {
  size_t end = 0, groups = 0, i = 0;
  while (groups < 3) {
    size_t j = i;
    while (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) ++j;
    if (j == i || j >= s.size() || (s[j] != '-' && s[j] != '_') || j + 1 > 12) break;
    end = i = j + 1;
    ++groups;
  }
  if (end * 3 > s.size()) return {};
  return s.substr(0, end);
}

}  // namespace

std::string Fingerprint(std::string_view bytes) {
  std::array<uint8_t, 32> d = Sha256(bytes);  // base/digest.h: libcrypto
  return Hex(d.data(), 4);
}

std::string MaskSecret(std::string_view secret, MaskingMode mode) {
  std::string clean;
  for (char c : secret)
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) clean += c;
  std::string_view s = text::Trim(clean);
  if (s.empty()) return "";
  switch (mode) {
    case MaskingMode::kCompat: break;
    case MaskingMode::kPrefix: return std::string(TypePrefix(s)) + "...";
    case MaskingMode::kFingerprint: return absl::StrCat("fp:", Fingerprint(s));
  }
  auto cut = [&](size_t n) { return std::string(s.substr(0, n)) + "..." + std::string(s.substr(s.size() - n)); };
  if (s.size() <= 6) return cut(1);
  if (s.size() <= 16) return cut(2);
  return cut(8);
}

std::string MaskedCredential(const Credential& c, MaskingMode mode, CredentialLabel label) {
  if (c.secret.empty()) return c.has_secret_ref ? "ref" : "missing";
  if (label == CredentialLabel::kSecretOnly) return MaskSecret(c.secret, mode);
  if (c.type == "token") return "token:" + MaskSecret(c.secret, mode);
  if (c.type == "oauth") return c.email.empty() ? "OAuth" : "OAuth (" + c.email + ")";
  return MaskSecret(c.secret, mode);
}

std::string MaskedCredential(const EnvCredential& c, MaskingMode mode) { return MaskSecret(c.value, mode); }

std::string FormatRemaining(int64_t ms) {
  if (ms < 60'000) return "soon";
  int64_t minutes = static_cast<int64_t>(std::llround(static_cast<double>(ms) / 60'000.0));
  if (minutes < 60) return std::to_string(minutes) + "m";
  int64_t hours = static_cast<int64_t>(std::llround(static_cast<double>(ms) / 3'600'000.0));
  if (hours < 48) return std::to_string(hours) + "h";
  return std::to_string(static_cast<int64_t>(std::llround(static_cast<double>(ms) / 86'400'000.0))) + "d";
}

}  // namespace modelpin
