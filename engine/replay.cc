#include "engine/replay.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/status_macros.h"
#include "grammar/text.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(Writer& w, std::string_view s) {
  std::string clean = text::SanitizeUtf8(s);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

std::string JsonString(std::string_view s) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  WriteString(w, s);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

absl::StatusOr<std::vector<TranscriptLine>> ParseTranscript(std::string_view name, std::string_view text) {
  std::vector<TranscriptLine> out;
  int number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (nl == std::string_view::npos && line.empty()) break;
    if (text::Trim(line).empty()) continue;
    if (line.substr(0, 3) == "//@") {
      std::string_view rest = text::Trim(line.substr(3));
      size_t sp = rest.find(' ');
      std::string_view word = rest.substr(0, sp);
      std::string_view arg = sp == std::string_view::npos ? std::string_view() : text::Trim(rest.substr(sp + 1));
      TranscriptLine t;
      t.line_number = number;
      t.text = std::string(arg);
      if (word == "session") t.kind = TranscriptLine::Kind::kSetSession;
      else if (word == "agent") t.kind = TranscriptLine::Kind::kSetAgent;
      else if (word == "sender") t.kind = TranscriptLine::Kind::kSetSender;
      else
        return absl::InvalidArgumentError(absl::StrCat(std::string(name), ":", number, ":1: unknown directive \"//@ ",
                                                       std::string(word), "\" (known: session, agent, sender)"));
      if (arg.empty() && t.kind != TranscriptLine::Kind::kSetSender)
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(name), ":", number, ":1: \"//@ ", std::string(word), "\" needs a value"));
      out.push_back(std::move(t));
      continue;
    }
    if (line.substr(0, 2) == "//") continue;
    out.push_back({TranscriptLine::Kind::kMessage, std::string(line), number});
  }
  return out;
}

Replayer::Replayer(Engine& engine, std::string agent_id, std::string session_key)
    : engine_(engine), agent_(engine.ResolveAgent(agent_id)), session_(std::move(session_key)) {
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
    case TranscriptLine::Kind::kMessage:
      break;
  }
  InboundMessage m{agent_, session_, line.text, sender_, MessageSource::kReplay};
  ASSIGN_OR_RETURN(Outcome o, engine_.Handle(m));
  auto id = std::make_pair(agent_, session_);
  if (std::find(touched_.begin(), touched_.end(), id) == touched_.end()) touched_.push_back(id);
  ReplayStep step;
  step.step = ++step_;
  step.input = line.text;
  step.replies = std::move(o.replies);
  step.route = std::move(o.route);
  for (const auto& [agent, key] : touched_) {
    if (agent == agent_ && key == session_) {
      step.sessions[key] = o.session;
    } else {
      ASSIGN_OR_RETURN(step.sessions[key], engine_.Session(agent, key));
    }
  }
  return step;
}

std::string StepJson(const ReplayStep& s) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("step");
  w.Int(s.step);
  w.Key("input");
  WriteString(w, s.input);
  w.Key("replies");
  w.StartArray();
  for (const auto& r : s.replies) {
    w.StartObject();
    w.Key("text");
    WriteString(w, r.text);
    if (r.is_error) {
      w.Key("isError");
      w.Bool(true);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("sessions");
  w.StartObject();
  for (const auto& [key, state] : s.sessions) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    std::string fields = state.OracleJson();
    w.RawValue(fields.data(), fields.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  if (s.route) {
    w.Key("route");
    w.StartObject();
    w.Key("text");
    WriteString(w, s.route->text);
    w.Key("provider");
    WriteString(w, s.route->model.provider);
    w.Key("model");
    WriteString(w, s.route->model.model);
    w.Key("profiles");
    w.StartArray();
    for (const auto& p : s.route->profiles) WriteString(w, p);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
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
                    s.route->profiles.empty() ? "<no credential>" : absl::StrJoin(s.route->profiles, ", "), "\n");
  }
  if (s.sessions.empty()) absl::StrAppend(&out, "SESSION: <none>\n");
  for (const auto& [key, state] : s.sessions) absl::StrAppend(&out, "SESSION ", key, ": ", state.OracleJson(), "\n");
  return out;
}

}  // namespace modelpin
