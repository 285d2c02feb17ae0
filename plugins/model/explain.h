// `/model explain <ref>[@profile]` and `modelpin explain`: how a reference resolves, step by
// step, and which credentials a call on the result would try, each with the reason it is where
// it is. Secrets stay masked.
#ifndef MODELPIN_PLUGINS_MODEL_EXPLAIN_H_
#define MODELPIN_PLUGINS_MODEL_EXPLAIN_H_

#include <string>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin::model_plugin {

// `argument` is what follows "/model explain": "sonnet", "opus@anthropic:work", "\"a\"@\"b\"".
std::string ExplainText(const TurnContext& ctx, std::string_view argument);
std::string ExplainJson(const TurnContext& ctx, std::string_view argument);

}  // namespace modelpin::model_plugin

#endif  // MODELPIN_PLUGINS_MODEL_EXPLAIN_H_
