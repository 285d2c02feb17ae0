// What the grammar hands to the engine: typed actions with the byte span they occupy in the
// message. The grammar knows syntax only: no aliases' targets, no config, no credentials.
//
//   auto d = modelpin::grammar::FindModelDirective("hello /model opus@anthropic:work please");
//   // d->span covers "/model opus@anthropic:work",
//   // std::get<model::Select>(d->action) == {model "opus", profile "anthropic:work"}
#ifndef MODELPIN_GRAMMAR_DIRECTIVE_H_
#define MODELPIN_GRAMMAR_DIRECTIVE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace modelpin::grammar {

// Half-open byte range [begin, end) of a message.
struct Span {
  size_t begin = 0;
  size_t end = 0;
  friend bool operator==(const Span&, const Span&) = default;
};

enum class Scope : uint8_t { kNone, kSession, kAgent, kGlobal };

// modelpin's scoped pins, after a /model reference: "--once", "--for <duration>", "--turns <n>".
// The value is kept as typed (the model plugin checks it); OpenClaw has no such options.
enum class PinLimitKind : uint8_t { kNone, kOnce, kFor, kTurns };
// Each scoped pin's option word, the one table: the parser reads them, and replies and the pin
// history ("--for 2h") write them.
inline constexpr std::pair<PinLimitKind, std::string_view> kPinLimitOptions[] = {
    {PinLimitKind::kOnce, "--once"}, {PinLimitKind::kFor, "--for"}, {PinLimitKind::kTurns, "--turns"}};
// "--once", "--for", "--turns"; "" for kNone.
constexpr std::string_view PinLimitOption(PinLimitKind kind) {
  for (const auto& [k, word] : kPinLimitOptions)
    if (k == kind) return word;
  return {};
}
struct PinLimit {
  PinLimitKind kind = PinLimitKind::kNone;
  std::string value;           // "90m", "3"; "" for --once
  bool missing_value = false;  // "--for" or "--turns" at the end of the line
  bool conflict = false;       // more than one of them ("--once --for 2h")
  friend bool operator==(const PinLimit&, const PinLimit&) = default;
};

// Options that may follow a /model reference (or stand alone): -s/-a/-g and --runtime.
struct ModelOptions {
  Scope scope = Scope::kNone;
  // A second scope option followed the directive ("/model sonnet -s -a"): the message is
  // rejected with "Use only one model scope option." before anything else is checked.
  bool scope_conflict = false;
  // The runtime value exactly as typed (--runtime X, runtime=X, harness=X).
  std::optional<std::string> runtime;
  // modelpin: --once / --for / --turns right after the directive (the span covers them).
  PinLimit pin_limit{};
  friend bool operator==(const ModelOptions&, const ModelOptions&) = default;
};

namespace model {
// "/model", "/model:", "/model   " — the summary.
struct ShowSummary { friend bool operator==(const ShowSummary&, const ShowSummary&) = default; };
// "/model status".
struct ShowStatus { friend bool operator==(const ShowStatus&, const ShowStatus&) = default; };
// "/model list" — the providers view.
struct ListProviders { friend bool operator==(const ListProviders&, const ListProviders&) = default; };
// "/model default" in any case, also "default@x" and "\"default\"@\"x\"". OpenClaw ignores the
// profile; it is kept here so a stricter engine can refuse or apply it.
struct ResetDefault {
  std::optional<std::string> profile;
  friend bool operator==(const ResetDefault&, const ResetDefault&) = default;
};
// Any other reference: an alias, provider/model, a bare id, provider/alias. Both parts trimmed,
// quoted parts JSON-decoded. `profile` is set only when the "<model>@<profile>" split finds one.
struct Select {
  std::string model;
  std::optional<std::string> profile;
  bool quoted = false;
  friend bool operator==(const Select&, const Select&) = default;
};
enum class Reason : uint8_t {
  kNumeric,            // "/model 2", "/model 3@anthropic:work"
  kProfileNeedsModel,  // "/model status@x", "/model \"\"@\"x\""
  kRuntimeNeedsModel,  // "/model --runtime codex", "/model status --runtime x"
  kScopeNeedsModel,    // "/model -s", "/model list -a"
};
// A form the grammar refuses on syntax alone. The engine still checks the scope conflict and the
// owner-only -a/-g before reporting this (OpenClaw's order of checks), so options stay available.
struct Rejected {
  Reason reason;
  friend bool operator==(const Rejected&, const Rejected&) = default;
};
}  // namespace model

