// FindModelDirective and FindAliasShorthand: OpenClaw's /model syntax on top of the PEGTL rules of
// model_grammar.h.
//
// OpenClaw recognises the directive with two regular expressions searched independently: the
// general one (first "/model" of the text) and an "options only" one ("/model -s",
// "/model --runtime x") that is searched over the whole text and wins whenever it matches
// anywhere, unless the general match carries a quoted profile. Both are reproduced here, the
// second one by trying rules::options_only at every "/model" candidate in order.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tao/pegtl.hpp>

#include <modelpin/base/text.h>
#include <modelpin/base/text_internal.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/grammar/model_directive_internal.h>
#include <modelpin/grammar/model_grammar.h>
#include <modelpin/grammar/word_bounds.h>

namespace modelpin::grammar {
namespace {

namespace pegtl = tao::pegtl;

// A byte range of the message, as offsets (not pointers) so it survives copying the state.
struct Part {
  size_t begin = 0;
  size_t end = 0;
  std::string_view In(std::string_view text) const { return text.substr(begin, end - begin); }
};

// What the actions collect during one parse of a top rule.
// Invariants: `ref_kind` and the committed parts (`model`, `profile`) are written only by the
// actions of complete references (rules::quoted_ref, rules::plain_ref); `tentative_*` may hold
// leftovers of an abandoned alternative and are read only by those two actions.
struct ParseState {
  enum class RefKind { kNone, kPlain, kQuoted };

  const char* base = nullptr;  // offsets are relative to the start of the message

  Part tentative_model;
  bool tentative_model_quoted = false;
  Part tentative_profile;

  RefKind ref_kind = RefKind::kNone;
  Part ref;  // the whole reference as matched
  Part model;
  bool model_quoted = false;
  Part profile;  // quoted form only

  Scope scope = Scope::kNone;
  std::optional<Part> runtime;

  template <typename ActionInput>
  Part PartOf(const ActionInput& in) const {
    const auto begin = static_cast<size_t>(in.begin() - base);
    return Part{begin, begin + in.size()};
  }
};

template <typename Rule>
struct Action : pegtl::nothing<Rule> {};

template <>
struct Action<rules::quoted_model> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.tentative_model = s.PartOf(in);
    s.tentative_model_quoted = true;
  }
};

template <>
struct Action<rules::plain_model> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.tentative_model = s.PartOf(in);
    s.tentative_model_quoted = false;
  }
};

template <>
struct Action<rules::quoted_profile> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.tentative_profile = s.PartOf(in);
  }
};

template <>
struct Action<rules::quoted_ref> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.ref_kind = ParseState::RefKind::kQuoted;
    s.ref = s.PartOf(in);
    s.model = s.tentative_model;
    s.model_quoted = s.tentative_model_quoted;
    s.profile = s.tentative_profile;
  }
};

template <>
struct Action<rules::plain_ref> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.ref_kind = ParseState::RefKind::kPlain;
    s.ref = s.PartOf(in);
    s.model = s.ref;
    s.model_quoted = false;
  }
};

template <>
struct Action<rules::session_scope> {
  static void apply0(ParseState& s) { s.scope = Scope::kSession; }
};
template <>
struct Action<rules::agent_scope> {
  static void apply0(ParseState& s) { s.scope = Scope::kAgent; }
};
template <>
struct Action<rules::global_scope> {
  static void apply0(ParseState& s) { s.scope = Scope::kGlobal; }
};

template <>
struct Action<rules::runtime_value> {
  template <typename ActionInput>
  static void apply(const ActionInput& in, ParseState& s) {
    s.runtime = s.PartOf(in);
  }
};

// Runs `Rule` at byte `pos` of `text`. Returns the end offset of the match, or nullopt. The
// rules contain no must<> or raise<>, so PEGTL reports failure by returning false; the catch is
// only a seatbelt so that no exception can ever leave the public functions.
template <typename Rule>
std::optional<size_t> ParseAt(std::string_view text, size_t pos, ParseState* state) {
  state->base = text.data();
  // The source name is only used in error positions, which nothing reads: a `const char*` spares
  // building a std::string for it on each of the (up to three) parses of a message.
  pegtl::memory_input<pegtl::tracking_mode::lazy, pegtl::eol::lf_crlf, const char*> in(
      text.data() + pos, text.data() + text.size(), "message");
  try {
    if (!pegtl::parse<Rule, Action>(in, *state)) return std::nullopt;
  } catch (const pegtl::parse_error&) {
    return std::nullopt;
  }
  return static_cast<size_t>(in.current() - text.data());
}

