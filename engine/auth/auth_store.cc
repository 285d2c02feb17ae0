#include <modelpin/engine/auth/auth_store.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>

namespace modelpin {
namespace {

using rapidjson::Value;

const Value* Member(const Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

std::string Str(const Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

// What is wrong with an object of numbers at `path` (failureCounts, modelCooldowns, a limits
// window), if anything: the JSON path and why.
std::optional<std::pair<std::string, std::string>> NumbersProblem(const Value& v, const std::string& path) {
  if (!v.IsObject()) return std::make_pair(path, std::string("expected an object of numbers"));
  for (auto n = v.MemberBegin(); n != v.MemberEnd(); ++n)
    if (!n->value.IsNumber()) return std::make_pair(JoinPath(path, Str(n->name)), std::string("expected a number"));
  return std::nullopt;
}

// What is wrong with a profile's usage ledger at `path` (usageStats.<id>.usage), if anything:
// an object of numbers, "failureCounts" an object of numbers, "hours" and "days" arrays of
// [start, calls, failures, input, output, cacheRead, cacheWrite, costUsd, unpriced].
std::optional<std::pair<std::string, std::string>> UsageLedgerProblem(const Value& v, const std::string& path) {
  if (!v.IsObject()) return std::make_pair(path, std::string("expected an object"));
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string key = Str(m->name), at = JoinPath(path, key);
    if (key == "hours" || key == "days") {
      if (!m->value.IsArray()) return std::make_pair(at, std::string("expected an array of buckets"));
      for (rapidjson::SizeType i = 0; i < m->value.Size(); ++i) {
        const Value& b = m->value[i];
        bool ok = b.IsArray() && b.Size() == 9;
        for (rapidjson::SizeType k = 0; ok && k < b.Size(); ++k) ok = b[k].IsNumber();
        if (!ok)
          return std::make_pair(absl::StrCat(at, "[", i, "]"),
                                std::string("expected [start, calls, failures, input, output, cacheRead, "
                                            "cacheWrite, costUsd, unpriced]"));
      }
    } else if (key == "failureCounts") {
      if (auto problem = NumbersProblem(m->value, at)) return problem;
    } else if (!m->value.IsNumber()) {
      return std::make_pair(at, std::string("expected a number"));
    }
  }
  return std::nullopt;
}

// What is wrong with a `limits` object at `path`: windows of numbers, and "at".
std::optional<std::pair<std::string, std::string>> LimitsProblem(const Value& v, const std::string& path) {
  if (!v.IsObject()) return std::make_pair(path, std::string("expected an object"));
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string at = JoinPath(path, Str(m->name));
    if (m->value.IsNull() || m->value.IsNumber()) continue;
    if (auto problem = NumbersProblem(m->value, at)) return problem;
  }
  return std::nullopt;
}

// What is wrong with one profile's stats object at `path` (the JSON path and why), if anything:
// the one place its fields' types are checked, for the file and for a shared store alike.
std::optional<std::pair<std::string, std::string>> UsageStatsProblem(const Value& v, const std::string& path) {
  if (!v.IsObject()) return std::make_pair(path, std::string("expected an object"));
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string key = Str(m->name), at = JoinPath(path, key);
    if (m->value.IsNull()) continue;
    if (key == "usage") {
      if (auto problem = UsageLedgerProblem(m->value, at)) return problem;
      continue;
    }
    if (key == "disabledReason") {
      if (!m->value.IsString()) return std::make_pair(at, std::string("expected a string"));
    } else if (key == "limits") {
      if (auto problem = LimitsProblem(m->value, at)) return problem;
    } else if (key == "failureCounts" || key == "modelCooldowns") {
      if (auto problem = NumbersProblem(m->value, at)) return problem;
    } else if (!m->value.IsNumber()) {
      return std::make_pair(at, std::string("expected a number"));
    }
  }
  return std::nullopt;
}

// Checks the document's shape, so later reads can trust the types.
absl::Status Validate(const JsonFile& f) {
  const Value& root = f.doc;
  if (!root.IsObject()) return f.Error("$", "expected an object");
  if (const Value* v = Member(root, "version"); v && !v->IsNumber()) return f.Error("$.version", "expected a number");
  if (const Value* profiles = Member(root, "profiles")) {
    if (!profiles->IsObject()) return f.Error("$.profiles", "expected an object of profiles");
    for (auto it = profiles->MemberBegin(); it != profiles->MemberEnd(); ++it) {
      std::string path = JoinPath("$.profiles", Str(it->name));
      const Value& p = it->value;
      if (!p.IsObject()) return f.Error(path, "expected an object");
      for (const char* key : {"type", "provider"}) {
        const Value* v = Member(p, key);
        if (v == nullptr) return f.Error(path, absl::StrCat("missing \"", key, "\""));
        if (!v->IsString()) return f.Error(path + "." + key, "expected a string");
      }
      for (const char* key : {"key", "token", "access", "refresh", "email"}) {
        const Value* v = Member(p, key);
        if (v && !v->IsString()) return f.Error(path + "." + key, "expected a string");
      }
      if (const Value* v = Member(p, "expires"); v && !v->IsNumber())
        return f.Error(path + ".expires", "expected a number (ms since the epoch)");
    }
  }
  if (const Value* order = Member(root, "order")) {
    if (!order->IsObject()) return f.Error("$.order", "expected an object of provider -> [profile ids]");
    for (auto it = order->MemberBegin(); it != order->MemberEnd(); ++it) {
      std::string path = JoinPath("$.order", Str(it->name));
      if (!it->value.IsArray()) return f.Error(path, "expected an array of profile ids");
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i)
        if (!it->value[i].IsString()) return f.Error(absl::StrCat(path, "[", i, "]"), "expected a string");
    }
  }
  if (const Value* lg = Member(root, "lastGood")) {
    if (!lg->IsObject()) return f.Error("$.lastGood", "expected an object of provider -> profile id");
    for (auto it = lg->MemberBegin(); it != lg->MemberEnd(); ++it)
      if (!it->value.IsString()) return f.Error(JoinPath("$.lastGood", Str(it->name)), "expected a string");
  }
  if (const Value* us = Member(root, "usageStats")) {
    if (!us->IsObject()) return f.Error("$.usageStats", "expected an object");
    for (auto it = us->MemberBegin(); it != us->MemberEnd(); ++it) {
      std::string path = JoinPath("$.usageStats", Str(it->name));
      if (auto problem = UsageStatsProblem(it->value, path)) return f.Error(problem->first, problem->second);
    }
  }
  return absl::OkStatus();
}