using ModelAction = std::variant<model::ShowSummary, model::ShowStatus, model::ListProviders,
                                 model::ResetDefault, model::Select, model::Rejected>;

struct ModelDirective {
  Span span;               // what is removed from the message (RemoveSpan then widens it)
  ModelAction action;
  ModelOptions options;
  bool shorthand = false;  // matched as "/<alias>"; the Select's model is then the alias as typed
  friend bool operator==(const ModelDirective&, const ModelDirective&) = default;
};

// The first "/model" directive of `text`, or nullopt. A "quote refusal" (a quote where OpenClaw
// allows none) means the text holds no /model directive at all, so this returns nullopt then too.
std::optional<ModelDirective> FindModelDirective(std::string_view text);
// The same, written into `out` (a caller's reused or pre-allocated directive): whether one was
// found; `out` is unspecified when not.
bool FindModelDirective(std::string_view text, ModelDirective& out);

// The first "/<alias>" shorthand of `text` for one of `aliases_lower` (lower-cased
// alias names), or nullopt. Call it only when FindModelDirective found nothing.
std::optional<ModelDirective> FindAliasShorthand(std::string_view text,
                                                 std::span<const std::string> aliases_lower);

// The /models command. `text` is the cleaned message; returns nullopt unless it
// starts with "/models" (ASCII case-insensitive; "/modelsfoo" counts, as in OpenClaw).
struct ModelsCommand {
  enum class Kind : uint8_t { kProviders, kList, kAdd };
  Kind kind = Kind::kProviders;
  std::string provider;       // lower-cased; empty for the providers view
  int page = 1;
  int page_size = 20;         // min(limit, 100)
  bool all = false;
  friend bool operator==(const ModelsCommand&, const ModelsCommand&) = default;
};
std::optional<ModelsCommand> ParseModelsCommand(std::string_view text);

// The model part of the "<model>@<profile>" split. OpenClaw's resolver splits a model
// again before resolving it, so a quoted "nosuchmodel@x"@"p" selects "nosuchmodel"; for
// references the grammar already split, this returns them unchanged.
std::string_view ModelPartOf(std::string_view ref);

// Fast pre-check run on every message: false means no directive or command can be in `text`
// (no '/' that starts a word at a boundary). Proportional to a memchr scan, allocates nothing.
bool MayHoldDirective(std::string_view text);

// Telegram's addressed commands ("/model@mybot sonnet"), for a bot that knows its name.
//   kOtherBot: the message starts with "/<word>@<name>" for another bot (then it is no command
//              of this bot: ordinary text, left as it is);
//   kThisBot:  "@<bot_name>" (ASCII case-insensitive) was removed after every "/<word>" at a
//              directive boundary; `out` holds the text without them;
//   kNone:     nothing addressed.
// <word> and <name> are runs of ASCII letters, digits and '_' (<word> also '-'), and <name> ends
// at the end, whitespace or ':'.
enum class Addressing : uint8_t { kNone, kThisBot, kOtherBot };
Addressing StripBotAddress(std::string_view text, std::string_view bot_name, std::string& out);

// Removes a directive's span from `text` as OpenClaw does (whole blank line, or one adjacent
// space/tab) and returns the rest; the result is empty when only whitespace would remain.
std::string RemoveSpan(std::string_view text, Span span);

// Finds the first "/<word>" (ASCII case-insensitive `word_lower`) at a directive boundary: the
// slash is at the start or follows whitespace, and the word is followed by the end, whitespace
// or ':'. Returns the span of "/word", or nullopt. The building block plugin grammars use.
std::optional<Span> FindWord(std::string_view text, std::string_view word_lower, size_t from = 0);

// The same for several words in one pass: the first "/<word>" of any of them ("/think", "/t").
std::optional<Span> FindAnyWord(std::string_view text, std::span<const std::string_view> words_lower);

}  // namespace modelpin::grammar

#endif  // MODELPIN_GRAMMAR_DIRECTIVE_H_
