// One place where a message's directive results become its replies and effects
// (docs/architecture.md#composing-directive-results). The engine applies each directive found in
// a message and hands its DirectiveResult (engine/turn/plugin.h) to a DirectiveComposer; no
// plugin composes replies with another's.
#ifndef MODELPIN_ENGINE_TURN_COMPOSE_H_
#define MODELPIN_ENGINE_TURN_COMPOSE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

// What the engine does with one directive's result: the precedence of DirectiveResult's kinds,
// decided by DirectiveStepFor alone.
enum class DirectiveStep : uint8_t {
  kRefuse,       // the message is refused with this error reply; nothing of it is stored
  kAnswerAlone,  // this reply is the message's only answer; nothing of it is stored
  kAcknowledge,  // applied; the text joins the message's acknowledgement reply
  kNotify,       // applied; a reply of its own, after the acknowledgements
  kInform,       // applied; a reply of its own, after the notices
  kSilent,       // applied (or dropped) without a reply
};
inline constexpr std::array<std::pair<DirectiveStep, std::string_view>, 6> kDirectiveStepNames = {{
    {DirectiveStep::kRefuse, "refuse"},
    {DirectiveStep::kAnswerAlone, "answer-alone"},
    {DirectiveStep::kAcknowledge, "acknowledge"},
    {DirectiveStep::kNotify, "notify"},
    {DirectiveStep::kInform, "inform"},
    {DirectiveStep::kSilent, "silent"},
}};
constexpr std::string_view DirectiveStepName(DirectiveStep step) {
  return kDirectiveStepNames[static_cast<size_t>(step)].second;
}

// The rules, for a message holding `directive_count` directives, `directive_only` when nothing
// else is left of it:
//   kError                          -> kRefuse
//   kQuery                          -> kAnswerAlone
//   kInfo, inside a longer message  -> kSilent      (OpenClaw drops the info forms there)
//   kInfo, beside other directives  -> kAnswerAlone ("/model status /think high" changes nothing)
//   kInfo, the message's only one   -> kInform
//   kAck with a text                -> kAcknowledge
//   kAck without one, kNone         -> kSilent
//   kNotice                         -> kNotify      (even an empty one is a reply)
// The first result in apply order whose step is kRefuse or kAnswerAlone ends the message.
DirectiveStep DirectiveStepFor(const DirectiveResult& result, size_t directive_count, bool directive_only);

// Collects a message's directive results, in apply order, and composes the replies of the
// accepted message in directive order:
//   DirectiveComposer compose(found.size(), directive_only);
//   for (size_t i : apply_order)
//     if (!compose.Take(i, plugin[i].ApplyDirective(...))) return Refuse(compose.TakeRefusal());
//   compose.AppendReplies(out.replies);  // then the effects: pin_change(), run_thinking(), stop_turn()
class DirectiveComposer {
 public:
  DirectiveComposer(size_t directive_count, bool directive_only);
  // The result of the directive at `index` (its place in the message). False when it ends the
  // message (kRefuse, kAnswerAlone): TakeRefusal() is then the message's only reply.
  bool Take(size_t index, DirectiveResult&& result);
  Reply TakeRefusal() { return std::move(refusal_); }
  // The accepted message's replies, appended to `replies`: the acknowledgements joined by a space
  // as one reply, then the notices, both in directive order, then the information reply.
  void AppendReplies(std::vector<Reply>& replies);
  // The effects of the accepted message: the pin history's source and scope (the last result in
  // apply order that names one), and the thinking level of this message's model call ("" for the
  // session's).
  const std::optional<PinChange>& pin_change() const { return pin_change_; }
  const std::string& run_thinking() const { return run_thinking_; }
  // Whether a result ends the turn (DirectiveResult::stop_turn): nothing goes to the model.
  bool stop_turn() const { return stop_turn_; }

 private:
  size_t count_;
  bool directive_only_;
  absl::InlinedVector<std::string, 4> acks_;                // by directive
  absl::InlinedVector<std::optional<Reply>, 4> notices_;  // by directive
  absl::InlinedVector<Reply, 1> infos_;                     // in apply order
  Reply refusal_;
  std::optional<PinChange> pin_change_;
  std::string run_thinking_;
  bool stop_turn_ = false;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_COMPOSE_H_
