#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <modelpin/base/json_file.h>
#include <modelpin/cli/cli.h>
#include <modelpin/replay/replay.h>
#include <modelpin/replay/timeline.h>

namespace modelpin::cli {

constexpr const char* kReplayHelp = R"(usage: modelpin replay TRANSCRIPT [--json] [--session KEY] [--agent ID]
                       [--session-view touched|current] [--config FILE] [--state DIR] [--strict]
                       [--plugin PATH]... [--timeline FILE.svg] [--timing]

Feeds each line of TRANSCRIPT ("-" for stdin) to the engine as one chat message and prints what
it replied, the route of ordinary messages, and the session fields it stored.

  --json         one JSON object per message (step, input, replies, sessions, route), the
                 layout of OpenClaw's oracle, so compare.py can diff the two
  --session KEY  session key (default agent:<agent>:main)
  --session-view touched|current
                 which sessions each step shows: every session the replay touched so far
                 (default, the oracle's layout) or only the message's own session
  --agent ID     agent (default: the config's default agent, else main)
  --config FILE  config (default $MODELPIN_CONFIG, else <state>/modelpin.json)
  --state DIR    state dir: auth stores, and sessions persist in DIR/sessions.sqlite, so a second
                 replay continues the same sessions. Without it sessions live in memory and
                 auth stores are read from $MODELPIN_STATE_DIR, else ~/.modelpin
  --strict       strict mode (docs/strict-mode.md)
  --timing       per-message handling time on stderr: "[modelpin] #N <microseconds> us"
  --timeline FILE.svg
                 draws the rotation timeline of the replay: one lane per auth profile, a mark
                 per routed message coloured by its //@ outcome, bars while a profile cooled
                 down or was disabled, fallbacks ringed (docs/timeline.md)

While stderr is a terminal, a progress line shows lines done, lines/s, elapsed time and ETA.

Lines that are blank or start with // are skipped. Directive lines switch the conversation:
  //@ session KEY    //@ agent ID    //@ sender ID
and simulate time and the outcome of model calls (kept in memory; no auth store is written):
  //@ clock 2026-12-01T10:00:00Z | +90s
  //@ outcome ok|rate_limit|overloaded|auth|billing|timeout|server_error|model_not_found
             [retry-after=30s] [profile=ID] [model=PROVIDER/MODEL] [tokens=IN/OUT[/CR/CW]]
A routed message shows each profile of its route with its state (route.auth in --json), and
the fallback model when every profile of the session's model is cooling down.
)";

namespace {

// A progress line on stderr while it is a terminal: "[modelpin] replay 120,000/1,000,000 lines
// (12%), 52,100 lines/s, 2.3 s, ETA 17 s". Redrawn at most five times a second; nothing at all
// when stderr is a file or a pipe, so logs and tests see only the replay's own output.
class Progress {
 public:
  explicit Progress(std::string_view text) : on_(::isatty(STDERR_FILENO) == 1) {
    if (!on_) return;
    total_ = static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n') ++total_;
    started_ = last_ = std::chrono::steady_clock::now();
  }
  void Line(int line_number) {
    if (!on_ || (++calls_ & 255) != 0) return;  // the clock is read every 256 lines
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    Draw(line_number, now);
  }
  void Done() {
    if (on_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void Draw(int64_t done, std::chrono::steady_clock::time_point now) {
    double elapsed = std::chrono::duration<double>(now - started_).count();
    double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    std::string eta = rate > 0 && total_ > done ? absl::StrFormat(", ETA %.0f s", static_cast<double>(total_ - done) / rate) : "";
    std::cerr << absl::StrFormat("\r\033[K[modelpin] replay %s/%s lines (%d%%), %s lines/s, %.1f s%s", Grouped(done),
                                 Grouped(total_), total_ ? done * 100 / total_ : 100, Grouped(static_cast<int64_t>(rate)),
                                 elapsed, eta)
              << std::flush;
    drawn_ = true;
  }
  static std::string Grouped(int64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  }
  bool on_;
  bool drawn_ = false;
  int64_t total_ = 0;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point started_, last_;
};

}  // namespace

int RunReplay(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "replay", kReplayHelp, {"--session", "--session-view", "--timeline"}, {"--json", "--timing"});
      rc >= 0)
    return rc;
  if (args.positional().size() != 1) return Usage("replay", "expected one TRANSCRIPT");
  const std::string view_name = args.Has("--session-view") ? args.Value("--session-view") : "touched";
  if (view_name != "touched" && view_name != "current")
    return Usage("replay", "--session-view takes touched or current, not \"" + view_name + "\"");
  const SessionView view = view_name == "current" ? SessionView::kCurrent : SessionView::kTouched;
  const std::string& path = args.positional()[0];
  std::string stdin_text;
  std::optional<MappedText> mapped;
  std::string_view text;
  if (path == "-") {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    stdin_text = buf.str();
    text = stdin_text;
  } else {
    // Mapped, not read: a million-line transcript is neither copied nor held twice.
    auto contents = MappedText::Open(path);
    if (!contents.ok()) return Fail(contents.status());
    mapped.emplace(*std::move(contents));
    text = mapped->text();
  }
  // A malformed line anywhere refuses the whole transcript before anything is written.
  if (absl::Status valid = ForEachTranscriptLine(path, text, [](const TranscriptLine&) { return absl::OkStatus(); });
      !valid.ok())
    return Fail(valid);
  // Sessions persist only when a state dir was named explicitly with --state. The replay's
  // changes are acknowledged by its exit status, so SQLite commits them in groups (at most 10 ms
  // or 1,000 changes each: another process's writes wait no longer than that), all before exit 0.
  auto engine = MakeEngine(common, !common.state_flag.empty(), nullptr, std::chrono::milliseconds(10));
  if (!engine.ok()) return Fail(engine.status());
  Replayer replayer(**engine, common.agent, args.Value("--session"), view);
  const std::string timeline_path = args.Value("--timeline");
  if (args.Has("--timeline") && timeline_path.empty()) return Usage("replay", "--timeline needs a file name");
  TimelineRecorder timeline;
  if (!timeline_path.empty()) replayer.RecordTimeline(&timeline);
  Progress progress(text);
  bool json = args.Has("--json");
  bool timing = args.Has("--timing");
  std::string out;
  SessionJsonCache session_json;
  // Output goes out in 1 MiB pieces, so a million-line replay streams instead of piling up.
  absl::Status st = ForEachTranscriptLine(path, text, [&](const TranscriptLine& line) -> absl::Status {
    auto started = std::chrono::steady_clock::now();
    auto step = replayer.Run(line);
    progress.Line(line.line_number);
    if (timing && step.ok() && *step)
      std::cerr << "[modelpin] #" << (*step)->step << " "
                << std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count()
                << " us\n";
    if (!step.ok())
      return absl::Status(step.status().code(),
                          path + ":" + std::to_string(line.line_number) + ": " + std::string(step.status().message()));
    if (!*step) return absl::OkStatus();
    if (json) AppendStepJson(**step, &out, &session_json);
    else out += StepText(**step);
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
    return absl::OkStatus();
  });
  progress.Done();
  if (st.ok()) st = (*engine)->FlushSessions();
  std::cout << out << std::flush;
  if (!st.ok()) return Fail(st);
  if (!timeline_path.empty()) {
    std::string title = absl::StrCat("Rotation timeline: ", path == "-" ? "stdin" : path);
    if (absl::Status w = WriteFileAtomically(timeline_path, RenderTimelineSvg(timeline.timeline(), title), 0644);
        !w.ok())
      return Fail(w);
  }
  return kExitOk;
}

}  // namespace modelpin::cli
