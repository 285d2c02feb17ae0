#include <modelpin/engine/sessions/session_state.h>

#include <array>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>

namespace modelpin {

namespace {
using text::SameText;  // session fields compared inline (short strings, by the dozen)
}  // namespace

PinSelection SessionState::Selection() const {
  return {provider_override, model_override, model_override_source, model_override_route_resolution,
          auth_profile_override, auth_profile_override_source};
}

void SessionState::SetSelection(const PinSelection& sel) {
  provider_override = sel.provider;
  model_override = sel.model;
  model_override_source = sel.model_source;
  model_override_route_resolution = sel.route_resolution;
  if (auth_profile_override != sel.profile || auth_profile_override_source != sel.profile_source) {
    auth_profile_override = sel.profile;
    auth_profile_override_source = sel.profile_source;
    auth_profile_override_compaction_count.reset();
    if (sel.profile && sel.profile_source.value_or("") == "auto") auth_profile_override_compaction_count = 0;
  }
}

bool SessionState::SameSelection(const SessionState& o) const {
  return SameText(model_override, o.model_override) && SameText(provider_override, o.provider_override) &&
         SameText(model_override_source, o.model_override_source) &&
         SameText(model_override_route_resolution, o.model_override_route_resolution) &&
         SameText(auth_profile_override, o.auth_profile_override) &&
         SameText(auth_profile_override_source, o.auth_profile_override_source);
}

void SessionState::EndPinScope(int64_t at_ms, PinSource source) {
  if (!modelpin || !modelpin->scope) return;
  PinSelection from = Selection();
  const Interned<PinSelection> restore = modelpin->scope->restore;
  modelpin.SetScope(std::nullopt);
  SetSelection(*restore);
  if (!(Selection() == from)) live_model_switch_pending = true;
  RecordPinChange(at_ms, source, from);
}

namespace {

// Whether `s`'s selection fields equal `sel`, compared in place.
bool HasSelection(const SessionState& s, const PinSelection& sel) {
  return SameText(s.model_override, sel.model) && SameText(s.provider_override, sel.provider) &&
         SameText(s.model_override_source, sel.model_source) && SameText(s.model_override_route_resolution, sel.route_resolution) &&
         SameText(s.auth_profile_override, sel.profile) && SameText(s.auth_profile_override_source, sel.profile_source);
}

// The interned selection of `s`. A session's pins go back and forth between a few selections, so
// one of its latest events usually holds it already: found by comparing fields, without copying
// six strings and hashing them under the intern table's lock. The handle of that event, else
// `owned`, interned (the caller keeps it while it uses the reference).
const Interned<PinSelection>& SelectionOf(const SessionState& s, const ModelpinData& history,
                                          Interned<PinSelection>& owned) {
  if (history) {
    const PinHistory& h = history->history;
    for (size_t i = h.size(), seen = 0; i > 0 && seen < 4; --i, ++seen) {
      if (HasSelection(s, *h[i - 1].to)) return h[i - 1].to;
      if (HasSelection(s, *h[i - 1].from)) return h[i - 1].from;
    }
  }
  owned = Interned(s.Selection());
  return owned;
}

// The interned history source: each name is interned once.
const Interned<std::string>& SourceName(PinSource source) {
  static const std::array<Interned<std::string>, kPinSourceNames.size()> known = [] {
    std::array<Interned<std::string>, kPinSourceNames.size()> k;
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = Interned(std::string(kPinSourceNames[i].second));
      k[i].MakeImmortal();  // in nearly every history: blocks need not count them
    }
    return k;
  }();
  return known[static_cast<size_t>(source)];
}

// Appends an event of these values to `m`. The event handed to Append borrows them: its handles
// are copies of the pointers, not counted, and it is never destroyed (the history counts what it
// keeps; pin_history.cc). Counting them for the event and back again would be six atomic
// operations per pin. Every value stays held by its owner (an event of the history, the static
// source names, the caller's `owned` handles) until Append has returned.
void AppendBorrowing(ModelpinData& m, int64_t at_ms, const Interned<std::string>& source,
                     const Interned<PinSelection>& from, const Interned<PinSelection>& to,
                     const Interned<std::string>& scope) {
  alignas(PinEvent) unsigned char raw[sizeof(PinEvent)];
  auto* ev = new (raw) PinEvent{at_ms, {}, {}, {}, {}};  // empty handles: no counts
  std::memcpy(static_cast<void*>(&ev->source), &source, sizeof source);
  std::memcpy(static_cast<void*>(&ev->from), &from, sizeof from);
  std::memcpy(static_cast<void*>(&ev->to), &to, sizeof to);
  std::memcpy(static_cast<void*>(&ev->scope), &scope, sizeof scope);
  m.Append(*ev);  // `*ev` is left as it is: its destructor would release what it never counted
}

}  // namespace

void SessionState::RecordPinChange(int64_t at_ms, PinSource source, const PinSelection& from, std::string scope) {
  if (HasSelection(*this, from) && scope.empty()) return;  // a scoped pin of the current selection still counts
  const Interned<PinSelection> from_value(from);
  Interned<PinSelection> to_owned;
  const Interned<std::string> scope_value(scope);
  AppendBorrowing(modelpin, at_ms, SourceName(source), from_value, SelectionOf(*this, modelpin, to_owned),
                  scope_value);
}

void SessionState::RecordPinChange(int64_t at_ms, PinSource source, const SessionState& before, std::string scope) {
  if (SameSelection(before) && scope.empty()) return;
  Interned<PinSelection> from_owned, to_owned;
  const Interned<std::string> scope_value(scope);
  AppendBorrowing(modelpin, at_ms, SourceName(source), SelectionOf(before, modelpin, from_owned),
                  SelectionOf(*this, modelpin, to_owned), scope_value);
}

std::string HistoryTime(int64_t ms) {
  std::string t = FormatUtc(ms);  // 2026-12-01T10:00:00Z
  if (t.size() >= 16) return absl::StrCat(t.substr(0, 10), " ", t.substr(11, 5), " UTC");
  return t;
}

std::string DescribeSelection(const PinSelection& sel) {
  std::string out = sel.provider && sel.model ? absl::StrCat(*sel.provider, "/", *sel.model) : "default";
  if (sel.profile) absl::StrAppend(&out, ", ", *sel.profile, " (", sel.profile_source.value_or("user"), ")");
  return out;
}

std::string DescribePinEvent(const PinEvent& e) {
  std::string out = absl::StrCat(HistoryTime(e.at_ms), " ", *e.source, ": ", DescribeSelection(*e.from), " -> ",
                                 DescribeSelection(*e.to));
  if (!e.scope->empty()) absl::StrAppend(&out, " (", *e.scope, ")");
  return out;
}

// Adding a field to SessionState means updating empty(), VisitOracleFields, the storage JSON
// and the memory store's Packed form; this fails the build until the size is updated with them.
static_assert(sizeof(SessionState) == 392, "SessionState changed: update empty(), serialisation and Packed");

}  // namespace modelpin