int64_t Int(const Value* v) { return v && v->IsNumber() ? static_cast<int64_t>(v->GetDouble()) : 0; }

// The ledger's JSON: the totals' counters by name, buckets as rows of numbers (compact: a shared
// store writes the whole ledger on every reported call).
constexpr const char* kCounterNames[] = {"calls", "failures", "input", "output", "cacheRead", "cacheWrite",
                                         "costUsd", "unpriced"};

void SetCounter(UsageCounts& c, size_t i, const Value& v) {
  int64_t n = v.IsNumber() ? static_cast<int64_t>(v.GetDouble()) : 0;
  switch (i) {
    case 0: c.calls = n; break;
    case 1: c.failures = n; break;
    case 2: c.tokens.input = n; break;
    case 3: c.tokens.output = n; break;
    case 4: c.tokens.cache_read = n; break;
    case 5: c.tokens.cache_write = n; break;
    case 6: c.cost_usd = v.IsNumber() ? v.GetDouble() : 0; break;
    case 7: c.unpriced = n; break;
  }
}

Value CounterJson(const UsageCounts& c, size_t i) {
  switch (i) {
    case 0: return Value(static_cast<int64_t>(c.calls));
    case 1: return Value(static_cast<int64_t>(c.failures));
    case 2: return Value(static_cast<int64_t>(c.tokens.input));
    case 3: return Value(static_cast<int64_t>(c.tokens.output));
    case 4: return Value(static_cast<int64_t>(c.tokens.cache_read));
    case 5: return Value(static_cast<int64_t>(c.tokens.cache_write));
    case 6: return Value(c.cost_usd);
    default: return Value(static_cast<int64_t>(c.unpriced));
  }
}