// The quoted parts are JSON string literals (already validated by rules::quoted): decode the
// escapes, turn lone surrogates into U+FFFD as a JavaScript string would when written out as
// UTF-8, and replace invalid UTF-8 the same way.
std::string DecodeJsonString(std::string_view literal) {
  std::string out;
  const std::string_view body = literal.substr(1, literal.size() - 2);
  auto hex4 = [&](size_t at) {
    char32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = body[at + k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<char32_t>(c - '0');
      } else {
        v |= static_cast<char32_t>((text::LowerAscii(c) - 'a') + 10);
      }
    }
    return v;
  };
  size_t i = 0;
  while (i < body.size()) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    const char e = body[i + 1];
    i += 2;
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        char32_t unit = hex4(i);
        i += 4;
        if (unit >= 0xD800 && unit <= 0xDBFF && i + 6 <= body.size() && body[i] == '\\' &&
            body[i + 1] == 'u') {
          const char32_t low = hex4(i + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (unit >= 0xD800 && unit <= 0xDFFF) unit = 0xFFFD;
        text::AppendUtf8(unit, &out);
        break;
      }
      default: out.push_back(e); break;  // '"', '\\' and '/'
    }
  }
  return text::SanitizeUtf8(out);
}

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Splits "<model>@<profile>" where the '@' is not part of a date version or a
// quantisation tag. `raw` is an unquoted reference (no whitespace inside).
struct SplitRef {
  std::string_view model;
  std::optional<std::string_view> profile;
};

// The text after an '@' up to the next '@' (or the end).
std::string_view TokenAfter(std::string_view s, size_t at) {
  const size_t begin = at + 1;
  const size_t next = s.find('@', begin);
  return s.substr(begin, (next == std::string_view::npos ? s.size() : next) - begin);
}

bool IsDateVersion(std::string_view token) { return token.size() == 8 && IsAllDigits(token); }

