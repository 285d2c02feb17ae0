// The syntax of OpenClaw's /queue directive: "/queue" [WS* ":"] TOKEN*, tokens separated by
// whitespace and read left to right:
//   default | reset | clear          stop: the settings go back to their defaults
//   debounce:V  cap:V  drop:V         (or "=") an option; V is the text up to the next ':' or '='
//   a mode (the plugin says which)    taken, later ones win
//   anything else                     the mode as typed when it is the first token, else it ends
//                                     the directive and stays in the text
// Plugins own the meaning of modes and values; this only finds them.
//
//   FindQueueDirective("/queue steer debounce:2s hi", IsMode)
//     -> span of "/queue steer debounce:2s", mode "steer", debounce "2s"
#ifndef MODELPIN_GRAMMAR_QUEUE_DIRECTIVE_H_
#define MODELPIN_GRAMMAR_QUEUE_DIRECTIVE_H_

#include <optional>
#include <string>
#include <string_view>

#include <modelpin/grammar/directive.h>

namespace modelpin::grammar {

struct QueueDirective {
  Span span;
  bool reset = false;
  std::optional<std::string> mode;  // the last mode token, or the unknown first token
  std::optional<std::string> debounce, cap, drop;  // raw option values
  bool has_options() const { return debounce || cap || drop; }
};

std::optional<QueueDirective> FindQueueDirective(std::string_view text, bool (*is_mode)(std::string_view));

}  // namespace modelpin::grammar

#endif  // MODELPIN_GRAMMAR_QUEUE_DIRECTIVE_H_
