#include <modelpin/engine/turn/compose.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/str_join.h"

namespace modelpin {

DirectiveStep DirectiveStepFor(const DirectiveResult& result, size_t directive_count, bool directive_only) {
  switch (result.kind) {
    case DirectiveReplyKind::kError: return DirectiveStep::kRefuse;
    case DirectiveReplyKind::kQuery: return DirectiveStep::kAnswerAlone;
    case DirectiveReplyKind::kInfo:
      if (!directive_only) return DirectiveStep::kSilent;
      return directive_count > 1 ? DirectiveStep::kAnswerAlone : DirectiveStep::kInform;
    case DirectiveReplyKind::kAck: return result.text.empty() ? DirectiveStep::kSilent : DirectiveStep::kAcknowledge;
    case DirectiveReplyKind::kNotice: return DirectiveStep::kNotify;
    case DirectiveReplyKind::kNone: return DirectiveStep::kSilent;
  }
  return DirectiveStep::kSilent;
}

DirectiveComposer::DirectiveComposer(size_t directive_count, bool directive_only)
    : count_(directive_count), directive_only_(directive_only), acks_(directive_count), notices_(directive_count) {}

bool DirectiveComposer::Take(size_t index, DirectiveResult&& result) {
  const DirectiveStep step = DirectiveStepFor(result, count_, directive_only_);
  switch (step) {
    case DirectiveStep::kRefuse:
    case DirectiveStep::kAnswerAlone:
      refusal_ = std::move(result).ToReply();
      return false;
    case DirectiveStep::kAcknowledge: acks_[index] = std::move(result.text); break;
    case DirectiveStep::kNotify: notices_[index] = Reply{std::move(result.text), false}; break;
    case DirectiveStep::kInform: infos_.push_back(Reply{std::move(result.text), false}); break;
    case DirectiveStep::kSilent: break;
  }
  if (result.pin_change) pin_change_ = std::move(result.pin_change);
  if (!result.run_thinking.empty()) run_thinking_ = std::move(result.run_thinking);
  stop_turn_ = stop_turn_ || result.stop_turn;
  return true;
}

void DirectiveComposer::AppendReplies(std::vector<Reply>& replies) {
  // The acknowledgements, joined by spaces (the usual message has one: it is moved, not joined).
  size_t acks = 0;
  std::string* only = nullptr;
  for (std::string& a : acks_)
    if (!a.empty()) ++acks, only = &a;
  if (acks == 1) {
    replies.push_back({std::move(*only), false});
  } else if (acks > 1) {
    acks_.erase(std::remove(acks_.begin(), acks_.end(), std::string()), acks_.end());
    replies.push_back({absl::StrJoin(acks_, " "), false});
  }
  for (auto& n : notices_)
    if (n) replies.push_back(std::move(*n));
  replies.insert(replies.end(), std::make_move_iterator(infos_.begin()), std::make_move_iterator(infos_.end()));
}

}  // namespace modelpin
