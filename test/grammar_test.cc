// Tests of grammar/: the /model directive and its @profile split, the alias shorthand, directive
// removal, the /models arguments, the fast pre-check and the text helpers.
//
// Expected values are OpenClaw's behaviour, as its oracle transcripts show it; rows say which behaviour they pin down.
#define BOOST_TEST_MODULE grammar
#include <boost/test/unit_test.hpp>

#include <tao/pegtl/contrib/analyze.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <modelpin/base/text.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/grammar/model_directive_internal.h>
#include <modelpin/grammar/model_grammar.h>
#include <modelpin/grammar/queue_directive.h>
#include <modelpin/grammar/word_argument.h>

namespace modelpin::grammar {
namespace {

using model::Reason;

// ---------------------------------------------------------------------------------------------
// Readable renderings, so that a failing row prints what differs.

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string Describe(const std::optional<std::string>& s) { return s ? Quote(*s) : "none"; }

std::string Describe(const ModelAction& action) {
  struct Visitor {
    std::string operator()(const model::ShowSummary&) const { return "ShowSummary"; }
    std::string operator()(const model::ShowStatus&) const { return "ShowStatus"; }
    std::string operator()(const model::ListProviders&) const { return "ListProviders"; }
    std::string operator()(const model::ResetDefault& a) const {
      return "ResetDefault{profile=" + Describe(a.profile) + "}";
    }
    std::string operator()(const model::Select& a) const {
      return "Select{model=" + Quote(a.model) + " profile=" + Describe(a.profile) +
             (a.quoted ? " quoted" : "") + "}";
    }
    std::string operator()(const model::Rejected& a) const {
      switch (a.reason) {
        case Reason::kNumeric: return "Rejected{numeric}";
        case Reason::kProfileNeedsModel: return "Rejected{profile needs model}";
        case Reason::kRuntimeNeedsModel: return "Rejected{runtime needs model}";
        case Reason::kScopeNeedsModel: return "Rejected{scope needs model}";
      }
      return "Rejected{?}";
    }
  };
  return std::visit(Visitor{}, action);
}

std::string Describe(const ModelOptions& o) {
  static const char* const kScopes[] = {"none", "session", "agent", "global"};
  return std::string("scope=") + kScopes[static_cast<int>(o.scope)] +
         (o.scope_conflict ? " CONFLICT" : "") + " runtime=" + Describe(o.runtime);
}

std::string Describe(std::string_view text, const std::optional<ModelDirective>& d) {
  if (!d) return "no directive";
  std::ostringstream out;
  out << "[" << d->span.begin << "," << d->span.end << ") ";
  if (d->span.begin <= d->span.end && d->span.end <= text.size()) {
    out << Quote(text.substr(d->span.begin, d->span.end - d->span.begin));
  }
  out << " " << Describe(d->action) << " " << Describe(d->options)
      << (d->shorthand ? " shorthand" : "");
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// The directive table. The engine's order is modelled: FindModelDirective first, then the alias
// shorthand with the base fixture's aliases.

const std::vector<std::string> kAliases = {"opus", "sonnet", "llama"};

std::optional<ModelDirective> FindAny(std::string_view text) {
  if (auto d = FindModelDirective(text)) return d;
  return FindAliasShorthand(text, kAliases);
}

ModelAction Sel(std::string model, std::optional<std::string> profile = std::nullopt) {
  return model::Select{std::move(model), std::move(profile), false};
}
// The quoted form `…@"…"` (the model part may be plain or quoted).
ModelAction Quoted(std::string model, std::optional<std::string> profile = std::nullopt) {
  return model::Select{std::move(model), std::move(profile), true};
}
ModelAction Reset(std::optional<std::string> profile = std::nullopt) {
  return model::ResetDefault{std::move(profile)};
}
ModelAction Rej(Reason reason) { return model::Rejected{reason}; }
const ModelAction kSummary = model::ShowSummary{};
const ModelAction kStatus = model::ShowStatus{};
const ModelAction kList = model::ListProviders{};

ModelOptions Opts(Scope scope, std::optional<std::string> runtime = std::nullopt,
                  bool conflict = false) {
  return ModelOptions{scope, conflict, std::move(runtime)};
}
ModelOptions Rt(std::string runtime, Scope scope = Scope::kNone) {
  return ModelOptions{scope, false, std::move(runtime)};
}
ModelOptions Conflict(Scope scope, std::optional<std::string> runtime = std::nullopt) {
  return ModelOptions{scope, true, std::move(runtime)};
}
constexpr Scope kS = Scope::kSession;
constexpr Scope kA = Scope::kAgent;
constexpr Scope kG = Scope::kGlobal;

struct DirectiveRow {
  const char* behaviour;
  std::string input;
  // The exact bytes of the span (its first occurrence in `input`), or nullopt for "no directive".
  std::optional<std::string> matched;
  ModelAction action = model::ShowSummary{};
  ModelOptions options = {};
  bool shorthand = false;
};

const std::vector<DirectiveRow>& DirectiveRows() {
  static const std::vector<DirectiveRow> rows = {
      // The 18 lines of the oracle harness's transcript.txt (fixtures/transcripts/demo.txt), in order.
      {"transcript: summary", "/model", "/model", kSummary},
      {"transcript: list", "/model list", "/model list", kList},
      {"transcript: status", "/model status", "/model status", kStatus},
      {"transcript: alias", "/model sonnet", "/model sonnet", Sel("sonnet")},
      {"transcript: status again", "/model status", "/model status", kStatus},
      {"transcript: profile", "/model opus@anthropic:work", "/model opus@anthropic:work",
       Sel("opus", "anthropic:work")},
      {"transcript: status third", "/model status", "/model status", kStatus},
      {"transcript: profile of other provider", "/model llama@anthropic:work",
       "/model llama@anthropic:work", Sel("llama", "anthropic:work")},
      {"transcript: unknown id", "/model nosuchmodel", "/model nosuchmodel", Sel("nosuchmodel")},
      {"transcript: unknown profile", "/model opus@anthropic:nosuch", "/model opus@anthropic:nosuch",
       Sel("opus", "anthropic:nosuch")},
      {"transcript: provider/model", "/model anthropic/claude-sonnet-4-5",
       "/model anthropic/claude-sonnet-4-5", Sel("anthropic/claude-sonnet-4-5")},
      {"transcript: default", "/model default", "/model default", Reset()},
      {"transcript: inline", "hello /model sonnet please", "/model sonnet", Sel("sonnet")},
      {"transcript: upper case word", "/MODEL Sonnet", "/MODEL Sonnet", Sel("Sonnet")},
      {"transcript: colon", "/model: opus", "/model: opus", Sel("opus")},
      {"transcript: quoted", R"(/model "opus"@"anthropic:work")", R"(/model "opus"@"anthropic:work")",
       Quoted("opus", "anthropic:work")},
      {"transcript: date version", "/model claude-3-5-sonnet@20240620",
       "/model claude-3-5-sonnet@20240620", Sel("claude-3-5-sonnet@20240620")},
      {"transcript: numeric", "/model 2", "/model 2", Rej(Reason::kNumeric)},

      // Summary and colon forms.
      {"colon alone is the summary", "/model:", "/model:", kSummary},
      {"trailing spaces are not part of the span", "/model   ", "/model", kSummary},
      {"trailing tab", "/model\t", "/model", kSummary},
      {"spaced colon", "/model :", "/model :", kSummary},
      {"colon without space", "/model:opus", "/model:opus", Sel("opus")},
      {"space before colon", "/model : opus", "/model : opus", Sel("opus")},
      {"tab after colon", "/model:\topus", "/model:\topus", Sel("opus")},
      {"mixed case word and colon", "/MoDeL:SoNnEt", "/MoDeL:SoNnEt", Sel("SoNnEt")},
      {"only one colon is eaten", "/model :: sonnet", "/model ::", Sel(":")},
      {"colon then colon-id", "/model: :opus", "/model: :opus", Sel(":opus")},
      {"trailing colon is part of the id", "/model sonnet:", "/model sonnet:", Sel("sonnet:")},
      {"colon inside the id", "/model opus:x", "/model opus:x", Sel("opus:x")},

      // Info forms: case-insensitive (oracle), leftover text, profile and option errors.
      {"status in upper case (oracle)", "/model STATUS", "/model STATUS", kStatus},
      {"list in mixed case (oracle)", "/model List", "/model List", kList},
      {"list leaves the provider as text", "/model list anthropic", "/model list", kList},
      {"inline status", "x /model status", "/model status", kStatus},
      {"status with profile", "/model status@x", "/model status@x",
       Rej(Reason::kProfileNeedsModel)},
      {"list with profile", "/model list@x", "/model list@x", Rej(Reason::kProfileNeedsModel)},
      {"status with scope", "/model status -s", "/model status -s", Rej(Reason::kScopeNeedsModel),
       Opts(kS)},
      {"list with agent scope", "/model list -a", "/model list -a", Rej(Reason::kScopeNeedsModel),
       Opts(kA)},
      {"list with global scope", "/model list -g", "/model list -g", Rej(Reason::kScopeNeedsModel),
       Opts(kG)},
      {"status with runtime", "/model status --runtime x", "/model status --runtime x",
       Rej(Reason::kRuntimeNeedsModel), Rt("x")},
      {"profile is reported before runtime and scope", "/model status@x --runtime codex -s",
       "/model status@x --runtime codex -s", Rej(Reason::kProfileNeedsModel), Rt("codex", kS)},
      {"runtime is reported before scope", "/model --runtime default -s",
       "/model --runtime default -s", Rej(Reason::kRuntimeNeedsModel), Rt("default", kS)},
      {"quoted status with empty profile is the status view", R"(/model "STATUS"@"")",
       R"(/model "STATUS"@"")", kStatus},
      {"quoted status with profile", R"(/model "status"@"x")", R"(/model "status"@"x")",
       Rej(Reason::kProfileNeedsModel)},
      {"empty quoted model is no model", R"(/model ""@"x")", R"(/model ""@"x")",
       Rej(Reason::kProfileNeedsModel)},
      {"blank quoted model is no model", R"(/model "\t "@"x")", R"(/model "\t "@"x")",
       Rej(Reason::kProfileNeedsModel)},

      // default.
      {"default in upper case", "/model DEFAULT", "/model DEFAULT", Reset()},
      {"default keeps the profile", "/model default@anthropic:work",
       "/model default@anthropic:work", Reset("anthropic:work")},
      {"quoted default", R"(/model "default"@"x")", R"(/model "default"@"x")", Reset("x")},
      {"quoted default with empty profile", R"(/model "Default"@"")", R"(/model "Default"@"")",
       Reset()},
      {"default with a scope", "/model Default -a", "/model Default -a", Reset(), Opts(kA)},
      {"defaults is an id", "/model defaults", "/model defaults", Sel("defaults")},

      // Numeric.
      {"zero", "/model 0", "/model 0", Rej(Reason::kNumeric)},
      {"leading zeros", "/model 007", "/model 007", Rej(Reason::kNumeric)},
      {"digits with profile", "/model 3@anthropic:work", "/model 3@anthropic:work",
       Rej(Reason::kNumeric)},
      {"digits with scope keep the scope", "/model 2 -s", "/model 2 -s", Rej(Reason::kNumeric),
       Opts(kS)},
      {"quoted digits", R"(/model "42"@"x")", R"(/model "42"@"x")", Rej(Reason::kNumeric)},
      {"a dot makes it an id", "/model 3.5", "/model 3.5", Sel("3.5")},
      {"digits with a date version are an id", "/model 3@20240620", "/model 3@20240620",
       Sel("3@20240620")},
      {"arabic-indic digits are not a reference", "/model \u0663", "/model", kSummary},

      // Option-only forms.
      {"session scope alone", "/model -s", "/model -s", Rej(Reason::kScopeNeedsModel), Opts(kS)},
      {"long session scope", "/model --session", "/model --session",
       Rej(Reason::kScopeNeedsModel), Opts(kS)},
      {"agent scope alone", "/model -a", "/model -a", Rej(Reason::kScopeNeedsModel), Opts(kA)},
      {"long global scope", "/model --global", "/model --global", Rej(Reason::kScopeNeedsModel),
       Opts(kG)},
      {"scope option case-insensitive", "/model -G", "/model -G", Rej(Reason::kScopeNeedsModel),
       Opts(kG)},
      {"long agent scope in upper case", "/model --AGENT", "/model --AGENT",
       Rej(Reason::kScopeNeedsModel), Opts(kA)},
      {"runtime alone", "/model --runtime codex", "/model --runtime codex",
       Rej(Reason::kRuntimeNeedsModel), Rt("codex")},
      {"runtime= alone", "/model runtime=codex", "/model runtime=codex",
       Rej(Reason::kRuntimeNeedsModel), Rt("codex")},
      {"harness= alone", "/model harness=pi", "/model harness=pi",
       Rej(Reason::kRuntimeNeedsModel), Rt("pi")},
      {"runtime keyword case-insensitive", "/model HARNESS=pi", "/model HARNESS=pi",
       Rej(Reason::kRuntimeNeedsModel), Rt("pi")},
      {"scope then runtime", "/model -s --runtime default", "/model -s --runtime default",
       Rej(Reason::kRuntimeNeedsModel), Rt("default", kS)},
      {"option after colon", "/model: -s", "/model: -s", Rej(Reason::kScopeNeedsModel), Opts(kS)},
      {"option glued to colon", "/model:-s", "/model:-s", Rej(Reason::kScopeNeedsModel),
       Opts(kS)},
      {"runtime glued to colon (oracle)", "/model:--runtime codex", "/model:--runtime codex",
       Rej(Reason::kRuntimeNeedsModel), Rt("codex")},
      {"runtime value glued to the keyword (oracle)", "/model --runtimecodex",
       "/model --runtimecodex", Rej(Reason::kRuntimeNeedsModel), Rt("codex")},
      {"--runtimes is --runtime plus value s", "/model --runtimes", "/model --runtimes",
       Rej(Reason::kRuntimeNeedsModel), Rt("s")},
      {"space after runtime=", "/model runtime= codex", "/model runtime= codex",
       Rej(Reason::kRuntimeNeedsModel), Rt("codex")},
      {"inline option-only form", "x /model -s y", "/model -s", Rej(Reason::kScopeNeedsModel),
       Opts(kS)},
      {"an option-only /model later in the text wins (oracle)",
       "hello /model sonnet and /model -s", "/model -s", Rej(Reason::kScopeNeedsModel), Opts(kS)},
      {"option-only second directive wins (oracle)", "/model sonnet /model -s", "/model -s",
       Rej(Reason::kScopeNeedsModel), Opts(kS)},
      {"a quoted profile keeps the first directive (oracle)",
       R"(/model "sonnet"@"anthropic:work" /model -s)", R"(/model "sonnet"@"anthropic:work")",
       Quoted("sonnet", "anthropic:work")},
      {"runtime= without value is text", "/model runtime=", "/model", kSummary},
      {"harness= without value is text (oracle)", "/model harness=", "/model", kSummary},

      // Scope conflict.
      {"second scope option", "/model sonnet -s -a", "/model sonnet -s", Sel("sonnet"),
       Conflict(kS)},
      {"same scope twice", "/model sonnet -s -s", "/model sonnet -s", Sel("sonnet"), Conflict(kS)},
      {"inline conflict", "x /model sonnet -s -g", "/model sonnet -s", Sel("sonnet"), Conflict(kS)},
      {"conflict after runtime and scope", "/model sonnet --runtime default -s -g",
       "/model sonnet --runtime default -s", Sel("sonnet"), Conflict(kS, "default")},
      {"conflict after scope and runtime (oracle)", "/model sonnet -s --runtime default -a",
       "/model sonnet -s --runtime default", Sel("sonnet"), Conflict(kS, "default")},
      {"conflict in the option-only form", "/model -s -a", "/model -s",
       Rej(Reason::kScopeNeedsModel), Conflict(kS)},
      {"conflict across a tab and long option", "/model sonnet -s\t--agent", "/model sonnet -s",
       Sel("sonnet"), Conflict(kS)},
      {"-ax is not a second scope", "/model sonnet -s -ax", "/model sonnet -s", Sel("sonnet"),
       Opts(kS)},

      // Runtime after a reference.
      {"runtime after model", "/model sonnet --runtime codex", "/model sonnet --runtime codex",
       Sel("sonnet"), Rt("codex")},
      {"runtime= after model", "/model sonnet runtime=codex", "/model sonnet runtime=codex",
       Sel("sonnet"), Rt("codex")},
      {"harness= after model", "/model sonnet harness=pi", "/model sonnet harness=pi",
       Sel("sonnet"), Rt("pi")},
      {"runtime value as typed", "/model sonnet --RUNTIME Codex", "/model sonnet --RUNTIME Codex",
       Sel("sonnet"), Rt("Codex")},
      {"runtime then scope", "/model sonnet --runtime codex -a", "/model sonnet --runtime codex -a",
       Sel("sonnet"), Rt("codex", kA)},
      {"scope then runtime after model", "/model sonnet -g --runtime codex",
       "/model sonnet -g --runtime codex", Sel("sonnet"), Rt("codex", kG)},
      {"runtime without value is text", "/model sonnet --runtime", "/model sonnet", Sel("sonnet")},
      {"an option is not a runtime value", "/model sonnet --runtime -s", "/model sonnet",
       Sel("sonnet")},
      {"--runtime= is text", "/model opus --runtime=x", "/model opus", Sel("opus")},
      {"runtime= is not a runtime value", "/model sonnet --runtime runtime=x", "/model sonnet",
       Sel("sonnet")},
      {"runtime value characters", "/model sonnet --runtime a.b:c-d_e",
       "/model sonnet --runtime a.b:c-d_e", Sel("sonnet"), Rt("a.b:c-d_e")},
      {"runtime value stops at a comma", "/model sonnet --runtime codex,",
       "/model sonnet --runtime codex", Sel("sonnet"), Rt("codex")},
      {"dash value that is not an option", "/model sonnet --runtime -x",
       "/model sonnet --runtime -x", Sel("sonnet"), Rt("-x")},
      {"runtime glued to the keyword after a model (oracle)", "/model sonnet --runtimecodex",
       "/model sonnet --runtimecodex", Sel("sonnet"), Rt("codex")},
      {"space after harness= (oracle)", "/model opus harness= default",
       "/model opus harness= default", Sel("opus"), Rt("default")},

      // A reference may not start with an option; other dashes are ids.
      {"dash id", "/model -x", "/model -x", Sel("-x")},
      {"dash digit id", "/model -5", "/model -5", Sel("-5")},
      {"-s5 is an id", "/model -s5", "/model -s5", Sel("-s5")},
      {"double dash id", "/model --foo", "/model --foo", Sel("--foo")},

      // PLAIN stops at the first character outside its class.
      {"comma ends the reference", "/model opus,", "/model opus", Sel("opus")},
      {"non-ASCII letter ends the reference", "/model s\u00f6nnet", "/model s", Sel("s")},
      {"emoji is no reference", "/model \U0001F99E", "/model", kSummary},
      {"parenthesis is no reference", "/model (opus)", "/model", kSummary},
      {"fullwidth letters are no reference", "/model \uFF33\uFF2F\uFF2E\uFF2E\uFF25\uFF34",
       "/model", kSummary},
      {"slash followed by space ends the reference", "/model a/ b", "/model a", Sel("a")},
      {"double slash ends the reference", "/model a//b", "/model a", Sel("a")},
      {"leading slash is no reference", "/model /x", "/model", kSummary},
      {"trailing dot is part of the id", "/model opus.", "/model opus.", Sel("opus.")},
      {"apostrophe ends the reference", "/model o'pus", "/model o", Sel("o")},

      // Ids with several slashes and the @ split.
      {"three-part id", "/model openrouter/meta-llama/llama-3.3-70b-instruct",
       "/model openrouter/meta-llama/llama-3.3-70b-instruct",
       Sel("openrouter/meta-llama/llama-3.3-70b-instruct")},
      {"a/b/c", "/model a/b/c", "/model a/b/c", Sel("a/b/c")},
      {"profile after a three-part id", "/model openrouter/moonshotai/kimi-k2.5@openrouter:default",
       "/model openrouter/moonshotai/kimi-k2.5@openrouter:default",
       Sel("openrouter/moonshotai/kimi-k2.5", "openrouter:default")},
      {"@ before the last slash is part of the id", "/model a@x/b", "/model a@x/b", Sel("a@x/b")},
      {"date version then profile", "/model anthropic/claude-3-5-sonnet@20240620@anthropic:default",
       "/model anthropic/claude-3-5-sonnet@20240620@anthropic:default",
       Sel("anthropic/claude-3-5-sonnet@20240620", "anthropic:default")},
      {"quantisation tag then profile", "/model ollama/llama3@q4_K_M@anthropic:work",
       "/model ollama/llama3@q4_K_M@anthropic:work",
       Sel("ollama/llama3@q4_K_M", "anthropic:work")},
      {"profile right after a slash", "/model a/@x", "/model a/@x", Sel("a/", "x")},
      {"leading @ is an id", "/model @anthropic:work", "/model @anthropic:work",
       Sel("@anthropic:work")},
      {"lone @ is an id", "/model @", "/model @", Sel("@")},
      {"trailing @ is an id", "/model opus@", "/model opus@", Sel("opus@")},
      {"q4_k_m is a tag", "/model llama@q4_k_m", "/model llama@q4_k_m", Sel("llama@q4_k_m")},
      {"8bit is a tag", "/model x@8bit", "/model x@8bit", Sel("x@8bit")},
      {"iq4_xs is a tag", "/model x@iq4_xs", "/model x@iq4_xs", Sel("x@iq4_xs")},
      {"upper-case tag then profile", "/model x@Q4_0@anthropic:work",
       "/model x@Q4_0@anthropic:work", Sel("x@Q4_0", "anthropic:work")},
      {"seven digits are a profile", "/model claude-3-5-sonnet@2024062",
       "/model claude-3-5-sonnet@2024062", Sel("claude-3-5-sonnet", "2024062")},
      {"nine digits are a profile", "/model claude-3-5-sonnet@202406201",
       "/model claude-3-5-sonnet@202406201", Sel("claude-3-5-sonnet", "202406201")},
      {"profile may hold @", "/model sonnet@anthropic:work@x", "/model sonnet@anthropic:work@x",
       Sel("sonnet", "anthropic:work@x")},
      {"date, tag, then profile", "/model x@20240620@q4@p", "/model x@20240620@q4@p",
       Sel("x@20240620@q4", "p")},
      {"a date after a tag is the profile", "/model x@q4@20240620", "/model x@q4@20240620",
       Sel("x@q4", "20240620")},
      {"empty profile after a tag keeps the whole id", "/model x@16bit@", "/model x@16bit@",
       Sel("x@16bit@")},
      {"underscore without group is no tag", "/model x@q4_", "/model x@q4_", Sel("x", "q4_")},
      {"double @ gives a profile starting with @", "/model opus@@x", "/model opus@@x",
       Sel("opus", "@x")},
      {"date without profile", "/model x@20240620@", "/model x@20240620@", Sel("x@20240620@")},

      // Quoted forms: JSON decoding, trimming.
      {"quoted provider/model and profile",
       R"(/model "anthropic/claude-sonnet-4-5"@"anthropic:work")",
       R"(/model "anthropic/claude-sonnet-4-5"@"anthropic:work")",
       Quoted("anthropic/claude-sonnet-4-5", "anthropic:work")},
      {"plain model, quoted profile", R"(/model sonnet@"anthropic:default")",
       R"(/model sonnet@"anthropic:default")", Quoted("sonnet", "anthropic:default")},
      {"decoded model may hold spaces", R"(/model "a b"@"anthropic:work")",
       R"(/model "a b"@"anthropic:work")", Quoted("a b", "anthropic:work")},
      {"empty quoted profile is no profile", R"(/model "sonnet"@"")", R"(/model "sonnet"@"")",
       Quoted("sonnet")},
      {"quoted parts are trimmed", R"(/model " sonnet "@" anthropic:work ")",
       R"(/model " sonnet "@" anthropic:work ")", Quoted("sonnet", "anthropic:work")},
      {"escaped quote", R"(/model "son\"net"@"p")", R"(/model "son\"net"@"p")",
       Quoted("son\"net", "p")},
      {"escaped slash", R"(/model "a\/b"@"p")", R"(/model "a\/b"@"p")", Quoted("a/b", "p")},
      {"unicode escape", R"(/model "\u00e9"@"p")", R"(/model "\u00e9"@"p")",
       Quoted("\u00e9", "p")},
      {"surrogate pair escape", R"(/model "\ud83d\ude00"@"p")", R"(/model "\ud83d\ude00"@"p")",
       Quoted("\U0001F600", "p")},
      {"lone surrogate becomes U+FFFD", R"(/model "\ud800x"@"p")", R"(/model "\ud800x"@"p")",
       Quoted("\uFFFDx", "p")},
      {"escaped tab inside is kept", R"(/model "a\tb"@"p")", R"(/model "a\tb"@"p")",
       Quoted("a\tb", "p")},
      {"decoded unicode space is trimmed", R"(/model "\u00a0sonnet\u3000"@"p")",
       R"(/model "\u00a0sonnet\u3000"@"p")", Quoted("sonnet", "p")},
      {"raw non-ASCII inside quotes", "/model \"s\u00f6nnet\"@\"p\"", "/model \"s\u00f6nnet\"@\"p\"",
       Quoted("s\u00f6nnet", "p")},
      {"quoted form with scope", R"(/model "a"@"p" -s)", R"(/model "a"@"p" -s)", Quoted("a", "p"),
       Opts(kS)},
      {"second quoted profile is text", R"(/model "a"@"p"@"q")", R"(/model "a"@"p")",
       Quoted("a", "p")},
      {"plain part before the quoted profile keeps its @ (oracle)",
       R"(/model opus@@"anthropic:work")", R"(/model opus@@"anthropic:work")",
       Quoted("opus@", "anthropic:work")},
      {"no @ split before a quoted profile (oracle)", R"(/model nosuchmodel@x@"anthropic:work")",
       R"(/model nosuchmodel@x@"anthropic:work")", Quoted("nosuchmodel@x", "anthropic:work")},
      {"quoted profile after plain stops further text (oracle)", R"(/model opus@"anthropic:work"@"x")",
       R"(/model opus@"anthropic:work")", Quoted("opus", "anthropic:work")},

      // Quote refusal: the text holds no /model directive at all.
      {"quoted model without profile", R"(/model "sonnet")", std::nullopt},
      {"unterminated quote", R"(/model "sonnet)", std::nullopt},
      {"empty quotes", R"(/model "")", std::nullopt},
      {"space before the quoted profile", R"(/model "sonnet" @"anthropic:work")", std::nullopt},
      {"unterminated quoted profile", R"(/model sonnet@"anthropic:work)", std::nullopt},
      {"quote after an option (oracle)", R"(/model -s "x")", std::nullopt},
      {"quote after a trailing @ (oracle)", R"(/model sonnet@ "x")", std::nullopt},
      {"quoted model then option (oracle)", R"(/model "sonnet" -s)", std::nullopt},
      {"slash before the quoted profile (oracle)", R"(/model a/@"anthropic:work")", std::nullopt},
      {"refusal also hides the alias shorthand (oracle)", R"(/model "x" /sonnet)", std::nullopt},
      {"quote after a tab", "/model\t\"sonnet\"", std::nullopt},
      {"quote after the colon", R"(/model: "sonnet")", std::nullopt},
      {"raw control character inside quotes", "/model \"a\x01\"@\"p\"", std::nullopt},
      {"invalid JSON escape", R"(/model "a\q"@"p")", std::nullopt},
      {"short unicode escape", R"(/model "\u00e"@"p")", std::nullopt},

      // Not directives.
      {"longer word", "/modelx", std::nullopt},
      {"the /models command", "/models", std::nullopt},
      {"@ right after the word", "/model@anthropic:work", std::nullopt},
      {"no boundary", "foo/model sonnet", std::nullopt},
      {"inside a URL", "https://x/model sonnet", std::nullopt},
      {"fullwidth slash", "\uFF0Fmodel sonnet", std::nullopt},
      {"space after the slash", "/ model sonnet", std::nullopt},
      {"double slash", "//model sonnet", std::nullopt},
      {"zero-width space is not whitespace", "x /model\u200Bsonnet", std::nullopt},
      {"zero-width space before the slash", "x\u200B/model sonnet", std::nullopt},
      {"zero-width space after the word", "/model\u200B", std::nullopt},
      {"no slash", "model sonnet", std::nullopt},
      {"empty message", "", std::nullopt},
      {"shorter word", "/mode sonnet", std::nullopt},
      {"quote before the slash", "\"/model sonnet\"", std::nullopt},
      {"parenthesis before the slash", "(/model sonnet)", std::nullopt},
      {"invalid byte before the slash", "\xff/model sonnet", std::nullopt},
      {"truncated sequence before the slash", "\xc2/model opus", std::nullopt},

      // Whitespace is the JavaScript \s class.
      {"no-break space after the word", "/model\u00A0sonnet", "/model\u00A0sonnet", Sel("sonnet")},
      {"no-break space before the slash", "\u00A0/model sonnet", "/model sonnet", Sel("sonnet")},
      {"ideographic space", "/model\u3000sonnet", "/model\u3000sonnet", Sel("sonnet")},
      {"byte order mark after the word", "/model\uFEFFopus", "/model\uFEFFopus", Sel("opus")},
      {"byte order mark before the slash", "\uFEFF/model opus", "/model opus", Sel("opus")},
      {"line separator", "/model\u2028sonnet", "/model\u2028sonnet", Sel("sonnet")},
      {"paragraph separator", "/model\u2029sonnet", "/model\u2029sonnet", Sel("sonnet")},
      {"ogham space mark", "/model\u1680sonnet", "/model\u1680sonnet", Sel("sonnet")},
      {"en quad", "/model\u2000sonnet", "/model\u2000sonnet", Sel("sonnet")},
      {"hair space", "/model\u200Asonnet", "/model\u200Asonnet", Sel("sonnet")},
      {"narrow no-break space", "/model\u202Fsonnet", "/model\u202Fsonnet", Sel("sonnet")},
      {"medium mathematical space", "/model\u205Fsonnet", "/model\u205Fsonnet", Sel("sonnet")},
      {"vertical tab", "/model\vsonnet", "/model\vsonnet", Sel("sonnet")},
      {"form feed", "/model\fsonnet", "/model\fsonnet", Sel("sonnet")},
      {"CRLF between word and reference", "/model\r\nsonnet", "/model\r\nsonnet", Sel("sonnet")},
      {"directive on its own line", "hello\n/model sonnet\nworld", "/model sonnet", Sel("sonnet")},
      {"directive on its own CRLF line", "hello\r\n/model sonnet\r\nworld", "/model sonnet",
       Sel("sonnet")},
      {"no-break space before a scope", "/model sonnet\u00A0-s", "/model sonnet\u00A0-s",
       Sel("sonnet"), Opts(kS)},
      {"tabs around the parts", "/model\tsonnet\t-s", "/model\tsonnet\t-s", Sel("sonnet"),
       Opts(kS)},
      {"vertical tab before a scope (oracle)", "/model opus\v-s", "/model opus\v-s", Sel("opus"),
       Opts(kS)},
      {"zero-width space ends the reference", "/model sonnet\u200B", "/model sonnet",
       Sel("sonnet")},
      {"several spaces of several kinds", "/model \u00A0 sonnet  ", "/model \u00A0 sonnet",
       Sel("sonnet")},
      {"invalid byte ends the reference", "/model sonnet\xff", "/model sonnet", Sel("sonnet")},
      {"raw no-break space bytes", "/model\xc2\xa0opus", "/model\xc2\xa0opus", Sel("opus")},

      // The alias shorthand, aliases opus, sonnet, llama.
      {"shorthand", "/sonnet", "/sonnet", Sel("sonnet"), {}, true},
      {"shorthand keeps the case as typed", "/Sonnet", "/Sonnet", Sel("Sonnet"), {}, true},
      {"shorthand with colon", "/sonnet:", "/sonnet:", Sel("sonnet"), {}, true},
      {"shorthand with colon and scope", "/sonnet: -s", "/sonnet: -s", Sel("sonnet"), Opts(kS),
       true},
      {"shorthand with scope", "/sonnet -s", "/sonnet -s", Sel("sonnet"), Opts(kS), true},
      {"shorthand with runtime", "/opus --runtime default", "/opus --runtime default", Sel("opus"),
       Rt("default"), true},
      {"shorthand with runtime and scope", "/llama: -a --runtime pi", "/llama: -a --runtime pi",
       Sel("llama"), Rt("pi", kA), true},
      {"shorthand takes no profile", "/sonnet@anthropic:work", std::nullopt},
      {"shorthand needs the whole word", "/sonnetx", std::nullopt},
      {"inline shorthand", "x /sonnet y", "/sonnet", Sel("sonnet"), {}, true},
      {"shorthand in upper case inline", "please /OPUS", "/OPUS", Sel("OPUS"), {}, true},
      {"shorthand scope conflict", "/sonnet -s -a", "/sonnet -s", Sel("sonnet"), Conflict(kS),
       true},
      {"shorthand takes no reference", "/sonnet status", "/sonnet", Sel("sonnet"), {}, true},
      {"shorthand with a unicode space before the scope", "/sonnet\u00A0-g", "/sonnet\u00A0-g",
       Sel("sonnet"), Opts(kG), true},
      {"/model wins over a shorthand", "/model sonnet /opus", "/model sonnet", Sel("sonnet")},
      {"an unconfigured alias is text", "/quick", std::nullopt},
      {"a later shorthand is found", "see https://a/b and /llama", "/llama", Sel("llama"), {},
       true},
  };
  return rows;
}

BOOST_AUTO_TEST_CASE(EveryDirectiveFormIsRecognisedAsOpenClawDoes) {
  size_t index = 0;
  for (const DirectiveRow& row : DirectiveRows()) {
    BOOST_TEST_CONTEXT("row " << index++ << " (" << row.behaviour << "): " << Quote(row.input)) {
      std::optional<ModelDirective> expected;
      if (row.matched) {
        const size_t begin = row.input.find(*row.matched);
        BOOST_REQUIRE_MESSAGE(begin != std::string::npos, "table error: span text not in input");
        expected = ModelDirective{Span{begin, begin + row.matched->size()}, row.action,
                                  row.options, row.shorthand};
      }
      const std::optional<ModelDirective> actual = FindAny(row.input);
      BOOST_TEST(Describe(row.input, actual) == Describe(row.input, expected));
      BOOST_TEST((actual == expected));
    }
  }
  BOOST_TEST(DirectiveRows().size() >= 150u);
}

BOOST_AUTO_TEST_CASE(AliasShorthandIsNotSearchedWhileAModelDirectiveExists) {
  // FindAliasShorthand on its own: any "/model" candidate (even a refused one) rules it out.
  BOOST_TEST(!FindAliasShorthand("/model sonnet /opus", kAliases).has_value());
  BOOST_TEST(!FindAliasShorthand(R"(/model "x" /opus)", kAliases).has_value());
  BOOST_TEST(FindAliasShorthand("/modelx /opus", kAliases).has_value());
  // Aliases are compared ASCII case-insensitively and trimmed; blank ones never match.
  const std::vector<std::string> odd = {"", "  ", " Quick "};
  const auto d = FindAliasShorthand("/QUICK -s", odd);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST((d->action == ModelAction{model::Select{"QUICK", std::nullopt, false}}));
  BOOST_TEST(!FindAliasShorthand("/ -s", odd).has_value());
  // With several candidates at one position the first alias in the list that ends a word wins.
  const std::vector<std::string> prefixes = {"op", "opus"};
  const auto p = FindAliasShorthand("/opus", prefixes);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->span.end == 5u);
}

// ---------------------------------------------------------------------------------------------
// What remains after removal.

struct RemovalRow {
  const char* behaviour;
  std::string input;
  std::optional<Span> span;  // nullopt: the span FindModelDirective reports
  std::string expected;
};

BOOST_AUTO_TEST_CASE(RemovingASpanLeavesTheTextOpenClawGivesTheAgent) {
  const std::vector<RemovalRow> rows = {
      // The spaces around a directive inside a line of text.
      {"the following space goes", "hello /model sonnet please", std::nullopt, "hello please"},
      {"the preceding space goes at the end", "please use /model opus", std::nullopt,
       "please use"},
      {"a leading directive takes its space", "/model opus thanks", std::nullopt, "thanks"},
      {"colon form", "hello /model: opus world", std::nullopt, "hello world"},
      {"upper case", "tell me /MODEL Sonnet now", std::nullopt, "tell me now"},
      {"inline status", "x /model status", std::nullopt, "x"},
      {"list leaves the provider", "/model list anthropic", std::nullopt, "anthropic"},
      {"a runtime option without value stays", "/model sonnet --runtime", std::nullopt,
       "--runtime"},
      // The line rules.
      {"a directive alone on its line takes the line", "hello\n/model sonnet\nworld",
       std::nullopt, "hello\nworld"},
      {"indented line with trailing blanks", "a\n  /model opus \t\nb", std::nullopt, "a\nb"},
      {"CRLF line", "a\r\n/model opus\r\nb", std::nullopt, "a\r\nb"},
      {"last line keeps the previous break", "hello\n/model sonnet", std::nullopt, "hello\n"},
      {"only the directive: empty", "/model sonnet", std::nullopt, ""},
      {"only whitespace remains: empty", "  /model sonnet -s \u00A0 ", std::nullopt, ""},
      {"space before a line break goes", "hello /model opus\nworld", std::nullopt,
       "hello\nworld"},
      {"a lone CR ends the span like a line break", "hello /model opus\rworld", std::nullopt,
       "hello\rworld"},
      {"a tab after the span goes", "a /model opus\tb", std::nullopt, "a b"},
      {"only one following space goes", "a /model opus   b", std::nullopt, "a   b"},
      {"a no-break space after the span stays", "a /model opus\u00A0b", std::nullopt,
       "a \u00A0b"},
      {"leading whitespace is not trimmed", "  x /model opus", std::nullopt, "  x"},
      {"form feed after the span stays (oracle)", "/model opus\fthere", std::nullopt, "\fthere"},
      {"nothing else on the line but text before", "x\n/model opus y", std::nullopt, "x\ny"},
      // Explicit spans, as plugin grammars produce them.
      {"empty span at the start", "abc", Span{0, 0}, "abc"},
      {"span past the end is clamped", "ab /x", Span{3, 99}, "ab"},
      {"inverted span is empty", "ab cd", Span{4, 1}, "ab cd"},
      {"whole text", "/think high", Span{0, 11}, ""},
  };
  for (const RemovalRow& row : rows) {
    BOOST_TEST_CONTEXT(row.behaviour << ": " << Quote(row.input)) {
      Span span;
      if (row.span) {
        span = *row.span;
      } else {
        const auto d = FindModelDirective(row.input);
        BOOST_REQUIRE(d.has_value());
        span = d->span;
      }
      BOOST_TEST(Quote(RemoveSpan(row.input, span)) == Quote(row.expected));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// /models arguments.

ModelsCommand Providers() { return ModelsCommand{}; }
ModelsCommand List(std::string provider, int page = 1, int page_size = 20, bool all = false) {
  return ModelsCommand{ModelsCommand::Kind::kList, std::move(provider), page, page_size, all};
}
ModelsCommand Add(std::string provider) {
  return ModelsCommand{ModelsCommand::Kind::kAdd, std::move(provider), 1, 20, false};
}

std::string Describe(const std::optional<ModelsCommand>& c) {
  if (!c) return "not /models";
  static const char* const kKinds[] = {"providers", "list", "add"};
  std::ostringstream out;
  out << kKinds[static_cast<int>(c->kind)] << " provider=" << Quote(c->provider)
      << " page=" << c->page << " size=" << c->page_size << (c->all ? " all" : "");
  return out.str();
}

BOOST_AUTO_TEST_CASE(ModelsArgumentsAreParsedAsOpenClawDoes) {
  struct Row {
    const char* behaviour;
    std::string input;
    std::optional<ModelsCommand> expected;
  };
  const std::vector<Row> rows = {
      {"bare command", "/models", Providers()},
      {"surrounding whitespace", "  /models \t", Providers()},
      {"providers keyword", "/models providers", Providers()},
      {"providers ignores the rest (oracle)", "/models providers extra", Providers()},
      {"colon form", "/models:", Providers()},
      {"colon form with provider (oracle)", "/models: anthropic", List("anthropic")},
      {"colon glued to provider", "/models:anthropic", List("anthropic")},
      {"space before colon", "/models : anthropic 2", List("anthropic", 2)},
      {"provider is lower-cased", "/models Anthropic", List("anthropic")},
      {"command word in upper case (oracle)", "/MODELS anthropic 2", List("anthropic", 2)},
      {"list keyword", "/models list anthropic", List("anthropic")},
      {"list without provider is the providers view (oracle)", "/models list", Providers()},
      {"list with all (oracle)", "/models list anthropic all", List("anthropic", 1, 20, true)},
      {"--all (oracle)", "/models anthropic --all", List("anthropic", 1, 20, true)},
      {"ALL in upper case", "/models anthropic ALL", List("anthropic", 1, 20, true)},
      {"bare page number", "/models anthropic 3", List("anthropic", 3)},
      {"page=", "/models anthropic page=2", List("anthropic", 2)},
      {"PAGE= in upper case", "/models anthropic PAGE=4", List("anthropic", 4)},
      {"signed numbers count (oracle)", "/models anthropic page=+1 limit=+5",
       List("anthropic", 1, 5)},
      {"limit=", "/models anthropic limit=5", List("anthropic", 1, 5)},
      {"size=", "/models anthropic 0 size=3", List("anthropic", 1, 3)},
      {"page size is capped at 100 (oracle)", "/models ANTHROPIC 2 limit=200",
       List("anthropic", 2, 100)},
      {"limit=100 exactly", "/models anthropic limit=100", List("anthropic", 1, 100)},
      {"page and limit (oracle)", "/models anthropic page=2 limit=5", List("anthropic", 2, 5)},
      {"zero page is ignored", "/models anthropic 0", List("anthropic")},
      {"negative page is ignored", "/models anthropic -2", List("anthropic")},
      {"page=0 is ignored", "/models anthropic page=0", List("anthropic")},
      {"limit=0 is ignored", "/models anthropic limit=0", List("anthropic")},
      {"non-numeric page is ignored", "/models anthropic two page=x limit=1.5",
       List("anthropic")},
      {"leading zeros", "/models anthropic 007", List("anthropic", 7)},
      {"beyond 2^53 is ignored (oracle)", "/models anthropic 9007199254740993", List("anthropic")},
      {"large pages saturate", "/models anthropic 9007199254740991",
       List("anthropic", 2147483647)},
      {"the last page wins", "/models anthropic 2 3", List("anthropic", 3)},
      {"limit= in the provider position is the provider too (oracle)", "/models limit=3",
       List("limit=3", 1, 3)},
      {"add is deprecated", "/models add x y", Add("x")},
      {"ADD without arguments", "/models ADD", Add("")},
      {"/modelsfoo is the provider /modelsfoo (oracle)", "/modelsfoo", List("/modelsfoo")},
      {"/modelsfoo with page", "/modelsfoo 2", List("/modelsfoo", 2)},
      {"/Modelsfoo is not the command (oracle)", "/Modelsfoo", std::nullopt},
      {"/MODELSFOO is not the command", "/MODELSFOO bar", std::nullopt},
      {"/models-x gives provider -x (oracle)", "/models-x", List("-x")},
      {"/models. gives provider .", "/models.", List(".")},
      {"only the first line counts", "/models anthropic\n2", List("anthropic")},
      {"CRLF first line", "/models anthropic 2\r\nall", List("anthropic", 2)},
      {"unicode space between tokens", "/models\u00A0anthropic\u30002", List("anthropic", 2)},
      {"tabs between tokens", "/models\tanthropic\t\tall", List("anthropic", 1, 20, true)},
      {"not a command: /model", "/model list", std::nullopt},
      {"not a command: text first", "see /models", std::nullopt},
      {"not a command: space after slash", "/ models", std::nullopt},
      {"not a command: empty", "", std::nullopt},
      {"not a command: other word with colon", "/think: high", std::nullopt},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.behaviour << ": " << Quote(row.input)) {
      const auto actual = ParseModelsCommand(row.input);
      BOOST_TEST(Describe(actual) == Describe(row.expected));
      BOOST_TEST((actual == row.expected));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The fast pre-check.

// The definition MayHoldDirective implements, written the slow obvious way.
bool MayHoldDirectiveReference(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '/' || i + 1 >= text.size()) continue;
    if ((i == 0 || text::SpaceBefore(text, i) > 0) && text::SpaceAt(text, i + 1) == 0) return true;
  }
  return false;
}

BOOST_AUTO_TEST_CASE(PreCheckIsFalseOnlyWhenNoSlashStartsAWordAtABoundary) {
  struct Row {
    std::string input;
    bool expected;
  };
  std::vector<Row> rows = {
      {"", false},
      {"hello world", false},
      {"/", false},
      {"/ x", false},
      {"x /", false},
      {"/model", true},
      {"/x", true},
      {"hello /think", true},
      {"https://example.com/a/b", false},
      {"and/or", false},
      {"a /\u00A0b", false},
      {"\u00A0/x", true},
      {"\u3000/x", true},
      {"\uFEFF/x", true},
      {"\u2028/x", true},
      {"\u200B/x", false},
      {"\xff/x", false},
      {"\xc2/x", false},
      {"x\t/models", true},
      {"x\n/sonnet", true},
      {"x\r\n/y", true},
      {"//", true},  // a slash at the start followed by a non-space
      {"x //", true},
      {"\u00e9/x", false},
      {"\u2018/x", false},  // ends in 80 98: looks like a three-byte space to the fast filter
  };
  // Boundaries at every offset of a block, so that each SIMD lane and the scalar tail are hit.
  for (size_t pad = 0; pad < 40; ++pad) {
    const std::string filler(pad, 'a');
    rows.push_back({filler + " /x" + filler, true});
    rows.push_back({filler + "\xe3\x80\x80/x" + filler, true});
    rows.push_back({filler + "\xc2\xa0/x" + filler, true});
    rows.push_back({filler + "a/x" + filler, false});
    rows.push_back({filler + " / " + filler, false});
    rows.push_back({filler + "\xe2\x80\x98/x" + filler, false});
    rows.push_back({filler + " /", false});
  }
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(Quote(row.input)) {
      BOOST_TEST(MayHoldDirective(row.input) == row.expected);
      BOOST_TEST(MayHoldDirectiveReference(row.input) == row.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(MegabyteMessagesAreScannedInLinearTime) {
  constexpr size_t kMegabyte = 1 << 20;
  const std::string slashes(kMegabyte, '/');
  BOOST_TEST(MayHoldDirective(slashes));  // the first slash starts a word at the start
  BOOST_TEST(!FindModelDirective(slashes).has_value());
  BOOST_TEST(!FindAliasShorthand(slashes, kAliases).has_value());
  BOOST_TEST(!FindWord(slashes, "model").has_value());

  const std::string after_x = "x" + slashes;
  BOOST_TEST(!MayHoldDirective(after_x));

  std::string urls;
  while (urls.size() < kMegabyte) urls += "https://a/b/ ";
  BOOST_TEST(!MayHoldDirective(urls));
  BOOST_TEST(!FindModelDirective(urls).has_value());
  BOOST_TEST(!FindAliasShorthand(urls, kAliases).has_value());
  BOOST_TEST(!ParseModelsCommand(urls).has_value());

  const std::string tail = urls + "/model sonnet -s";
  BOOST_TEST(MayHoldDirective(tail));
  const auto d = FindModelDirective(tail);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(d->span.begin == urls.size());
  BOOST_TEST(d->span.end == tail.size());
  BOOST_TEST((d->action == Sel("sonnet")));
  BOOST_TEST(RemoveSpan(tail, d->span).size() == urls.size() - 1);

  // Many /model words: only the option-only form is tried at each, and each try stops early.
  std::string words;
  while (words.size() < kMegabyte) words += "/model x ";
  words += "/model -s";
  const auto last = FindModelDirective(words);
  BOOST_REQUIRE(last.has_value());
  BOOST_TEST(last->span.end == words.size());

  // A megabyte-long reference and a megabyte-long quoted string.
  const std::string long_ref = "/model " + std::string(kMegabyte, 'a');
  BOOST_TEST(FindModelDirective(long_ref)->span.end == long_ref.size());
  const std::string long_quote = "/model \"" + std::string(kMegabyte, 'a') + "\"@\"p\"";
  BOOST_TEST(FindModelDirective(long_quote)->span.end == long_quote.size());
  const std::string spaces = "/model" + std::string(kMegabyte, ' ') + "x";
  BOOST_TEST(FindModelDirective(spaces)->span.end == spaces.size());
}

// ---------------------------------------------------------------------------------------------
// Property test: random, mostly hostile byte strings through every entry point.

std::string RandomMessage(std::mt19937_64& rng) {
  static const char* const kPieces[] = {
      "/", "/model", "/MODEL", "/models", "model", "/sonnet", "/opus", "@", "@@", "\"", "\\",
      "\\u", "\\ud83d", "\\ude00", "\\n", " ", "  ", "\t", "\n", "\r\n", "\r", "\v", "\f",
      "\u00A0", "\u3000", "\uFEFF", "\u200B", "\u2028", ":", "::", "-s", "-a", "-g", "--session",
      "--agent", "--global", "--runtime", "runtime=", "harness=", "codex", "sonnet", "opus",
      "status", "list", "default", "anthropic:work", "anthropic/", "a/b", "20240620", "q4_k_m",
      "8bit", "3", "007", "page=", "limit=", "size=", "all", "--all", "add", "providers",
      "https://a/b/", "\xff", "\xc2", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x01",
      "\u00e9", "\U0001F99E", ",", "(", "x"};
  constexpr size_t kCount = sizeof kPieces / sizeof kPieces[0];
  std::string out;
  const size_t pieces = rng() % 24;
  for (size_t i = 0; i < pieces; ++i) {
    if (rng() % 8 == 0) {
      out.push_back(static_cast<char>(rng() & 0xFF));  // any byte at all
    } else {
      out += kPieces[rng() % kCount];
    }
  }
  return out;
}

void CheckDirectiveInvariants(std::string_view text, const std::optional<ModelDirective>& d) {
  if (!d) return;
  BOOST_TEST(d->span.begin <= d->span.end);
  BOOST_TEST(d->span.end <= text.size());
  BOOST_TEST(text[d->span.begin] == '/');
  BOOST_TEST(RemoveSpan(text, d->span).size() <= text.size());
  if (const auto* s = std::get_if<model::Select>(&d->action)) {
    BOOST_TEST(!s->model.empty());
    BOOST_TEST(text::SanitizeUtf8(s->model) == s->model);
    if (s->profile) BOOST_TEST(!s->profile->empty());
  }
}

BOOST_AUTO_TEST_CASE(RandomMessagesNeverBreakAnyEntryPoint) {
  std::mt19937_64 rng(20261124);
  size_t directives = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string text = RandomMessage(rng);
    BOOST_TEST_CONTEXT(Quote(text)) {
      try {
        const bool may = MayHoldDirective(text);
        BOOST_TEST(may == MayHoldDirectiveReference(text));

        const auto d = FindModelDirective(text);
        const auto a = FindAliasShorthand(text, kAliases);
        const auto m = ParseModelsCommand(text);
        const auto w = FindWord(text, "model", rng() % (text.size() + 1));
        if (!may && (d || a || m || w)) BOOST_ERROR("the pre-check missed a directive");
        CheckDirectiveInvariants(text, d);
        CheckDirectiveInvariants(text, a);
        if (d && a) BOOST_ERROR("alias shorthand found next to a /model directive");
        if (w) BOOST_TEST((w->begin < w->end && w->end <= text.size()));
        directives += d.has_value();

        const Span random_span{rng() % (text.size() + 2), rng() % (text.size() + 2)};
        BOOST_TEST(RemoveSpan(text, random_span).size() <= text.size());

        const std::string_view trimmed = text::Trim(text);
        BOOST_TEST(text::Trim(trimmed) == trimmed);
        const std::string clean = text::SanitizeUtf8(text);
        BOOST_TEST(text::SanitizeUtf8(clean) == clean);
      } catch (...) {
        BOOST_ERROR("an entry point threw");
      }
    }
  }
  BOOST_TEST(directives > 1000u);  // the generator does reach the grammar
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

BOOST_AUTO_TEST_CASE(Utf8DecodingNeverFailsAndNeverReadsPastTheEnd) {
  struct Row {
    std::string bytes;
    size_t length;
    char32_t cp;
  };
  const std::vector<Row> rows = {
      {"a", 1, U'a'},
      {"\xc2\xa0", 2, 0xA0},
      {"\xe3\x80\x80", 3, 0x3000},
      {"\xf0\x9f\xa6\x9e", 4, 0x1F99E},
      {"\xc2", 1, 0xFFFD},             // truncated
      {"\xe3\x80", 1, 0xFFFD},         // truncated
      {"\xc0\xaf", 1, 0xFFFD},         // overlong
      {"\xed\xa0\x80", 1, 0xFFFD},     // surrogate
      {"\xf4\x90\x80\x80", 1, 0xFFFD}, // above U+10FFFF
      {"\x80", 1, 0xFFFD},             // lone continuation
      {"\xff", 1, 0xFFFD},
  };
  for (const Row& row : rows) {
    char32_t cp = 0;
    BOOST_TEST(text::DecodeUtf8(row.bytes, 0, &cp) == row.length);
    BOOST_TEST(static_cast<uint32_t>(cp) == static_cast<uint32_t>(row.cp));
  }
}

BOOST_AUTO_TEST_CASE(WhitespaceIsTheJavaScriptClass) {
  for (char32_t cp : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', U'\u00A0', U'\u1680', U'\u2000',
                      U'\u2005', U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F',
                      U'\u3000', U'\uFEFF'}) {
    BOOST_TEST(text::IsSpace(cp));
  }
  for (char32_t cp : {U'a', U'\u200B', U'\u0085', U'\u180E', U'\u2060', U'\0', U'\x1C'}) {
    BOOST_TEST(!text::IsSpace(cp));
  }
  BOOST_TEST(text::SpaceAt("a\u00A0", 1) == 2u);
  BOOST_TEST(text::SpaceAt("a\u00A0", 2) == 0u);  // the middle of a character
  BOOST_TEST(text::SpaceAt("a", 5) == 0u);
  BOOST_TEST(text::SpaceBefore("\u3000/", 3) == 3u);
  BOOST_TEST(text::SpaceBefore("\u2018/", 3) == 0u);
  BOOST_TEST(text::SpaceBefore(" ", 0) == 0u);
  BOOST_TEST(text::Trim(" \u00A0\uFEFFa b\u3000\t") == "a b");
  BOOST_TEST(text::Trim("\u200Ba\u200B") == "\u200Ba\u200B");
  BOOST_TEST(text::Trim(" \t ").empty());
  BOOST_TEST(text::ToLower("AbC-\u00C9") == "abc-\u00C9");
  BOOST_TEST(text::EqualsLower("MoDeL", "model"));
  BOOST_TEST(!text::EqualsLower("models", "model"));
  BOOST_TEST(text::StartsWithLower("MODELS", "model"));
  BOOST_TEST(!text::StartsWithLower("MOD", "model"));
  BOOST_TEST(text::SanitizeUtf8("a\xff\xc2" "b\u00e9") == "a\uFFFD\uFFFDb\u00e9");
}

BOOST_AUTO_TEST_CASE(FindWordRespectsBoundaryAndWordEnd) {
  BOOST_TEST((FindWord("x /Think: high", "think") == Span{2, 8}));
  BOOST_TEST(!FindWord("x/think", "think").has_value());
  BOOST_TEST(!FindWord("/thinking", "think").has_value());
  BOOST_TEST((FindWord("/think /think", "think", 1) == Span{7, 13}));
  BOOST_TEST(!FindWord("/think", "think", 99).has_value());
  BOOST_TEST((FindWord("\u00A0/think\u3000", "think") == Span{2, 8}));
}

// ---------------------------------------------------------------------------------------------
// Level directives (/think, /t, /thinking): how far the argument reaches.

std::string_view IsTestLevel(std::string_view run) {
  return run == "high" || run == "low" || run == "think" ? run : std::string_view();
}
constexpr std::string_view kThinkNames[] = {"thinking", "think", "t"};

// "<argument or -> | <text left after removing the directive>", or "none".
std::string Level(std::string_view text) {
  auto d = FindLevelDirective(text, kThinkNames, IsTestLevel);
  if (!d) return "none";
  return (d->argument ? *d->argument : "-") + " | " + RemoveSpan(text, d->span);
}

BOOST_AUTO_TEST_CASE(LevelDirectiveArgumentRules) {
  BOOST_TEST(Level("/think high") == "high | ");
  BOOST_TEST(Level("/t high") == "high | ");
  BOOST_TEST(Level("/THINKING low") == "low | ");
  BOOST_TEST(Level("/think") == "- | ");
  BOOST_TEST(Level("/think: high") == "high | ");
  BOOST_TEST(Level("/think:high") == "high | ");
  BOOST_TEST(Level("/think :high") == "high | ");
  // Not a level, but nothing follows: still the argument (the plugin calls it unrecognised).
  BOOST_TEST(Level("/think nonsense") == "nonsense | ");
  BOOST_TEST(Level("/think nonsense  ") == "nonsense | ");
  // Not a level and text follows: no argument, the word stays in the text.
  BOOST_TEST(Level("/think hard hello") == "- | hard hello");
  // The run is letters and '-' only: "high2" gives "high" and leaves "2"; "hi_gh" is no level.
  BOOST_TEST(Level("/think high2") == "high | 2");
  BOOST_TEST(Level("/think hi_gh") == "- | hi_gh");
  BOOST_TEST(Level("/think think_hard") == "think | _hard");
  BOOST_TEST(Level("/think high hello") == "high | hello");
  BOOST_TEST(Level("hello /t low") == "low | hello");
  // The leftmost of the names wins; words that only start with a name are not directives.
  BOOST_TEST(Level("a /thinking high /t low") == "high | a /t low");
  BOOST_TEST(Level("/tx high") == "none");
  BOOST_TEST(Level("x/t high") == "none");
  BOOST_TEST(Level("/think\u00A0high") == "high | ");
}

// /queue: tokens read left to right; "[reset] mode=<m> debounce=<d> cap=<c> drop=<p> | rest".
bool IsTestMode(std::string_view token) { return token == "steer" || token == "collect"; }

std::string Queue(std::string_view text) {
  auto d = FindQueueDirective(text, IsTestMode);
  if (!d) return "none";
  std::string out = d->reset ? "reset " : "";
  auto field = [&](const char* name, const std::optional<std::string>& v) {
    if (v) out += std::string(name) + "=" + *v + " ";
  };
  field("mode", d->mode);
  field("debounce", d->debounce);
  field("cap", d->cap);
  field("drop", d->drop);
  return out + "| " + RemoveSpan(text, d->span);
}

BOOST_AUTO_TEST_CASE(QueueDirectiveTokens) {
  BOOST_TEST(Queue("/queue") == "| ");
  BOOST_TEST(Queue("/queue steer") == "mode=steer | ");
  BOOST_TEST(Queue("/queue steer collect") == "mode=collect | ");           // the last mode wins
  BOOST_TEST(Queue("/queue nonsense") == "mode=nonsense | ");               // unknown first: the mode as typed
  BOOST_TEST(Queue("/queue nonsense steer") == "mode=nonsense | steer");
  BOOST_TEST(Queue("/queue steer nonsense") == "mode=steer | nonsense");    // unknown later: stays in the text
  BOOST_TEST(Queue("/queue cap:5 nonsense") == "cap=5 | nonsense");
  BOOST_TEST(Queue("/queue collect debounce:3s cap=7 DROP:old") == "mode=collect debounce=3s cap=7 drop=old | ");
  BOOST_TEST(Queue("/queue debounce:2s:9") == "debounce=2s | ");           // up to the next ':' or '='
  BOOST_TEST(Queue("/queue debounce:") == "debounce= | ");
  BOOST_TEST(Queue("/queue debounce:1s reset steer") == "reset debounce=1s | steer");  // reset ends it
  BOOST_TEST(Queue("/queue: steer") == "mode=steer | ");
  BOOST_TEST(Queue("/queue:collect") == "mode=collect | ");
  BOOST_TEST(Queue("hi /QUEUE Steer there") == "mode=Steer | hi there");
  BOOST_TEST(Queue("/queues steer") == "none");
}

// ---------------------------------------------------------------------------------------------
// The PEGTL grammar itself.

// FindModelDirective answers "/model <plain reference>" without the grammar: on texts built
// around that form (and near misses: other characters, spaces, options, profiles, quotes, a
// second /model, upper case), its answer must be the grammar's, and the short way must have
// taken the texts it claims.
BOOST_AUTO_TEST_CASE(SimpleSelectAgreesWithTheGrammar) {
  const std::vector<std::string> heads = {"/model ", "/model  ", "/Model ", "/model\t", "/models ", "x /model ", "/model"};
  const std::vector<std::string> refs = {"sonnet", "opus", "anthropic/claude-sonnet-4-5", "gpt-4.1", "default",
                                         "DEFAULT", "status", "list", "2", "42", "explain", "history", "undo",
                                         "openrouter/anthropic/claude-3.5:beta", "a", "Z9", "sonnet@anthropic:work"};
  // Characters a reference may and may not hold, for random references and tails.
  const std::string alphabet = "abcXYZ019._-/:@\"=' \t\n-#!?,;()[]{}\xc3\xa9";
  const std::vector<std::string> tails = {"", " ", "  ", "\n", " -s", " --once", " --turns 3", " --for 2h", " hello",
                                          " /model opus", "@x", "@", " runtime=codex", " --runtime codex", "\"", "."};
  std::mt19937 rng(12345);
  const std::string plain = "abcXYZ019._-/:";  // what the short way takes (but for the first character)
  auto random_ref = [&] {
    std::string r;
    const size_t n = 1 + rng() % 12;
    const std::string& from = rng() % 2 ? plain : alphabet;  // half of them plain but perhaps for one character
    for (size_t i = 0; i < n; ++i) r += from[rng() % from.size()];
    if (rng() % 4 == 0) r[rng() % r.size()] = alphabet[rng() % alphabet.size()];
    return r;
  };
  size_t compared = 0, simple = 0;
  auto check = [&](const std::string& text) {
    const auto fast = FindModelDirective(text);
    const auto grammar = FindModelDirectiveByGrammar(text);
    BOOST_TEST_INFO("text " << Quote(text));
    BOOST_TEST(Describe(text, fast) == Describe(text, grammar));
    BOOST_TEST((fast == grammar));
    if (FindSimpleModelSelect(text)) {
      ++simple;
      BOOST_TEST((FindSimpleModelSelect(text) == grammar));
    }
    // The form that writes into a reused directive: one that held another directive before.
    ModelDirective into = *FindModelDirective("/model x@p --runtime codex --once -s");
    const bool found = FindModelDirective(text, into);
    BOOST_TEST(found == grammar.has_value());
    if (found && grammar) BOOST_TEST((into == *grammar));
    ++compared;
  };
  for (const auto& h : heads)
    for (const auto& r : refs)
      for (const auto& t : tails) check(h + r + t);
  for (int i = 0; i < 20000; ++i)
    check(heads[rng() % 3 ? 0 : rng() % heads.size()] + random_ref() + (rng() % 2 ? "" : tails[rng() % tails.size()]));
  BOOST_TEST_MESSAGE(compared << " texts compared, " << simple << " by the short way");
  BOOST_TEST(simple > 1000u);  // the short way is taken where it claims to be
  BOOST_TEST(!FindSimpleModelSelect("/model sonnet --once"));
  BOOST_TEST(!FindSimpleModelSelect("/model sonnet@anthropic:work"));
  BOOST_TEST(!FindSimpleModelSelect("/model -s"));
  BOOST_TEST(FindSimpleModelSelect("/model anthropic/claude-sonnet-4-5").has_value());
}

BOOST_AUTO_TEST_CASE(GrammarHasNoAnalysisIssues) {
  namespace pegtl = tao::pegtl;
  BOOST_TEST(pegtl::analyze<rules::directive>() == 0u);
  BOOST_TEST(pegtl::analyze<rules::options_only>() == 0u);
  BOOST_TEST(pegtl::analyze<rules::alias_tail>() == 0u);
  BOOST_TEST(pegtl::analyze<rules::extra_scope>() == 0u);
}

}  // namespace
}  // namespace modelpin::grammar
