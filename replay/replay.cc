#include <modelpin/replay/replay.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include <modelpin/base/absl_view.h>
#include <modelpin/base/clock.h>
#include <modelpin/base/json_text.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>

namespace modelpin {
namespace {

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// `requests:12/100,tokens:5000/80000` into t.outcome.limits; returns why it is malformed, or "".
std::string ParseRemaining(std::string_view list, TranscriptLine& t) {
  if (!t.outcome.limits) t.outcome.limits.emplace();
  ProviderLimits& l = *t.outcome.limits;
  auto bad = [&](std::string_view item) {
    return absl::StrCat("bad remaining \"", std::string(item),
                        "\" (expected NAME:LEFT/LIMIT, NAME requests, tokens, input_tokens or output_tokens)");
  };
  for (absl::string_view piece : absl::StrSplit(absl::string_view(list.data(), list.size()), ',')) {
    std::string_view item(piece.data(), piece.size());
    size_t colon = item.find(':'), slash = item.find('/');
    if (colon == std::string_view::npos || slash == std::string_view::npos || slash < colon) return bad(item);
    std::string_view name = item.substr(0, colon);
    QuotaWindow* w = name == "requests"        ? &l.requests
                     : name == "tokens"        ? &l.tokens
                     : name == "input_tokens"  ? &l.input_tokens
                     : name == "output_tokens" ? &l.output_tokens
                                               : nullptr;
    int64_t left = 0, limit = 0;
    auto num = [](std::string_view s, int64_t& v) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return !s.empty() && ec == std::errc() && end == s.data() + s.size() && v >= 0;
    };
    if (w == nullptr || !num(item.substr(colon + 1, slash - colon - 1), left) || !num(item.substr(slash + 1), limit) ||
        limit == 0 || left > limit)
      return bad(item);
    w->remaining = left;
    w->limit = limit;
  }
  return "";
}

// Reads the argument of `//@ clock`, `//@ outcome` and `//@ probe` into `t`; returns why it is malformed, or "".
std::string ParseSimulationArgs(std::string_view arg, TranscriptLine& t) {
  if (t.kind == TranscriptLine::Kind::kClock) {
    t.relative = !arg.empty() && arg.front() == '+';
    auto ms = t.relative ? ParseDurationMs(arg.substr(1)) : ParseUtc(arg);
    if (!ms) return absl::StrCat("bad clock \"", std::string(arg), "\" (expected +90s, +5m, +2h or 2026-12-01T10:00:00Z)");
    t.clock_ms = *ms;
  } else if (t.kind == TranscriptLine::Kind::kOutcome) {
    t.outcome = CallReport{};
    bool first = true;
    for (absl::string_view piece : absl::StrSplit(AbslView(arg), ' ', absl::SkipEmpty())) {
      std::string_view word = StdView(piece);
      if (first) {
        auto c = ParseErrorClass(word);
        if (!c)
          return absl::StrCat("unknown outcome \"", std::string(word),
                              "\" (expected ok, rate_limit, overloaded, auth, billing, timeout, server_error or "
                              "model_not_found)");
        t.outcome.error = *c;
        first = false;
      } else if (word.substr(0, 12) == "retry-after=") {
        auto ms = ParseDurationMs(word.substr(12));
        if (!ms) return absl::StrCat("bad retry-after \"", std::string(word.substr(12)), "\" (e.g. 30s, 2m)");
        t.outcome.retry_after_ms = *ms;
      } else if (word.substr(0, 8) == "profile=" && word.size() > 8) {
        t.outcome.profile_id = std::string(word.substr(8));
      } else if (word.substr(0, 6) == "model=" && word.size() > 6) {
        t.outcome.model = std::string(word.substr(6));
      } else if (word.substr(0, 7) == "tokens=") {
        // tokens=INPUT/OUTPUT or INPUT/OUTPUT/CACHE_READ/CACHE_WRITE (docs/usage-and-budgets.md).
        std::vector<int64_t> n;
        for (absl::string_view part : absl::StrSplit(absl::string_view(word.data() + 7, word.size() - 7), '/')) {
          int64_t v = 0;
          auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
          if (part.empty() || ec != std::errc() || end != part.data() + part.size() || v < 0) {
            n.clear();
            break;
          }
          n.push_back(v);
        }
        if (n.size() != 2 && n.size() != 4)
          return absl::StrCat("bad tokens \"", std::string(word.substr(7)),
                              "\" (expected INPUT/OUTPUT or INPUT/OUTPUT/CACHE_READ/CACHE_WRITE, e.g. 1200/350)");
        t.outcome.usage = TokenUsage{n[0], n[1], n.size() == 4 ? n[2] : 0, n.size() == 4 ? n[3] : 0};
      } else if (word.substr(0, 10) == "remaining=") {
        if (std::string why = ParseRemaining(word.substr(10), t); !why.empty()) return why;
      } else if (word.substr(0, 6) == "reset=") {
        std::string_view when = word.substr(6);
        int64_t at = 0;
        if (auto ms = ParseDurationMs(when)) t.reset_in_ms = *ms;
        else if (auto instant = ParseUtc(when)) at = *instant;
        else return absl::StrCat("bad reset \"", std::string(when), "\" (e.g. 60s, 5m or 2026-12-01T10:01:00Z)");
        if (!t.outcome.limits) t.outcome.limits.emplace();
        for (QuotaWindow* w : {&t.outcome.limits->requests, &t.outcome.limits->tokens,
                               &t.outcome.limits->input_tokens, &t.outcome.limits->output_tokens})
          w->reset_at = at;
      } else {
        return absl::StrCat("unknown outcome option \"", std::string(word),
                            "\" (expected retry-after=DURATION, profile=ID, model=PROVIDER/MODEL, "
                            "tokens=INPUT/OUTPUT, remaining=NAME:LEFT/LIMIT,... or reset=DURATION)");
      }
    }
    if (t.outcome.limits && t.outcome.limits->empty()) return "reset= needs remaining= (the quota that resets)";
  } else if (t.kind == TranscriptLine::Kind::kProbe) {
    t.outcome = CallReport{};
    t.outcome.probe = true;
    std::vector<absl::string_view> words =
        absl::StrSplit(absl::string_view(arg.data(), arg.size()), ' ', absl::SkipEmpty());
    auto c = words.size() == 2 ? ParseErrorClass(std::string_view(words[1].data(), words[1].size())) : std::nullopt;
    if (!c)
      return absl::StrCat("bad probe \"", std::string(arg),
                          "\" (expected PROFILE CLASS: anthropic:work ok, or a failure such as auth or billing)");
    t.outcome.profile_id = std::string(words[0]);
    t.outcome.error = *c;
  }
  return "";
}

}  // namespace

