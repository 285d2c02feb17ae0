#include <modelpin/replay/timeline.h>

#include <algorithm>
#include <array>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <modelpin/base/clock.h>

namespace modelpin {

void TimelineRecorder::Lane(const std::string& profile) {
  if (std::find(timeline_.lanes.begin(), timeline_.lanes.end(), profile) == timeline_.lanes.end())
    timeline_.lanes.push_back(profile);
}

void TimelineRecorder::Call(int64_t at_ms, const Route& route) {
  TimelineCall call;
  call.at_ms = at_ms;
  call.profile = route.profiles.empty() ? "" : route.profiles.front();
  call.model = route.model.Label();
  if (!route.fallback_from.empty()) {
    call.fallback_from = route.fallback_from.Label();
    call.fallback_reason = route.fallback_reason;
  }
  Lane(call.profile);
  for (const auto& p : route.profiles) Lane(p);
  timeline_.calls.push_back(std::move(call));
}

void TimelineRecorder::Outcome(int64_t at_ms, const CallReport& report,
                               const std::vector<std::pair<std::string, ProfileHealth>>& health) {
  auto it = std::find_if(timeline_.calls.rbegin(), timeline_.calls.rend(), [&](const TimelineCall& c) {
    return c.profile == report.profile_id && c.outcome.empty();
  });
  if (it != timeline_.calls.rend()) {
    it->outcome = std::string(ErrorClassName(report.error));
  } else {  // an outcome for a call no route showed (a bot naming the profile itself)
    Lane(report.profile_id);
    timeline_.calls.push_back({.at_ms = at_ms, .profile = report.profile_id, .model = report.model,
                               .outcome = std::string(ErrorClassName(report.error))});
  }
  Observe(at_ms, health);
}

void TimelineRecorder::Observe(int64_t at_ms, const std::vector<std::pair<std::string, ProfileHealth>>& health) {
  for (const auto& [profile, h] : health) {
    Lane(profile);
    // The window of this profile still open at `at_ms`, if any (windows of one profile never
    // overlap, so it is the last one).
    TimelineWindow* open = nullptr;
    for (auto w = timeline_.windows.rbegin(); w != timeline_.windows.rend(); ++w)
      if (w->profile == profile) {
        if (w->until_ms > at_ms) open = &*w;
        break;
      }
    const bool out = h.state == ProfileHealth::State::kCooldown || h.state == ProfileHealth::State::kModelCooldown ||
                     h.state == ProfileHealth::State::kDisabled;
    if (!out || h.until <= at_ms) {
      if (open && h.state == ProfileHealth::State::kOk) open->until_ms = at_ms;  // cleared early (a success)
      continue;
    }
    const auto kind = h.state == ProfileHealth::State::kDisabled ? TimelineWindow::Kind::kDisabled
                                                                 : TimelineWindow::Kind::kCooldown;
    if (open && open->kind == kind) {
      open->until_ms = h.until;
      open->reason = h.reason;
      continue;
    }
    if (open) open->until_ms = at_ms;
    timeline_.windows.push_back({.profile = profile, .kind = kind, .from_ms = at_ms, .until_ms = h.until,
                                 .reason = h.reason});
  }
}

namespace {

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct OutcomeStyle {
  std::string_view name;
  std::string_view colour;
  std::string_view label;
};
// Colour by outcome, distinguishable without relying on red/green alone (the legend names each).
constexpr std::array<OutcomeStyle, 9> kOutcomes = {{
    {"ok", "#2e7d32", "ok"},
    {"rate_limit", "#ef6c00", "rate limit"},
    {"overloaded", "#8d6e63", "overloaded"},
    {"auth", "#c62828", "auth"},
    {"billing", "#6a1b9a", "billing"},
    {"timeout", "#546e7a", "timeout"},
    {"server_error", "#ad1457", "server error"},
    {"model_not_found", "#37474f", "model not found"},
    {"", "#ffffff", "not reported"},
}};
const OutcomeStyle& StyleOf(std::string_view outcome) {
  for (const auto& s : kOutcomes)
    if (s.name == outcome) return s;
  return kOutcomes.back();
}

// A step between axis ticks that gives at most eight of them.
int64_t TickStep(int64_t span_ms) {
  static constexpr int64_t kSteps[] = {1'000,     2'000,     5'000,      10'000,     15'000,     30'000,
                                       60'000,    120'000,   300'000,    600'000,    900'000,    1'800'000,
                                       3'600'000, 7'200'000, 10'800'000, 21'600'000, 43'200'000, 86'400'000};
  for (int64_t s : kSteps)
    if (span_ms / s <= 8) return s;
  return ((span_ms / 8 + 86'400'000 - 1) / 86'400'000) * 86'400'000;
}

// "10:00:30" for a span within a day, "12-01 10:00" beyond.
std::string TickLabel(int64_t ms, bool long_span) {
  std::string utc = FormatUtc(ms);  // 2026-12-01T10:00:30Z
  if (utc.size() < 19) return utc;
  return long_span ? absl::StrCat(utc.substr(5, 5), " ", utc.substr(11, 5)) : utc.substr(11, 8);
}

}  // namespace

std::string RenderTimelineSvg(const Timeline& t, std::string_view title) {
  constexpr int kWidth = 960, kLeft = 230, kRight = 40, kTop = 64, kLane = 30;
  std::vector<std::string> lanes = t.lanes;
  if (lanes.empty()) lanes.push_back("");
  const int plot_w = kWidth - kLeft - kRight;
  const int legend_y = kTop + static_cast<int>(lanes.size()) * kLane + 34;
  const int height = legend_y + 22;

  // The span: every call and window start; window ends only up to a little past the last event,
  // so one long disable does not squeeze the rest into a corner.
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& c : t.calls) first = std::min(first, c.at_ms), last = std::max(last, c.at_ms);
  for (const auto& w : t.windows) first = std::min(first, w.from_ms), last = std::max(last, w.from_ms);
  if (first == INT64_MAX) first = last = 0;
  const int64_t clip = last + std::max<int64_t>((last - first) / 4, 30'000);
  int64_t end = last;
  for (const auto& w : t.windows) end = std::max(end, std::min(w.until_ms, clip));
  if (end <= first) end = first + 60'000;
  const int64_t pad = (end - first) / 40;
  const int64_t t0 = first - pad, t1 = end + pad;
  auto x = [&](int64_t ms) { return kLeft + static_cast<double>(ms - t0) / static_cast<double>(t1 - t0) * plot_w; };
  auto lane_of = [&](const std::string& p) {
    auto it = std::find(lanes.begin(), lanes.end(), p);
    return static_cast<int>(it == lanes.end() ? 0 : it - lanes.begin());
  };
  auto lane_y = [&](int i) { return kTop + i * kLane; };

  size_t failed = 0, fallbacks = 0;
  for (const auto& c : t.calls) {
    if (!c.outcome.empty() && c.outcome != "ok") ++failed;
    if (!c.fallback_from.empty()) ++fallbacks;
  }
  std::string desc = absl::StrFormat("%d calls over %d profiles, %d failed, %d fallbacks, %d cooldown or disabled windows",
                                     t.calls.size(), t.lanes.size(), failed, fallbacks, t.windows.size());

  std::string out;
  absl::StrAppendFormat(&out,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"modelpin-timeline\" width=\"%d\" "
                        "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"tl-title tl-desc\" "
                        "font-family=\"sans-serif\" font-size=\"12\">\n",
                        kWidth, height, kWidth, height);
  absl::StrAppend(&out, "<title id=\"tl-title\">", Escape(title), "</title>\n<desc id=\"tl-desc\">", Escape(desc),
                  "</desc>\n");
  absl::StrAppend(&out, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
  absl::StrAppendFormat(&out, "<text class=\"heading\" x=\"16\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
                        Escape(title));
  absl::StrAppendFormat(&out, "<text class=\"span\" x=\"16\" y=\"42\" fill=\"#555\">%s to %s (UTC) &#183; %s</text>\n",
                        FormatUtc(first), FormatUtc(last), Escape(desc));

  // Lanes with their profile names.
  out += "<g class=\"lanes\">\n";
  for (size_t i = 0; i < lanes.size(); ++i) {
    int y = lane_y(static_cast<int>(i));
    absl::StrAppendFormat(&out, "<rect class=\"lane\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", y,
                          kWidth, kLane, i % 2 ? "#ffffff" : "#f3f5f8");
    absl::StrAppendFormat(&out,
                          "<text class=\"lane-label\" data-profile=\"%s\" x=\"%d\" y=\"%d\" text-anchor=\"end\" "
                          "dominant-baseline=\"middle\">%s</text>\n",
                          Escape(lanes[i]), kLeft - 10, y + kLane / 2,
                          Escape(lanes[i].empty() ? "(no credential)" : lanes[i]));
  }
  out += "</g>\n";

  // The time axis: a line under the title and a grid line per tick.
  const int64_t step = TickStep(t1 - t0);
  const bool long_span = t1 - t0 > 86'400'000;
  const int axis_bottom = lane_y(static_cast<int>(lanes.size()));
  out += "<g class=\"axis\" stroke=\"#c5cad3\">\n";
  for (int64_t tick = ((t0 + step - 1) / step) * step; tick <= t1; tick += step) {
    double tx = x(tick);
    absl::StrAppendFormat(&out, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", tx, kTop - 6, tx,
                          axis_bottom);
    absl::StrAppendFormat(&out,
                          "<text class=\"tick-label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" stroke=\"none\" "
                          "fill=\"#333\">%s</text>\n",
                          tx, kTop - 10, TickLabel(tick, long_span));
  }
  out += "</g>\n";

  // Cooldown and disabled windows.
  out += "<g class=\"windows\">\n";
  for (const auto& w : t.windows) {
    const bool disabled = w.kind == TimelineWindow::Kind::kDisabled;
    const bool clipped = w.until_ms > t1;
    double x0 = x(w.from_ms), x1 = x(std::min(w.until_ms, t1));
    int y = lane_y(lane_of(w.profile));
    std::string until = w.until_ms >= kUntilCredentialChanges ? "its credential changes" : FormatUtc(w.until_ms);
    absl::StrAppendFormat(
        &out,
        "<rect class=\"window %s%s\" data-profile=\"%s\" data-kind=\"%s\" data-from=\"%s\" data-until=\"%s\" "
        "x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\" fill-opacity=\"0.55\">"
        "<title>%s %s from %s until %s%s</title></rect>\n",
        disabled ? "disabled" : "cooldown", clipped ? " clipped" : "", Escape(w.profile),
        disabled ? "disabled" : "cooldown", FormatUtc(w.from_ms), Escape(until), x0, y + 7, std::max(2.0, x1 - x0),
        kLane - 14, disabled ? "#e57373" : "#ffb74d", Escape(w.profile), disabled ? "disabled" : "cooling down",
        FormatUtc(w.from_ms), Escape(until), w.reason.empty() ? "" : absl::StrCat(" (", Escape(w.reason), ")"));
    if (clipped)
      absl::StrAppendFormat(&out,
                            "<text class=\"window-end\" x=\"%.1f\" y=\"%d\" text-anchor=\"end\" font-size=\"10\" "
                            "fill=\"#333\">until %s &#8594;</text>\n",
                            x1 - 4, y + kLane / 2 + 4, Escape(until));
  }
  out += "</g>\n";

  // One mark per call; a ring around calls that went to a fallback model.
  // Calls at one instant (a transcript that does not move its clock) are drawn side by side, in
  // order, rather than on top of each other; data-at keeps their real time.
  out += "<g class=\"calls\">\n";
  std::vector<double> last_x(lanes.size(), -1e9);
  for (const auto& c : t.calls) {
    const OutcomeStyle& s = StyleOf(c.outcome);
    const int lane = lane_of(c.profile);
    double cx = std::max(x(c.at_ms), last_x[lane] + 14);
    last_x[lane] = cx;
    int cy = lane_y(lane) + kLane / 2;
    if (!c.fallback_from.empty())
      absl::StrAppendFormat(&out,
                            "<circle class=\"fallback-ring\" cx=\"%.1f\" cy=\"%d\" r=\"10\" fill=\"none\" "
                            "stroke=\"#1565c0\" stroke-width=\"2\" stroke-dasharray=\"3 2\"/>\n",
                            cx, cy);
    absl::StrAppendFormat(
        &out,
        "<circle class=\"call %s\" data-profile=\"%s\" data-at=\"%s\" data-outcome=\"%s\" data-model=\"%s\"%s "
        "cx=\"%.1f\" cy=\"%d\" r=\"6\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"><title>%s %s on %s: %s%s</title>"
        "</circle>\n",
        c.outcome.empty() ? "pending" : c.outcome, Escape(c.profile), FormatUtc(c.at_ms), c.outcome, Escape(c.model),
        c.fallback_from.empty() ? "" : absl::StrCat(" data-fallback-from=\"", Escape(c.fallback_from), "\""), cx, cy,
        s.colour, c.outcome.empty() ? "#1565c0" : "#ffffff", FormatUtc(c.at_ms), Escape(c.model),
        Escape(c.profile.empty() ? "(no credential)" : c.profile), s.label,
        c.fallback_from.empty() ? "" : absl::StrCat(" (fallback from ", Escape(c.fallback_from), ")"));
  }
  out += "</g>\n";

  // The legend: every outcome drawn, the two window kinds and the fallback ring.
  out += "<g class=\"legend\">\n";
  int lx = 16;
  auto legend_text = [&](std::string_view label) {
    absl::StrAppendFormat(&out, "<text x=\"%d\" y=\"%d\" fill=\"#333\">%s</text>\n", lx + 12, legend_y + 4, label);
    lx += 24 + static_cast<int>(label.size()) * 7;
  };
  for (const auto& s : kOutcomes) {
    bool used = std::any_of(t.calls.begin(), t.calls.end(), [&](const TimelineCall& c) { return c.outcome == s.name; });
    if (!used) continue;
    absl::StrAppendFormat(&out, "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\" stroke=\"%s\"/>\n", lx + 2, legend_y,
                          s.colour, s.name.empty() ? "#1565c0" : "#ffffff");
    legend_text(s.label);
  }
  absl::StrAppendFormat(&out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#ffb74d\" fill-opacity=\"0.55\"/>\n",
                        lx - 4, legend_y - 5);
  legend_text("cooling down");
  absl::StrAppendFormat(&out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#e57373\" fill-opacity=\"0.55\"/>\n",
                        lx - 4, legend_y - 5);
  legend_text("disabled");
  absl::StrAppendFormat(&out,
                        "<circle cx=\"%d\" cy=\"%d\" r=\"8\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" "
                        "stroke-dasharray=\"3 2\"/>\n",
                        lx + 2, legend_y);
  legend_text("fallback model");
  out += "</g>\n</svg>\n";
  return out;
}

}  // namespace modelpin