UsageLedger ParseLedger(const Value& v) {
  UsageLedger l;
  for (size_t i = 0; i < std::size(kCounterNames); ++i)
    if (const Value* n = Member(v, kCounterNames[i])) SetCounter(l.total, i, *n);
  if (const Value* fc = Member(v, "failureCounts"); fc && fc->IsObject())
    for (auto it = fc->MemberBegin(); it != fc->MemberEnd(); ++it) l.failures_by_class[Str(it->name)] = Int(&it->value);
  auto buckets = [&](const char* key, std::vector<UsageBucket>& out) {
    const Value* list = Member(v, key);
    if (list == nullptr || !list->IsArray()) return;
    for (const auto& row : list->GetArray()) {
      UsageBucket b;
      b.start_ms = Int(&row[0]);
      for (size_t i = 0; i < std::size(kCounterNames); ++i) SetCounter(b.counts, i, row[static_cast<rapidjson::SizeType>(i + 1)]);
      out.push_back(b);
    }
  };
  buckets("hours", l.hours);
  buckets("days", l.days);
  return l;
}

Value LedgerJson(const UsageLedger& l, rapidjson::Document::AllocatorType& alloc) {
  Value v(rapidjson::kObjectType);
  for (size_t i = 0; i < std::size(kCounterNames); ++i) v.AddMember(rapidjson::StringRef(kCounterNames[i]), CounterJson(l.total, i), alloc);
  if (!l.failures_by_class.empty()) {
    Value fc(rapidjson::kObjectType);
    for (const auto& [k, n] : l.failures_by_class) fc.AddMember(Value(k, alloc), Value(static_cast<int64_t>(n)), alloc);
    v.AddMember("failureCounts", fc, alloc);
  }
  auto buckets = [&](const char* key, const std::vector<UsageBucket>& in) {
    Value list(rapidjson::kArrayType);
    for (const UsageBucket& b : in) {
      Value row(rapidjson::kArrayType);
      row.PushBack(Value(static_cast<int64_t>(b.start_ms)), alloc);
      for (size_t i = 0; i < std::size(kCounterNames); ++i) row.PushBack(CounterJson(b.counts, i), alloc);
      list.PushBack(row, alloc);
    }
    v.AddMember(rapidjson::StringRef(key), list, alloc);
  };
  buckets("hours", l.hours);
  buckets("days", l.days);
  return v;
}

}  // namespace

std::optional<double> ProviderLimits::LeftFraction(int64_t now) const {
  std::optional<double> left;
  for (const QuotaWindow* w : {&requests, &tokens, &input_tokens, &output_tokens}) {
    if (!w->known()) continue;
    double f = w->reset_at && w->reset_at <= now ? 1.0 : std::min(1.0, static_cast<double>(w->remaining) / static_cast<double>(w->limit));
    left = left ? std::min(*left, f) : f;
  }
  return left;
}

std::string ProviderLimits::Text(int64_t now) const {
  std::string out;
  auto window = [&](const char* name, const QuotaWindow& w) {
    if (!w.known()) return;
    int64_t remaining = w.reset_at && w.reset_at <= now ? w.limit : w.remaining;
    absl::StrAppend(&out, out.empty() ? "" : ", ", name, " ", remaining, "/", w.limit);
  };
  window("requests", requests);
  window("tokens", tokens);
  window("input tokens", input_tokens);
  window("output tokens", output_tokens);
  return out;
}

absl::StatusOr<UsageStats> ParseUsageStats(const Value& v, std::string_view path) {
  if (auto problem = UsageStatsProblem(v, std::string(path)))
    return absl::InvalidArgumentError(absl::StrCat(problem->first, ": ", problem->second));
  UsageStats u;
  u.last_used = Int(Member(v, "lastUsed"));
  u.cooldown_until = Int(Member(v, "cooldownUntil"));
  u.disabled_until = Int(Member(v, "disabledUntil"));
  if (const Value* r = Member(v, "disabledReason"); r && r->IsString()) u.disabled_reason = Str(*r);
  u.error_count = static_cast<int>(Int(Member(v, "errorCount")));
  u.last_failure_at = Int(Member(v, "lastFailureAt"));
  u.use_count = Int(Member(v, "useCount"));
  if (const Value* fc = Member(v, "failureCounts"); fc && fc->IsObject())
    for (auto it = fc->MemberBegin(); it != fc->MemberEnd(); ++it) u.failure_counts[Str(it->name)] = static_cast<int>(Int(&it->value));
  if (const Value* mc = Member(v, "modelCooldowns"); mc && mc->IsObject())
    for (auto it = mc->MemberBegin(); it != mc->MemberEnd(); ++it) u.model_cooldowns[Str(it->name)] = Int(&it->value);
  if (const Value* l = Member(v, "usage"); l && l->IsObject()) u.usage = ParseLedger(*l);
  if (const Value* l = Member(v, "limits"); l && l->IsObject()) {
    ProviderLimits limits;
    auto window = [&](const char* name, QuotaWindow& w) {
      const Value* x = Member(*l, name);
      if (x == nullptr || !x->IsObject()) return;
      if (const Value* n = Member(*x, "limit")) w.limit = Int(n);
      if (const Value* n = Member(*x, "remaining")) w.remaining = Int(n);
      w.reset_at = Int(Member(*x, "resetAt"));
    };
    window("requests", limits.requests);
    window("tokens", limits.tokens);
    window("inputTokens", limits.input_tokens);
    window("outputTokens", limits.output_tokens);
    limits.reported_at = Int(Member(*l, "at"));
    u.limits = limits;
  }
  u.last_probe_at = Int(Member(v, "lastProbeAt"));
  u.probe_failures = static_cast<int>(Int(Member(v, "probeFailures")));
  return u;
}

