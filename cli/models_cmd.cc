// `modelpin models ...`: the dispatcher of the `models` verb families, and what they share.
// Each family lives in its own file: cli/models_status_cmd.cc (`models status`),
// cli/models_order_cmd.cc (`models auth order get|set|clear`), cli/models_paste_cmd.cc
// (`models auth paste-token|paste-api-key`) and cli/auth_cmd.cc (`models auth list|remove|
// cooldowns|setup-token`). Their rules are the library's: engine/turn/agent_store.h.
#include <iostream>

#include "absl/strings/str_cat.h"
#include <modelpin/cli/cli.h>

namespace modelpin::cli {

int MissingProvider() { return Fail(absl::InvalidArgumentError("Missing required option \"--provider <name>\".")); }

std::string AgentDir(const Common& c, const std::string& agent) {
  return absl::StrCat(c.StateDir(), "/agents/", agent, "/agent");
}

namespace {

constexpr const char* kModelsHelp = R"(usage: modelpin models SUBCOMMAND [options]

  status [--json] [--check]                  default model, aliases, auth order per provider
  auth order get --provider P [--json]       the agent's stored auth profile order
  auth order set --provider P ID...          store an order override (only these profiles)
  auth order clear --provider P              remove the order override
  auth paste-token --provider P [--profile-id ID] [--expires-in 12h]
  auth paste-api-key --provider P [--profile-id ID]
                                             store a secret read from stdin
  auth setup-token --provider anthropic      run `claude setup-token` and store its token
  auth list [--provider P] [--json]          saved profiles: type, masked secret, expiry, health
  auth remove ID                             delete a saved profile (logout)
  auth cooldowns [--provider P] [--json]     profiles cooling down or disabled, and until when
  auth cooldowns clear [ID | --provider P]   make them usable again
  auth usage [--window W] [--json]           calls, tokens and cost per profile, budgets

Options every subcommand takes: --agent ID, --config FILE, --state DIR, --strict.
Run `modelpin models SUBCOMMAND --help` for details.
)";

constexpr const char* kAuthHelp = R"(usage: modelpin models auth list [--provider P] [--json]
       modelpin models auth remove ID
       modelpin models auth cooldowns [--provider P] [--json]
       modelpin models auth cooldowns clear [ID | --provider P]
       modelpin models auth usage [--provider P] [--window 5h|1d|7d|30d] [--json]
       modelpin models auth setup-token --provider anthropic [--profile-id ID]
       modelpin models auth order get|set|clear --provider P [IDS...]
       modelpin models auth paste-token --provider P [--profile-id ID] [--expires-in DURATION]
       modelpin models auth paste-api-key --provider P [--profile-id ID]

Run `modelpin models auth order --help`, `modelpin models auth paste-token --help` or
`modelpin models auth paste-api-key --help` for details.
)";

}  // namespace

int RunModels(std::vector<std::string> argv) {
  if (argv.empty()) return Usage("models", "expected a subcommand: status, auth");
  std::string sub = argv[0];
  if (IsHelpWord(sub)) {
    std::cout << kModelsHelp;
    return kExitOk;
  }
  argv.erase(argv.begin());
  if (sub == "status") return RunModelsStatus(std::move(argv));
  if (sub != "auth") return Usage("models", "unknown subcommand \"" + sub + "\"");
  if (argv.empty())
    return Usage("models auth",
                 "expected a subcommand: list, remove, cooldowns, usage, order, paste-token, paste-api-key, setup-token");
  sub = argv[0];
  argv.erase(argv.begin());
  if (IsHelpWord(sub)) {
    std::cout << kAuthHelp;
    return kExitOk;
  }
  if (sub == "paste-token") return RunPaste(true, std::move(argv));
  if (sub == "setup-token") return RunSetupToken(std::move(argv));
  if (sub == "list") return RunAuthList(std::move(argv));
  if (sub == "remove") return RunAuthRemove(std::move(argv));
  if (sub == "cooldowns") return RunAuthCooldowns(std::move(argv));
  if (sub == "usage") return RunAuthUsage(std::move(argv));
  if (sub == "paste-api-key") return RunPaste(false, std::move(argv));
  if (sub != "order") return Usage("models auth", "unknown subcommand \"" + sub + "\"");
  return RunModelsOrder(std::move(argv));
}

}  // namespace modelpin::cli
