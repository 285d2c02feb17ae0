// Replaying chat transcripts: how bot authors test a setup and how modelpin proves it behaves
// like OpenClaw. A transcript has one message per line; blank lines and lines starting with "//"
// are skipped, except modelpin's directive lines that switch the conversation:
//
//   //@ session agent:main:telegram:42     following lines go to this session
//   //@ agent ops                          ... and to this agent (session agent:ops:main)
//   //@ sender +1222                       the sender, for owner-only options
//   //@ clock 2026-12-01T10:00:00Z          the engine's clock (simulated from here on)
//   //@ clock +90s                         ... moved forward
//   //@ outcome rate_limit retry-after=30s  how the last routed call went (see Outcome below)
//   //@ outcome ok remaining=requests:12/100,tokens:5000/80000 reset=60s
//                                        ... with the quota the provider reported
//   //@ probe anthropic:work ok           a probe of that profile and how it went (docs/probing.md)
//
// Each step's output uses the oracle's layout (text) or keys (JSON Lines), so
// `compare.py ORACLE.jsonl OURS.jsonl` compares the two directly.
#ifndef MODELPIN_REPLAY_REPLAY_H_
#define MODELPIN_REPLAY_REPLAY_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/turn/engine.h>
#include <modelpin/replay/timeline.h>

namespace modelpin {

struct TranscriptLine {
  enum class Kind { kMessage, kSetSession, kSetAgent, kSetSender, kClock, kOutcome, kProbe };
  Kind kind = Kind::kMessage;
  std::string text;
  int line_number = 0;  // 1-based line in the file
  // kClock: the instant (ms since the epoch), or the step forward when `relative`.
  int64_t clock_ms = 0;
  bool relative = false;
  // kOutcome: `//@ outcome CLASS [retry-after=30s] [profile=ID] [model=P/M]`, the result of the
  // last routed call as a bot reports it (profile: by default the route's first). Options
  // `remaining=NAME:LEFT/LIMIT,...` (names requests, tokens, input_tokens, output_tokens) and
  // `reset=60s|INSTANT` give the provider's reported quota (CallReport::limits).
  // kProbe: `//@ probe PROFILE CLASS`, a probe's outcome (CallReport::probe).
  CallReport outcome{};
  int64_t reset_in_ms = 0;  // `reset=60s`: resolved against the clock when the line runs
};

// Splits a transcript into messages and directive lines. An unknown "//@" directive is an
// InvalidArgument error naming `name` and the line.
absl::StatusOr<std::vector<TranscriptLine>> ParseTranscript(std::string_view name, std::string_view text);

// The same, one line at a time, without holding them all (for long transcripts). Stops at the
// first error, or the first error `fn` returns.
absl::Status ForEachTranscriptLine(std::string_view name, std::string_view text,
                                   const std::function<absl::Status(const TranscriptLine&)>& fn);

struct ReplayStep {
  int step = 0;
  std::string input;
  std::vector<Reply> replies;
  std::map<std::string, SessionState> sessions;  // every session the replay touched, by key
  std::optional<Route> route;
  // For a routed step: every profile the route concerns with its state (Engine::RouteHealth).
  std::vector<std::pair<std::string, ProfileHealth>> health;
};

// Which sessions a step shows: every session the replay touched so far (the oracle's layout, the
// default), or only the session of that message (what long replays with many sessions want).
enum class SessionView { kTouched, kCurrent };

class Replayer {
 public:
  Replayer(Engine& engine, std::string agent_id, std::string session_key,
           SessionView view = SessionView::kTouched);
  // Runs one transcript line; returns a step for messages, nullopt for directive lines. The
  // first `//@ clock` or `//@ outcome` line puts the engine into simulation (Engine::Simulate):
  // a replay never writes an auth store.
  absl::StatusOr<std::optional<ReplayStep>> Run(const TranscriptLine& line);
  // Records every routed call and reported outcome into `timeline` (nullptr: none), for
  // `replay --timeline`.
  void RecordTimeline(TimelineRecorder* timeline) { timeline_ = timeline; }

 private:
  void StartSimulation();
  absl::Status ReportOutcome(const TranscriptLine& line);

  std::shared_ptr<FakeClock> clock_;
  std::optional<Route> last_route_;
  std::string last_route_agent_, last_route_session_;
  Engine& engine_;
  std::string agent_;
  std::string session_;
  std::string sender_;
  SessionView view_;
  InboundMessage message_;  // the message Run hands to the engine, reused
  Outcome outcome_;         // and its outcome (a step takes its parts)
  int step_ = 0;
  // The touched sessions as this replay last stored them, by session key: a turn changes only
  // its own session, so a step reloads nothing and the replay stays linear in its length.
  // (Two agents' sessions with one key show once, as the oracle's layout has one map of keys.)
  std::map<std::string, SessionState> touched_;
  TimelineRecorder* timeline_ = nullptr;
};

// One JSON object per step, the oracle's keys: step, input, replies, sessions, route.
std::string StepJson(const ReplayStep& step);
// The same, appended to `out` (no newline): what long replays use, one buffer for all steps.
// With `cache`, a session whose state is the same as at its last step is written from the JSON
// kept then (a step usually changes no session, or one): the output is the same either way.
struct SessionJsonCache {
  std::map<std::string, std::pair<SessionState, std::string>, std::less<>> by_key;
};
void AppendStepJson(const ReplayStep& step, std::string* out, SessionJsonCache* cache = nullptr);
// The oracle's text layout plus a ROUTE line.
std::string StepText(const ReplayStep& step);

}  // namespace modelpin

#endif  // MODELPIN_REPLAY_REPLAY_H_