// q<digits>(_<alnum>+)*, iq<digits>(_<alnum>+)* or <digits>bit, ASCII case-insensitive.
bool IsQuantisationTag(std::string_view t) {
  auto digits = [&](size_t i) {
    size_t j = i;
    while (j < t.size() && t[j] >= '0' && t[j] <= '9') ++j;
    return j - i;
  };
  auto is_alnum = [](char c) {
    const char l = text::LowerAscii(c);
    return (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
  };
  const size_t n = digits(0);
  if (n > 0) return text::EqualsLower(t.substr(n), "bit");
  size_t i = 0;
  if (i < t.size() && text::LowerAscii(t[i]) == 'i') ++i;
  if (i >= t.size() || text::LowerAscii(t[i]) != 'q') return false;
  ++i;
  const size_t d = digits(i);
  if (d == 0) return false;
  i += d;
  while (i < t.size()) {
    if (t[i] != '_') return false;
    ++i;
    size_t group = 0;
    while (i < t.size() && is_alnum(t[i])) ++i, ++group;
    if (group == 0) return false;
  }
  return true;
}

SplitRef SplitTrailingProfile(std::string_view raw) {
  const std::string_view trimmed = text::Trim(raw);
  // Most references hold no '@' at all: nothing to split (the search below would find none).
  if (text::FindByte(trimmed, '@') == std::string_view::npos) return {trimmed, std::nullopt};
  const size_t last_slash = trimmed.rfind('/');
  size_t at = trimmed.find('@', last_slash == std::string_view::npos ? 0 : last_slash + 1);
  if (at == std::string_view::npos || at == 0) return {trimmed, std::nullopt};
  if (IsDateVersion(TokenAfter(trimmed, at))) {
    // "claude-3-5-sonnet@20240620": the '@' belongs to the version; a profile may follow it.
    at = trimmed.find('@', at + 9);
    if (at == std::string_view::npos) return {trimmed, std::nullopt};
  }
  if (IsQuantisationTag(TokenAfter(trimmed, at))) {
    at = trimmed.find('@', at + 1);
    if (at == std::string_view::npos) return {trimmed, std::nullopt};
  }
  const std::string_view model = text::Trim(trimmed.substr(0, at));
  const std::string_view profile = text::Trim(trimmed.substr(at + 1));
  if (model.empty() || profile.empty()) return {trimmed, std::nullopt};
  return {model, profile};
}

// The classification of a (model, profile) pair together with the options. The parts
// are views into the message (or into its decoded quoted parts); only the action that keeps
// them copies them.
ModelAction Classify(std::optional<std::string_view> model, std::optional<std::string_view> profile,
                     bool quoted, const ModelOptions& options) {
  enum class Info { kNone, kSummary, kStatus, kList };
  Info info = Info::kNone;
  if (!model) {
    info = Info::kSummary;
  } else if (text::EqualsLower(*model, "status")) {
    info = Info::kStatus;
  } else if (text::EqualsLower(*model, "list")) {
    info = Info::kList;
  }
  if (info != Info::kNone) {
    // The order OpenClaw checks them in: profile, then runtime, then scope.
    if (profile) return model::Rejected{model::Reason::kProfileNeedsModel};
    if (options.runtime) return model::Rejected{model::Reason::kRuntimeNeedsModel};
    if (options.scope != Scope::kNone) return model::Rejected{model::Reason::kScopeNeedsModel};
    if (info == Info::kStatus) return model::ShowStatus{};
    if (info == Info::kList) return model::ListProviders{};
    return model::ShowSummary{};
  }
  auto copy = [](std::optional<std::string_view> part) {
    return part ? std::optional<std::string>(std::in_place, *part) : std::nullopt;
  };
  if (text::EqualsLower(*model, "default")) return model::ResetDefault{copy(profile)};
  if (IsAllDigits(*model)) return model::Rejected{model::Reason::kNumeric};
  return model::Select{std::string(*model), copy(profile), quoted};
}

// Classify for a plain reference (no profile, not quoted, no options), written into `out`: the
// usual selection is built in place, its model copied once.
void ClassifyPlainInto(std::string_view model, ModelAction& out) {
  if (!text::EqualsLower(model, "status") && !text::EqualsLower(model, "list") &&
      !text::EqualsLower(model, "default") && !IsAllDigits(model)) {
    model::Select& sel = out.emplace<model::Select>();
    sel.model.assign(model.data(), model.size());
    return;
  }
  out = Classify(model, std::nullopt, false, ModelOptions{});
}

std::optional<std::string_view> NonEmpty(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return s;
}

ModelOptions OptionsOf(std::string_view text, const ParseState& s, size_t match_end) {
  ModelOptions options;
  options.scope = s.scope;
  if (s.runtime) options.runtime = std::string(s.runtime->In(text));
  // rules::extra_scope starts with whitespace; most directives end the message instead.
  if (text::SpaceAtFast(text, match_end) > 0) {
    ParseState extra;
    options.scope_conflict = ParseAt<rules::extra_scope>(text, match_end, &extra).has_value();
  }
  return options;
}

// modelpin's scoped-pin options after a directive ending at `end`: ( [ \t]+ ( "--once" |
// ("--for" | "--turns") [ \t]+ VALUE ) )* where each keyword ends at whitespace or the end and
// VALUE runs to the next whitespace. Returns the end of the last one (`end` when there is none).
// Only spaces and tabs separate them: a scoped pin stays on the directive's line.
size_t ScanPinLimit(std::string_view text, size_t end, ModelOptions& options) {
  PinLimit& limit = options.pin_limit;
  auto blanks = [&](size_t i) {
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    return j - i;
  };
  auto keyword = [&](size_t i, std::string_view word) {
    if (text.size() - i < word.size()) return false;
    for (size_t k = 0; k < word.size(); ++k)
      if (text::LowerAscii(text[i + k]) != word[k]) return false;
    size_t after = i + word.size();
    return after == text.size() || text::SpaceAtFast(text, after) > 0;
  };
  for (;;) {
    size_t gap = blanks(end);
    if (gap == 0) return end;
    size_t at = end + gap;
    PinLimitKind kind = PinLimitKind::kNone;
    size_t word_end = at;
    for (const auto& [k, word] : kPinLimitOptions)
      if (kind == PinLimitKind::kNone && keyword(at, word)) kind = k, word_end = at + word.size();
    if (kind == PinLimitKind::kNone && limit.kind != PinLimitKind::kNone) {
      // A scope option after a scoped pin ("--once -a") is still read, so it can be refused.
      Scope scope = Scope::kNone;
      for (auto [word, sc] : {std::pair{"--session", Scope::kSession}, {"-s", Scope::kSession}, {"--agent", Scope::kAgent},
                              {"-a", Scope::kAgent}, {"--global", Scope::kGlobal}, {"-g", Scope::kGlobal}})
        if (scope == Scope::kNone && keyword(at, word)) scope = sc, word_end = at + std::string_view(word).size();
      if (scope == Scope::kNone) return end;
      if (options.scope != Scope::kNone) options.scope_conflict = true;
      else options.scope = scope;
      end = word_end;
      continue;
    }
    if (kind == PinLimitKind::kNone) return end;
    if (limit.kind != PinLimitKind::kNone) limit.conflict = true;
    else limit.kind = kind;
    end = word_end;
    if (kind == PinLimitKind::kOnce) continue;
    size_t value_gap = blanks(end);
    size_t v = end + value_gap;
    size_t v_end = v;
    while (v_end < text.size() && text::SpaceAtFast(text, v_end) == 0) ++v_end;
    if (value_gap == 0 || v_end == v) {
      if (limit.kind == kind && !limit.conflict) limit.missing_value = true;
      continue;
    }
    if (limit.kind == kind && limit.value.empty() && !limit.missing_value) limit.value = std::string(text.substr(v, v_end - v));
    end = v_end;
  }
}

bool StartsWithAliasAt(std::string_view text, size_t pos, std::string_view alias) {
  if (text.size() - pos < alias.size()) return false;
  for (size_t i = 0; i < alias.size(); ++i) {
    if (text::LowerAscii(text[pos + i]) != text::LowerAscii(alias[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view ModelPartOf(std::string_view ref) { return SplitTrailingProfile(ref).model; }

// Most /model messages a bot sees are "/model <alias or provider/model>" and nothing else: for
// those the grammar's answer is known (a general match over the whole text, no options, no
// profile, no other "/model" for the options-only form to find), and only Classify's reading of
// the reference remains. grammar_test checks this way against the grammar on generated texts
// (SimpleSelectAgreesWithTheGrammar); BM_FindModelDirective and BM_FindModelDirective_Grammar
// say what it saves.
namespace {
// The reference of a text of the simple form ("/model " and the reference alone), or nullopt.
std::optional<std::string_view> SimpleModelRef(std::string_view text) {
  constexpr std::string_view kHead = "/model ";
  if (text.size() <= kHead.size() || text.substr(0, kHead.size()) != kHead) return std::nullopt;
  const std::string_view ref = text.substr(kHead.size());
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(ref.front())) return std::nullopt;
  for (char c : ref)
    if (!alnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ':') return std::nullopt;
  // A reference is segments joined by single slashes: "//" or a last slash ends it early.
  if (ref.back() == '/' || ref.find("//") != std::string_view::npos) return std::nullopt;
  return ref;
}

// The simple form's directive, written into `out`: the whole text, no options, `ref` classified.
void SimpleDirectiveInto(std::string_view text, std::string_view ref, ModelDirective& out) {
  out.span = Span{0, text.size()};
  out.options = ModelOptions{};
  out.shorthand = false;
  ClassifyPlainInto(ref, out.action);
}
}  // namespace

std::optional<ModelDirective> FindSimpleModelSelect(std::string_view text) {
  const std::optional<std::string_view> ref = SimpleModelRef(text);
  if (!ref) return std::nullopt;
  std::optional<ModelDirective> d(std::in_place);
  SimpleDirectiveInto(text, *ref, *d);
  return d;
}

std::optional<ModelDirective> FindModelDirective(std::string_view text) {
  // One object returned on every path: the simple form is built straight into the caller's.
  std::optional<ModelDirective> d = FindSimpleModelSelect(text);
  if (!d) d = FindModelDirectiveByGrammar(text);
  return d;
}

bool FindModelDirective(std::string_view text, ModelDirective& out) {
  if (const std::optional<std::string_view> ref = SimpleModelRef(text)) {
    SimpleDirectiveInto(text, *ref, out);
    return true;
  }
  std::optional<ModelDirective> d = FindModelDirectiveByGrammar(text);
  if (!d) return false;
  out = std::move(*d);
  return true;
}

std::optional<ModelDirective> FindModelDirectiveByGrammar(std::string_view text) {
  const std::optional<Span> first = FindWord(text, "model");
  if (!first) return std::nullopt;

  // The general form always matches at the first candidate: everything after END-CHECK is
  // optional.
  ParseState general;
  const std::optional<size_t> general_end = ParseAt<rules::directive>(text, first->begin, &general);
  if (!general_end) return std::nullopt;  // unreachable: FindWord checked "/model" END-CHECK

  // Quote refusal: a reference that is missing or ends with '@', followed by '"', means the
  // user tried a quoting OpenClaw does not accept; the whole text is then not a directive.
  const bool open_ref = general.ref_kind == ParseState::RefKind::kNone ||
                        (general.ref_kind == ParseState::RefKind::kPlain &&
                         general.ref.In(text).back() == '@');
  if (open_ref) {
    size_t after = *general_end;
    while (size_t n = text::SpaceAt(text, after)) after += n;
    if (after < text.size() && text[after] == '"') return std::nullopt;
  }

  if (general.ref_kind != ParseState::RefKind::kQuoted) {
    for (std::optional<Span> word = first; word; word = FindWord(text, "model", word->begin + 1)) {
      ParseState options_only;
      if (std::optional<size_t> end = ParseAt<rules::options_only>(text, word->begin, &options_only)) {
        ModelOptions options = OptionsOf(text, options_only, *end);
        *end = ScanPinLimit(text, *end, options);
        // A braced list initialises in order: Classify reads `options` before it is moved.
        return ModelDirective{Span{word->begin, *end}, Classify(std::nullopt, std::nullopt, false, options),
                              std::move(options)};
      }
    }
  }

  ModelOptions options = OptionsOf(text, general, *general_end);
  const size_t directive_end = ScanPinLimit(text, *general_end, options);
  std::optional<std::string_view> model;
  std::optional<std::string_view> profile;
  std::string decoded_model;  // the quoted parts, decoded: `model` and `profile` may point here
  std::string decoded_profile;
  const bool quoted = general.ref_kind == ParseState::RefKind::kQuoted;
  if (quoted) {
    std::string_view model_text = general.model.In(text);
    if (general.model_quoted) {
      decoded_model = DecodeJsonString(model_text);
      model_text = text::Trim(decoded_model);
    }
    model = NonEmpty(model_text);
    decoded_profile = DecodeJsonString(general.profile.In(text));
    profile = NonEmpty(text::Trim(decoded_profile));
  } else if (general.ref_kind == ParseState::RefKind::kPlain) {
    const SplitRef split = SplitTrailingProfile(general.ref.In(text));
    model = NonEmpty(split.model);
    profile = split.profile;
  }
  return ModelDirective{Span{first->begin, directive_end}, Classify(model, profile, quoted, options),
                        std::move(options)};
}

std::optional<ModelDirective> FindAliasShorthand(std::string_view text,
                                                 std::span<const std::string> aliases_lower) {
  // OpenClaw looks for aliases only when the /model expression found nothing, and a quote
  // refusal ends its search too: any "/model" candidate rules the shorthand out.
  if (FindWord(text, "model")) return std::nullopt;
  const size_t size = text.size();
  for (size_t pos = text.find('/'); pos != std::string_view::npos; pos = text.find('/', pos + 1)) {
    if (!internal::IsBoundary(text, pos)) continue;
    for (const std::string& alias : aliases_lower) {
      // Aliases are compared trimmed, as OpenClaw normalises them; a blank one matches nothing.
      const std::string_view name = text::Trim(alias);
      if (name.empty() || !StartsWithAliasAt(text, pos + 1, name)) continue;
      const size_t word_end = pos + 1 + name.size();
      if (word_end > size || !internal::IsWordEnd(text, word_end)) continue;
      ParseState tail;
      const std::optional<size_t> end = ParseAt<rules::alias_tail>(text, word_end, &tail);
      if (!end) continue;  // unreachable: alias_tail matches the empty string
      ModelDirective result;
      result.shorthand = true;
      result.options = OptionsOf(text, tail, *end);
      result.span = Span{pos, ScanPinLimit(text, *end, result.options)};
      // The selection is the alias as typed; OpenClaw still applies the @profile split to it.
      const SplitRef split = SplitTrailingProfile(text.substr(pos + 1, name.size()));
      std::optional<std::string> profile;
      if (split.profile) profile = std::string(*split.profile);
      result.action = model::Select{std::string(split.model), std::move(profile), false};
      return result;
    }
  }
  return std::nullopt;
}

}  // namespace modelpin::grammar
