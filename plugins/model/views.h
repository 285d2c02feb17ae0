// Reply texts of the /model family that show state: the summary, `/model status`, the
// providers view (`/model list`, `/models`) and the per-provider pages (`/models <provider>`).
#ifndef MODELPIN_PLUGINS_MODEL_VIEWS_H_
#define MODELPIN_PLUGINS_MODEL_VIEWS_H_

#include <string>
#include <vector>

#include <modelpin/engine/turn/plugin.h>
#include <modelpin/grammar/directive.h>

namespace modelpin::model_plugin {

std::string SummaryText(const TurnContext& ctx);
std::string StatusText(const TurnContext& ctx);
// The refusal of a pin that modelpin.profileAccess does not allow `sender`.
std::string AccessRefusal(std::string_view profile, std::string_view sender);
std::string ProvidersText(const TurnContext& ctx);
Reply ModelsCommandReply(const grammar::ModelsCommand& cmd, const TurnContext& ctx);

// "<id>=<masked credential>[ (flags)]" entries of one provider joined by ", ", with the store
// path, or the fallback ("missing"). Shared by status and the CLI.
std::string AuthLabel(const TurnContext& ctx, const std::string& provider);

// Whether /model accepts `provider`: configured, in the catalog, or bundled.
bool ProviderKnown(const TurnContext& ctx, const std::string& provider);

// The models a user may browse per provider (the counts /models shows): provider -> sorted unique ids.
// `all`: the whole catalog, whatever the policy, availability or deprecation.
std::vector<std::pair<std::string, std::vector<std::string>>> BrowseSet(const TurnContext& ctx, bool all = false);

// Whether a session can use a provider's models now, as OpenClaw's /models labels them.
enum class Availability { kAvailable, kAuthFailed, kMissingAuth };
// For the session as it is.
Availability RowAvailability(const TurnContext& ctx, const std::string& provider);
// For a session whose pin is `pin` (a user pin when `pin_is_user`), chosen while on
// `profile_provider` ("" = no provider chosen yet): a pin only speaks for its provider family.
Availability AuthAvailability(const TurnContext& ctx, const std::string& provider, std::string_view profile_provider,
                              const std::optional<std::string>& pin, bool pin_is_user);

// Scoped pins in words. "14:05 UTC" on the same UTC day as `now`, else "2026-12-03 14:05 UTC".
std::string UntilText(int64_t until, int64_t now);
// What is left: "for the next message only", "for the next 3 messages", "until 14:05 UTC (85m left)".
std::string ScopeLeftText(const PinScope& sc, int64_t now);
// What a scoped pin or undo returns to: "anthropic/claude-opus-4-5" or "the configured default (...)".
std::string RestoreText(const TurnContext& ctx, const PinSelection& sel);

// The catalog row of `ref`, if any.
const CatalogRow* FindRow(const TurnContext& ctx, const ModelRef& ref);

}  // namespace modelpin::model_plugin

#endif  // MODELPIN_PLUGINS_MODEL_VIEWS_H_