Value UsageStatsJson(const UsageStats& u, rapidjson::Document::AllocatorType& alloc) {
  Value v(rapidjson::kObjectType);
  auto add = [&](const char* key, int64_t n) { v.AddMember(rapidjson::StringRef(key), Value(static_cast<int64_t>(n)), alloc); };
  add("lastUsed", u.last_used);
  if (u.cooldown_until) add("cooldownUntil", u.cooldown_until);
  if (u.disabled_until) add("disabledUntil", u.disabled_until);
  if (!u.disabled_reason.empty()) v.AddMember("disabledReason", Value(u.disabled_reason, alloc), alloc);
  add("errorCount", u.error_count);
  if (!u.failure_counts.empty()) {
    Value fc(rapidjson::kObjectType);
    for (const auto& [k, n] : u.failure_counts) fc.AddMember(Value(k, alloc), Value(n), alloc);
    v.AddMember("failureCounts", fc, alloc);
  }
  if (u.last_failure_at) add("lastFailureAt", u.last_failure_at);
  if (!u.model_cooldowns.empty()) {
    Value mc(rapidjson::kObjectType);
    for (const auto& [k, t] : u.model_cooldowns) mc.AddMember(Value(k, alloc), Value(static_cast<int64_t>(t)), alloc);
    v.AddMember("modelCooldowns", mc, alloc);
  }
  if (u.use_count) add("useCount", u.use_count);
  if (!u.usage.empty()) v.AddMember("usage", LedgerJson(u.usage, alloc), alloc);
  if (u.limits) {
    Value l(rapidjson::kObjectType);
    auto window = [&](const char* name, const QuotaWindow& w) {
      if (w.limit < 0 && w.remaining < 0 && w.reset_at == 0) return;
      Value x(rapidjson::kObjectType);
      if (w.limit >= 0) x.AddMember("limit", Value(static_cast<int64_t>(w.limit)), alloc);
      if (w.remaining >= 0) x.AddMember("remaining", Value(static_cast<int64_t>(w.remaining)), alloc);
      if (w.reset_at) x.AddMember("resetAt", Value(static_cast<int64_t>(w.reset_at)), alloc);
      l.AddMember(rapidjson::StringRef(name), x, alloc);
    };
    window("requests", u.limits->requests);
    window("tokens", u.limits->tokens);
    window("inputTokens", u.limits->input_tokens);
    window("outputTokens", u.limits->output_tokens);
    if (u.limits->reported_at) l.AddMember("at", Value(static_cast<int64_t>(u.limits->reported_at)), alloc);
    v.AddMember("limits", l, alloc);
  }
  if (u.last_probe_at) add("lastProbeAt", u.last_probe_at);
  if (u.probe_failures) add("probeFailures", u.probe_failures);
  return v;
}

AuthStore::AuthStore() : doc_(std::make_unique<rapidjson::Document>()) {
  doc_->SetObject();
  doc_->AddMember("version", 1, doc_->GetAllocator());
}
AuthStore::AuthStore(AuthStore&&) noexcept = default;
AuthStore& AuthStore::operator=(AuthStore&&) noexcept = default;
AuthStore::~AuthStore() = default;

absl::StatusOr<AuthStore> AuthStore::Load(const std::string& path) {
  auto file = JsonFile::Load(path);
  if (absl::IsNotFound(file.status())) {
    AuthStore empty;
    empty.path_ = path;
    return empty;
  }
  if (!file.ok()) return file.status();
  ASSIGN_OR_RETURN(AuthStore s, Parse(path, std::move(file->text)));
  return s;
}