absl::Status ForEachTranscriptLine(std::string_view name, std::string_view text,
                                   const std::function<absl::Status(const TranscriptLine&)>& fn) {
  TranscriptLine t;
  text::LineReader lines(text);
  for (std::string_view line; lines.Next(&line);) {
    const int number = lines.number();
    if (text::Trim(line).empty()) continue;
    t.line_number = number;
    if (line.substr(0, 3) == "//@") {
      std::string_view rest = text::Trim(line.substr(3));
      size_t sp = rest.find(' ');
      std::string_view word = rest.substr(0, sp);
      std::string_view arg = sp == std::string_view::npos ? std::string_view() : text::Trim(rest.substr(sp + 1));
      t.text = std::string(arg);
      if (word == "session") t.kind = TranscriptLine::Kind::kSetSession;
      else if (word == "agent") t.kind = TranscriptLine::Kind::kSetAgent;
      else if (word == "sender") t.kind = TranscriptLine::Kind::kSetSender;
      else if (word == "clock") t.kind = TranscriptLine::Kind::kClock;
      else if (word == "outcome") t.kind = TranscriptLine::Kind::kOutcome;
      else if (word == "probe") t.kind = TranscriptLine::Kind::kProbe;
      else
        return absl::InvalidArgumentError(absl::StrCat(std::string(name), ":", number, ":1: unknown directive \"//@ ",
                                                       std::string(word),
                                                       "\" (known: session, agent, sender, clock, outcome, probe)"));
      if (arg.empty() && t.kind != TranscriptLine::Kind::kSetSender)
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(name), ":", number, ":1: \"//@ ", std::string(word), "\" needs a value"));
      if (std::string why = ParseSimulationArgs(arg, t); !why.empty())
        return absl::InvalidArgumentError(absl::StrCat(std::string(name), ":", number, ":1: ", why));
    } else if (line.substr(0, 2) == "//") {
      continue;
    } else {
      t.kind = TranscriptLine::Kind::kMessage;
      t.text.assign(line.data(), line.size());
    }
    RETURN_IF_ERROR(fn(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TranscriptLine>> ParseTranscript(std::string_view name, std::string_view text) {
  std::vector<TranscriptLine> out;
  RETURN_IF_ERROR(ForEachTranscriptLine(name, text, [&](const TranscriptLine& t) {
    out.push_back(t);
    return absl::OkStatus();
  }));
  return out;
}

Replayer::Replayer(Engine& engine, std::string agent_id, std::string session_key, SessionView view)
    : engine_(engine), agent_(engine.ResolveAgent(agent_id)), session_(std::move(session_key)), view_(view) {
  if (session_.empty()) session_ = absl::StrCat("agent:", agent_, ":main");
}

absl::StatusOr<std::optional<ReplayStep>> Replayer::Run(const TranscriptLine& line) {
  switch (line.kind) {
    case TranscriptLine::Kind::kSetSession:
      session_ = line.text;
      return std::nullopt;
    case TranscriptLine::Kind::kSetAgent:
      agent_ = engine_.ResolveAgent(line.text);
      session_ = absl::StrCat("agent:", agent_, ":main");
      return std::nullopt;
    case TranscriptLine::Kind::kSetSender:
      sender_ = line.text;
      return std::nullopt;
    case TranscriptLine::Kind::kClock:
      StartSimulation();
      if (line.relative) clock_->Advance(line.clock_ms);
      else clock_->Set(line.clock_ms);
      return std::nullopt;
    case TranscriptLine::Kind::kOutcome:
    case TranscriptLine::Kind::kProbe:
      RETURN_IF_ERROR(ReportOutcome(line));
      return std::nullopt;
    case TranscriptLine::Kind::kMessage:
      break;
  }
  // One message for the whole replay: its strings keep their buffers from line to line.
  InboundMessage& m = message_;
  m.agent_id.assign(agent_);
  m.session_key.assign(session_);
  m.text.assign(line.text);
  m.sender.assign(sender_);
  m.source = MessageSource::kReplay;
  Outcome& o = outcome_;  // the engine reuses what the step did not take of the last one
  RETURN_IF_ERROR(engine_.Handle(m, o));
  ReplayStep step;
  step.step = ++step_;
  step.input = line.text;
  step.replies = std::move(o.replies);
  step.route = std::move(o.route);
  if (step.route) {
    step.health = engine_.RouteHealth(agent_, *step.route);
    if (timeline_) {
      timeline_->Call(engine_.NowMs(), *step.route);
      timeline_->Observe(engine_.NowMs(), step.health);
    }
    last_route_ = step.route;
    last_route_agent_ = agent_;
    last_route_session_ = session_;
  }
  if (view_ == SessionView::kCurrent) {
    step.sessions.emplace(session_, std::move(o.session));
  } else {
    touched_[session_] = std::move(o.session);
    step.sessions = touched_;
  }
  return step;
}

void Replayer::StartSimulation() {
  if (clock_) return;
  clock_ = std::make_shared<FakeClock>(engine_.NowMs());
  engine_.Simulate(clock_);
}

absl::Status Replayer::ReportOutcome(const TranscriptLine& line) {
  StartSimulation();
  CallReport report = line.outcome;
  if (report.limits && line.reset_in_ms)
    for (QuotaWindow* w : {&report.limits->requests, &report.limits->tokens, &report.limits->input_tokens,
                           &report.limits->output_tokens})
      w->reset_at = engine_.NowMs() + line.reset_in_ms;
  // A probe concerns its profile alone, not the conversation's session.
  if (report.probe) return engine_.ReportOutcome(agent_, "", report);
  if (report.profile_id.empty()) {
    if (!last_route_) return absl::FailedPreconditionError("\"//@ outcome\" before any message reached a model");
    if (last_route_->profiles.empty())
      return absl::FailedPreconditionError("\"//@ outcome\": the last route had no credential (name one: profile=ID)");
    report.profile_id = last_route_->profiles.front();
  }
  // Token counts are priced as the model the last message was routed to.
  if (report.usage && report.billed_model.empty() && report.model.empty() && last_route_)
    report.billed_model = last_route_->model.Label();
  if (!last_route_) return engine_.ReportOutcome(agent_, session_, report);
  RETURN_IF_ERROR(engine_.ReportOutcome(last_route_agent_, last_route_session_, report));
  if (timeline_) timeline_->Outcome(engine_.NowMs(), report, engine_.RouteHealth(last_route_agent_, *last_route_));
  // A successful call can settle the session's pending model switch: the touched sessions shown
  // by later steps hold it as stored now (one read, so the replay stays linear).
  if (auto it = touched_.find(last_route_session_); it != touched_.end()) {
    ASSIGN_OR_RETURN(it->second, engine_.Session(last_route_agent_, last_route_session_));
  }
  return absl::OkStatus();
}

namespace {

// The rotation part of a route in JSON: fallback, the rest of the plan, each profile's state.
void AppendRouteRotationJson(const ReplayStep& s, std::string* out) {
  const Route& r = *s.route;
  if (!r.fallback_from.empty()) {
    out->append(",\"fallbackFrom\":");
    AppendJsonString(out, r.fallback_from.Label());
    out->append(",\"fallbackReason\":");
    AppendJsonString(out, r.fallback_reason);
  }
  if (!r.plan.empty()) {
    out->append(",\"plan\":[");
    for (size_t i = 0; i < r.plan.size(); ++i) {
      out->append(i ? ",{\"model\":" : "{\"model\":");
      AppendJsonString(out, r.plan[i].model.Label());
      out->append(",\"profiles\":[");
      for (size_t j = 0; j < r.plan[i].profiles.size(); ++j) {
        if (j) out->push_back(',');
        AppendJsonString(out, r.plan[i].profiles[j]);
      }
      out->append("]}");
    }
    out->push_back(']');
  }
  out->append(",\"auth\":[");
  for (size_t i = 0; i < s.health.size(); ++i) {
    const auto& [id, h] = s.health[i];
    out->append(i ? ",{\"profile\":" : "{\"profile\":");
    AppendJsonString(out, id);
    out->append(",\"state\":");
    AppendJsonString(out, h.StateName());
    if (h.until) {
      out->append(",\"until\":");
      AppendJsonString(out, FormatUtc(h.until));
    }
    if (!h.reason.empty()) {
      out->append(",\"reason\":");
      AppendJsonString(out, h.reason);
    }
    if (h.errors) absl::StrAppend(out, ",\"errors\":", h.errors);
    if (h.failed_probes) absl::StrAppend(out, ",\"failedProbes\":", h.failed_probes);
    if (!h.quota.empty()) {
      out->append(",\"quota\":");
      AppendJsonString(out, h.quota);
    }
    out->push_back('}');
  }
  out->push_back(']');
}

// The rotation part of a route in text: one line per profile, and the fallback when there was one.
void AppendRouteRotationText(const ReplayStep& s, std::string* out) {
  const Route& r = *s.route;
  if (!r.fallback_from.empty())
    absl::StrAppend(out, "  fallback from ", r.fallback_from.Label(), ": ", r.fallback_reason, "\n");
  for (const auto& c : r.plan)
    absl::StrAppend(out, "  then ", c.model.Label(), " via ", absl::StrJoin(c.profiles, ", "), "\n");
  for (const auto& [id, h] : s.health) absl::StrAppend(out, "  auth ", id, ": ", h.Text(), "\n");
}

}  // namespace

std::string StepJson(const ReplayStep& s) {
  std::string out;
  AppendStepJson(s, &out);
  return out;
}

namespace {

// One session of a step's "sessions" object: "key":{fields}.
void AppendSessionJson(const std::string& key, const SessionState& state, std::string* out) {
  AppendJsonString(out, key);
  out->append(":{");
  bool first = true;
  VisitOracleFields(state, [&](const char* name, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    out->append(first ? "\"" : ",\"");
    first = false;
    out->append(name);
    out->append("\":");
    if constexpr (std::is_same_v<T, std::string>) AppendJsonString(out, value);
    else if constexpr (std::is_same_v<T, bool>) out->append(value ? "true" : "false");
    else absl::StrAppend(out, value);
  });
  out->push_back('}');
}

}  // namespace

void AppendStepJson(const ReplayStep& s, std::string* out, SessionJsonCache* cache) {
  absl::StrAppend(out, "{\"step\":", s.step, ",\"input\":");
  AppendJsonString(out, s.input);
  out->append(",\"replies\":[");
  for (size_t i = 0; i < s.replies.size(); ++i) {
    out->append(i ? ",{\"text\":" : "{\"text\":");
    AppendJsonString(out, s.replies[i].text);
    out->append(s.replies[i].is_error ? ",\"isError\":true}" : "}");
  }
  out->append("],\"sessions\":{");
  bool first_session = true;
  for (const auto& [key, state] : s.sessions) {
    if (!first_session) out->push_back(',');
    first_session = false;
    if (cache == nullptr) {
      AppendSessionJson(key, state, out);
      continue;
    }
    auto it = cache->by_key.find(key);
    if (it == cache->by_key.end()) it = cache->by_key.try_emplace(key).first;
    else if (it->second.first == state) {
      out->append(it->second.second);
      continue;
    }
    it->second.first = state;
    it->second.second.clear();
    AppendSessionJson(key, state, &it->second.second);
    out->append(it->second.second);
  }
  out->push_back('}');
  if (s.route) {
    out->append(",\"route\":{\"text\":");
    AppendJsonString(out, s.route->text);
    out->append(",\"provider\":");
    AppendJsonString(out, s.route->model.provider);
    out->append(",\"model\":");
    AppendJsonString(out, s.route->model.model);
    out->append(",\"profiles\":[");
    for (size_t i = 0; i < s.route->profiles.size(); ++i) {
      if (i) out->push_back(',');
      AppendJsonString(out, s.route->profiles[i]);
    }
    out->push_back(']');
    if (!s.route->thinking.empty()) {
      out->append(",\"thinking\":");
      AppendJsonString(out, s.route->thinking);
    }
    if (!s.route->rule.empty()) {  // only with routing rules: other goldens stay byte-identical
      out->append(",\"rule\":");
      AppendJsonString(out, s.route->rule);
    }
    AppendRouteRotationJson(s, out);
    out->push_back('}');
  }
  out->push_back('}');
}

std::string StepText(const ReplayStep& s) {
  std::string out = absl::StrCat("=== #", s.step, " INPUT ", JsonString(s.input), "\n");
  if (s.replies.empty()) absl::StrAppend(&out, "REPLY: <none>\n");
  for (size_t i = 0; i < s.replies.size(); ++i) {
    const Reply& r = s.replies[i];
    absl::StrAppend(&out, "REPLY[", i, "]", r.is_error ? " {\"isError\":true}" : "", ":\n");
    std::string text = text::SanitizeUtf8(r.text);
    size_t pos = 0;
    while (true) {
      size_t nl = text.find('\n', pos);
      absl::StrAppend(&out, "  | ", text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos), "\n");
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  if (s.route) {
    absl::StrAppend(&out, "ROUTE ", s.route->model.Label(), " via ",
                    s.route->profiles.empty() ? "<no credential>" : absl::StrJoin(s.route->profiles, ", "),
                    s.route->thinking.empty() ? "" : absl::StrCat(" (thinking ", s.route->thinking, " for this message)"),
                    s.route->rule.empty() ? "" : absl::StrCat(" (rule ", s.route->rule, ")"), "\n");
    AppendRouteRotationText(s, &out);
  }
  if (s.sessions.empty()) absl::StrAppend(&out, "SESSION: <none>\n");
  for (const auto& [key, state] : s.sessions) absl::StrAppend(&out, "SESSION ", key, ": ", state.OracleJson(), "\n");
  return out;
}

}  // namespace modelpin
