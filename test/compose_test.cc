// How a message's directive results become its replies and effects (engine/turn/compose.h,
// docs/architecture.md#composing-directive-results), and the closed sets' name tables: one
// table-driven case per rule.
#define BOOST_TEST_MODULE compose
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include <modelpin/engine/sessions/pin_source.h>
#include <modelpin/engine/turn/compose.h>
#include <modelpin/engine/turn/plugin.h>
#include <modelpin/grammar/directive.h>

namespace modelpin {

std::ostream& operator<<(std::ostream& os, DirectiveStep step) { return os << DirectiveStepName(step); }
std::ostream& operator<<(std::ostream& os, DirectiveReplyKind kind) { return os << DirectiveReplyKindName(kind); }
std::ostream& operator<<(std::ostream& os, const Reply& r) {
  return os << (r.is_error ? "error:" : "") << '"' << r.text << '"';
}

}  // namespace modelpin

namespace {

using namespace modelpin;
using K = DirectiveReplyKind;
using S = DirectiveStep;

// One rule of DirectiveStepFor per row.
struct StepRow {
  const char* rule;
  K kind;
  const char* text;
  size_t count;
  bool directive_only;
  S step;
};
const StepRow kStepRules[] = {
    {"an error refuses the message", K::kError, "bad", 1, true, S::kRefuse},
    {"an error refuses a longer message too", K::kError, "bad", 2, false, S::kRefuse},
    {"a query answers alone", K::kQuery, "Current: x.", 1, true, S::kAnswerAlone},
    {"a query answers alone inside a longer message", K::kQuery, "Current: x.", 1, false, S::kAnswerAlone},
    {"info inside a longer message is dropped", K::kInfo, "status", 1, false, S::kSilent},
    {"info inside a longer message beside others is dropped", K::kInfo, "status", 2, false, S::kSilent},
    {"info beside other directives answers alone", K::kInfo, "status", 2, true, S::kAnswerAlone},
    {"info as the message's only directive informs", K::kInfo, "status", 1, true, S::kInform},
    {"an ack with a text acknowledges", K::kAck, "Done.", 1, true, S::kAcknowledge},
    {"an ack with a text acknowledges inside a longer message", K::kAck, "Done.", 3, false, S::kAcknowledge},
    {"an empty ack says nothing", K::kAck, "", 1, true, S::kSilent},
    {"a notice notifies", K::kNotice, "Thinking level set to high.", 1, false, S::kNotify},
    {"an empty notice is still a reply", K::kNotice, "", 1, false, S::kNotify},
    {"none is silent", K::kNone, "", 2, true, S::kSilent},
};

BOOST_AUTO_TEST_CASE(each_rule_of_the_precedence) {
  for (const StepRow& row : kStepRules) {
    BOOST_TEST_CONTEXT(row.rule) {
      DirectiveResult r{row.kind, row.text};
      BOOST_TEST(DirectiveStepFor(r, row.count, row.directive_only) == row.step);
    }
  }
  // Every kind has a row.
  std::set<K> covered;
  for (const StepRow& row : kStepRules) covered.insert(row.kind);
  BOOST_TEST(covered.size() == kDirectiveReplyKindNames.size());
}

// A directive's result, handed over at `index` (its place in the message), in the row's order
// (the apply order).
struct Given {
  size_t index;
  DirectiveResult result;
};
struct ComposeRow {
  const char* rule;
  bool directive_only;
  std::vector<Given> results;                // in apply order
  std::optional<Reply> refusal;              // the message's only reply, when refused
  std::vector<Reply> replies;                // otherwise its replies
  std::optional<PinChange> pin_change = {};  // and effects
  std::string run_thinking = {};
  bool stop_turn = false;
};

DirectiveResult WithPin(DirectiveResult r, PinChange c) {
  r.pin_change = std::move(c);
  return r;
}
DirectiveResult WithStop(DirectiveResult r) {
  r.stop_turn = true;
  return r;
}
DirectiveResult WithThinking(DirectiveResult r, std::string level) {
  r.run_thinking = std::move(level);
  return r;
}

std::vector<ComposeRow> ComposeRules() {
  using R = DirectiveResult;
  return {
      {"one acknowledgement is one reply", true, {{0, R::Ack("Model set.")}}, {}, {{"Model set.", false}}},
      {"acknowledgements join by a space in directive order, whatever the apply order",
       true,
       {{1, R::Ack("B.")}, {0, R::Ack("A.")}, {2, R::Ack("C.")}},
       {},
       {{"A. B. C.", false}}},
      {"empty acknowledgements leave no gap", true, {{0, R::Ack("A.")}, {1, R::Ack("")}, {2, R::Ack("C.")}}, {},
       {{"A. C.", false}}},
      {"notices follow the acknowledgement, in directive order",
       false,
       {{2, R::Notice("N2")}, {0, R::Ack("A.")}, {1, R::Notice("N1")}},
       {},
       {{"A.", false}, {"N1", false}, {"N2", false}}},
      {"an empty notice is still sent", false, {{0, R::Notice("")}}, {}, {{"", false}}},
      {"the information reply of a lone directive", true, {{0, R::Info("status")}}, {}, {{"status", false}}},
      {"information inside a longer message is dropped, the others still apply",
       false,
       {{0, R::Info("status")}, {1, R::Notice("N")}},
       {},
       {{"N", false}}},
      {"information beside another directive answers alone", true, {{0, R::Info("status")}, {1, R::Ack("A.")}},
       Reply{"status", false}, {}},
      {"the first error in apply order refuses", true, {{1, R::Ack("A.")}, {0, R::Error("bad")}, {2, R::Query("q")}},
       Reply{"bad", true}, {}},
      {"the first query in apply order answers alone, before a later error",
       true,
       {{0, R::Query("Current thinking level: high.")}, {1, R::Error("bad")}},
       Reply{"Current thinking level: high.", false},
       {}},
      {"a directive without a word adds nothing", true, {{0, R{}}, {1, R::Ack("A.")}}, {}, {{"A.", false}}},
      {"the pin change of the result that names one",
       true,
       {{0, WithPin(R::Ack("Model set."), {PinSource::kUser, grammar::PinLimitKind::kFor, "2h"})}, {1, R::Ack("T.")}},
       {},
       {{"Model set. T.", false}},
       PinChange{PinSource::kUser, grammar::PinLimitKind::kFor, "2h"}},
      {"the last pin change in apply order wins",
       true,
       {{0, WithPin(R::Ack("A."), {PinSource::kUser})}, {1, WithPin(R::Ack("B."), {PinSource::kUndo})}},
       {},
       {{"A. B.", false}},
       PinChange{PinSource::kUndo}},
      {"a directive that stops the turn still answers with the others",
       false,
       {{0, R::Ack("A.")}, {1, WithStop(R::Notice("Stopped."))}},
       {},
       {{"A.", false}, {"Stopped.", false}},
       std::nullopt,
       "",
       true},
      {"an inline thinking level for the run",
       false,
       {{0, WithThinking(R::Notice("Thinking level set to high."), "high")}},
       {},
       {{"Thinking level set to high.", false}},
       std::nullopt,
       "high"},
  };
}

BOOST_AUTO_TEST_CASE(each_rule_of_the_composition) {
  for (ComposeRow& row : ComposeRules()) {
    BOOST_TEST_CONTEXT(row.rule) {
      DirectiveComposer compose(row.results.size(), row.directive_only);
      std::optional<Reply> refusal;
      for (Given& g : row.results)
        if (!compose.Take(g.index, std::move(g.result))) {
          refusal = compose.TakeRefusal();
          break;
        }
      BOOST_TEST(refusal.has_value() == row.refusal.has_value());
      if (refusal && row.refusal) BOOST_TEST(*refusal == *row.refusal);
      if (refusal) continue;
      std::vector<Reply> replies{{"before", false}};  // replies are appended
      compose.AppendReplies(replies);
      row.replies.insert(row.replies.begin(), Reply{"before", false});
      BOOST_TEST(replies == row.replies, boost::test_tools::per_element());
      BOOST_TEST((compose.pin_change() == row.pin_change));
      BOOST_TEST(compose.run_thinking() == row.run_thinking);
      BOOST_TEST(compose.stop_turn() == row.stop_turn);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_inline_notice_is_the_answer_alone) {
  struct Row {
    DirectiveResult alone;
    K kind;
  };
  const Row rows[] = {{DirectiveResult::Error("bad"), K::kError},
                      {DirectiveResult::Query("Current: x."), K::kNotice},
                      {DirectiveResult::Ack("Set."), K::kNotice},
                      {DirectiveResult::Ack(""), K::kNotice},
                      {DirectiveResult{}, K::kNone}};
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(DirectiveReplyKindName(row.alone.kind)) {
      DirectiveResult in = row.alone;
      in.run_thinking = "high";
      DirectiveResult r = AsInlineNotice(in);
      BOOST_TEST(r.kind == row.kind);
      BOOST_TEST(r.text == row.alone.text);
      BOOST_TEST(r.run_thinking == "high");  // effects stay
    }
  }
}

BOOST_AUTO_TEST_CASE(pin_sources_have_one_name_each) {
  const std::vector<std::pair<PinSource, std::string>> expected = {
      {PinSource::kUser, "user"},     {PinSource::kReset, "reset"}, {PinSource::kAuto, "auto"},
      {PinSource::kOrder, "order"},   {PinSource::kExpiry, "expiry"}, {PinSource::kUndo, "undo"},
      {PinSource::kInvalid, "invalid"}, {PinSource::kPlugin, "plugin"}};
  BOOST_TEST(expected.size() == kPinSourceNames.size());
  for (const auto& [source, name] : expected) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(std::string(PinSourceName(source)) == name);
      BOOST_TEST((ParsePinSource(name) == source));
    }
  }
  BOOST_TEST(!ParsePinSource("User").has_value());
  BOOST_TEST(!ParsePinSource("").has_value());
  // What /model undo goes back over: the changes a person made, not the engine's.
  std::set<PinSource> person;
  for (const auto& [source, name] : kPinSourceNames)
    if (IsPersonChange(source)) person.insert(source);
  BOOST_TEST((person == std::set<PinSource>{PinSource::kUser, PinSource::kReset, PinSource::kUndo, PinSource::kPlugin}));
}

BOOST_AUTO_TEST_CASE(pin_scopes_as_the_history_writes_them) {
  using grammar::PinLimitKind;
  struct Row {
    PinChange change;
    const char* text;
  };
  const Row rows[] = {{{PinSource::kUser}, ""},
                      {{PinSource::kUser, PinLimitKind::kOnce}, "--once"},
                      {{PinSource::kUser, PinLimitKind::kTurns, "3"}, "--turns 3"},
                      {{PinSource::kUser, PinLimitKind::kFor, "2h"}, "--for 2h"}};
  for (const Row& row : rows) BOOST_TEST(row.change.ScopeText() == row.text);
  BOOST_TEST(std::string(grammar::PinLimitOption(PinLimitKind::kNone)).empty());
  // The parser reads the same words.
  for (const auto& [kind, word] : grammar::kPinLimitOptions) {
    BOOST_TEST_CONTEXT(word) {
      std::string text = "/model sonnet " + std::string(word) + (kind == PinLimitKind::kOnce ? "" : " 3");
      auto d = grammar::FindModelDirective(text);
      BOOST_TEST_REQUIRE(d.has_value());
      BOOST_TEST((d->options.pin_limit.kind == kind));
    }
  }
}

}  // namespace