absl::StatusOr<AuthStore> AuthStore::Parse(const std::string& name, std::string text) {
  ASSIGN_OR_RETURN(JsonFile f, JsonFile::Parse(name, std::move(text)));
  RETURN_IF_ERROR(Validate(f));
  AuthStore s;
  s.path_ = name;
  s.exists_ = true;
  s.doc_ = std::make_unique<rapidjson::Document>();
  s.doc_->CopyFrom(f.doc, s.doc_->GetAllocator());
  s.Rebuild();
  return s;
}

void AuthStore::Rebuild() {
  profiles_.clear();
  order_.clear();
  last_good_.clear();
  usage_.clear();
  const Value& root = *doc_;
  if (const Value* profiles = Member(root, "profiles")) {
    for (auto it = profiles->MemberBegin(); it != profiles->MemberEnd(); ++it) {
      const Value& p = it->value;
      Credential c;
      c.id = Str(it->name);
      c.type = Str(p["type"]);
      c.provider = Str(p["provider"]);
      const char* secret_key = c.type == "api_key" ? "key" : c.type == "token" ? "token" : "access";
      if (const Value* v = Member(p, secret_key)) c.secret = Str(*v);
      c.has_secret_ref = Member(p, "keyRef") != nullptr || Member(p, "tokenRef") != nullptr;
      if (const Value* v = Member(p, "refresh")) c.refresh = Str(*v);
      if (const Value* v = Member(p, "email")) c.email = Str(*v);
      if (const Value* v = Member(p, "expires")) c.expires = static_cast<int64_t>(v->GetDouble());
      profiles_.push_back(std::move(c));
    }
  }
  if (const Value* order = Member(root, "order")) {
    for (auto it = order->MemberBegin(); it != order->MemberEnd(); ++it) {
      std::vector<std::string> ids;
      for (const auto& v : it->value.GetArray()) ids.push_back(Str(v));
      order_.emplace_back(Str(it->name), std::move(ids));
    }
  }
  if (const Value* lg = Member(root, "lastGood")) {
    for (auto it = lg->MemberBegin(); it != lg->MemberEnd(); ++it) last_good_[Str(it->name)] = Str(it->value);
  }
  if (const Value* us = Member(root, "usageStats")) {
    // Validate() checked every member, so each reads.
    for (auto it = us->MemberBegin(); it != us->MemberEnd(); ++it)
      usage_[Str(it->name)] = ParseUsageStats(it->value, "$.usageStats").value_or(UsageStats{});
  }
}

std::string AuthStore::ToJson() const { return ToPrettyJson(*doc_); }

absl::Status AuthStore::Save(const std::string& path) const { return WriteFileAtomically(path, ToJson(), 0600); }

absl::Status AuthStore::Update(const std::string& path, const std::function<absl::Status(AuthStore&)>& change) {
  // The lock file sits beside the store, so renames of the store itself never drop the lock.
  std::string lock_path = path + ".lock";
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  }
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(lock_path, ": cannot open lock: ", std::strerror(errno)));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return absl::InternalError(absl::StrCat(lock_path, ": cannot lock: ", std::strerror(errno)));
    }
  }
  // A writer killed between creating its temp file and renaming it leaves the temp file behind
  // (mode 0600, but holding every secret): whoever holds the lock next removes such leftovers.
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    std::string dir = path.substr(0, slash), prefix = path.substr(slash + 1) + ".tmp-";
    if (DIR* d = ::opendir(dir.c_str())) {
      while (struct dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).substr(0, prefix.size()) == prefix) ::unlink((dir + "/" + e->d_name).c_str());
      ::closedir(d);
    }
  }
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(AuthStore store, Load(path));
    RETURN_IF_ERROR(change(store));
    return store.Save(path);
  }();
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return st;
}

const Credential* AuthStore::Find(const std::string& id) const {
  for (const auto& c : profiles_)
    if (c.id == id) return &c;
  return nullptr;
}

const std::vector<std::string>* AuthStore::Order(const std::string& provider) const {
  for (const auto& [p, ids] : order_)
    if (p == provider) return &ids;
  return nullptr;
}

const std::string* AuthStore::LastGood(const std::string& provider) const {
  auto it = last_good_.find(provider);
  return it == last_good_.end() ? nullptr : &it->second;
}

const UsageStats& AuthStore::Usage(const std::string& id) const {
  static const UsageStats kNone;
  auto it = usage_.find(id);
  return it == usage_.end() ? kNone : it->second;
}

const UsageStats& AuthStore::UsageRef(const std::string& id) const {
  static const UsageStats kNone;
  auto it = usage_.find(id);
  return it == usage_.end() ? kNone : it->second;
}

rapidjson::Value& AuthStore::Section(const char* name) {
  auto& alloc = doc_->GetAllocator();
  auto it = doc_->FindMember(name);
  if (it == doc_->MemberEnd()) {
    doc_->AddMember(rapidjson::Value(name, alloc), rapidjson::Value(rapidjson::kObjectType), alloc);
    return (*doc_)[name];
  }
  if (!it->value.IsObject()) it->value.SetObject();
  return it->value;
}

void AuthStore::SetOrder(const std::string& provider, const std::vector<std::string>& ids) {
  auto& alloc = doc_->GetAllocator();
  Value& order = Section("order");
  Value list(rapidjson::kArrayType);
  for (const auto& id : ids) list.PushBack(Value(id, alloc), alloc);
  auto it = order.FindMember(provider);
  if (it != order.MemberEnd()) it->value = list;
  else order.AddMember(Value(provider, alloc), list, alloc);
  Rebuild();
}

bool AuthStore::ClearOrder(const std::string& provider) {
  Value& order = Section("order");
  bool removed = order.RemoveMember(provider);
  Rebuild();
  return removed;
}

void AuthStore::UpsertProfile(const Credential& c) {
  auto& alloc = doc_->GetAllocator();
  Value& profiles = Section("profiles");
  Value p(rapidjson::kObjectType);
  p.AddMember("type", Value(c.type, alloc), alloc);
  p.AddMember("provider", Value(c.provider, alloc), alloc);
  const char* secret_key = c.type == "api_key" ? "key" : c.type == "token" ? "token" : "access";
  p.AddMember(Value(secret_key, alloc), Value(c.secret, alloc), alloc);
  if (!c.refresh.empty()) p.AddMember("refresh", Value(c.refresh, alloc), alloc);
  if (c.expires) p.AddMember("expires", Value(static_cast<int64_t>(*c.expires)), alloc);
  if (!c.email.empty()) p.AddMember("email", Value(c.email, alloc), alloc);
  auto it = profiles.FindMember(c.id);
  if (it != profiles.MemberEnd()) it->value = p;
  else profiles.AddMember(Value(c.id, alloc), p, alloc);
  Rebuild();
}

void AuthStore::SetLastGood(const std::string& provider, const std::string& id) {
  auto& alloc = doc_->GetAllocator();
  Value& lg = Section("lastGood");
  auto it = lg.FindMember(provider);
  if (it != lg.MemberEnd()) it->value = Value(id, alloc);
  else lg.AddMember(Value(provider, alloc), Value(id, alloc), alloc);
  Rebuild();
}

void AuthStore::SetUsage(const std::string& id, const UsageStats& u) {
  auto& alloc = doc_->GetAllocator();
  Value& us = Section("usageStats");
  Value v = UsageStatsJson(u, alloc);
  auto it = us.FindMember(id);
  if (it != us.MemberEnd()) it->value = v;
  else us.AddMember(Value(id, alloc), v, alloc);
  Rebuild();
}

bool AuthStore::RemoveProfile(const std::string& id) {
  bool removed = Section("profiles").RemoveMember(id);
  Section("usageStats").RemoveMember(id);
  Value& lg = Section("lastGood");
  for (auto it = lg.MemberBegin(); it != lg.MemberEnd();) {
    if (it->value.IsString() && Str(it->value) == id) it = lg.EraseMember(it);
    else ++it;
  }
  Value& order = Section("order");
  for (auto it = order.MemberBegin(); it != order.MemberEnd(); ++it) {
    if (!it->value.IsArray()) continue;
    for (auto v = it->value.Begin(); v != it->value.End();) {
      if (v->IsString() && Str(*v) == id) v = it->value.Erase(v);
      else ++v;
    }
  }
  Rebuild();
  return removed;
}

void AuthStore::OverlayHealth(AuthHealth health) {
  usage_ = std::move(health.usage);
  last_good_ = std::move(health.last_good);
}

void AuthStore::SetBudgetBlock(const std::string& id, int64_t until, std::string reason) {
  UsageStats& u = usage_[id];
  u.budget_until = until;
  u.budget_reason = std::move(reason);
}

}  // namespace modelpin
