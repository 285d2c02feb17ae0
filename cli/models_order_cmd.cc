// `modelpin models auth order get|set|clear`: the agent's stored auth profile order (docs/cli.md).
// The rules (which agent, who owns a change, which ids, the copy of a shared store) are the
// library's: engine/turn/agent_store.h.
#include <algorithm>
#include <iostream>

#include "absl/strings/str_join.h"
#include <modelpin/cli/cli.h>
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kOrderHelp = R"(usage: modelpin models auth order get --provider P [--json] [--agent ID] [--config FILE] [--state DIR]
       modelpin models auth order set --provider P ID... [--agent ID] [--config FILE] [--state DIR]
       modelpin models auth order clear --provider P [--agent ID] [--config FILE] [--state DIR]

The agent's stored auth profile order for a provider, kept in its own store
<state>/agents/<agent>/agent/auth-profiles.json. A stored order wins over config auth.order and
is also a filter: profiles not listed are not used.

  get    prints the override, or "none" and what is used instead (config auth.order, or
         automatic selection). --json: {agentId, agentDir, provider, authStatePath, order}
  set    stores ID... (trimmed, duplicates dropped) as the order; each must be a saved profile
         of provider P. An agent without a store of its own gets a copy of the store it reads
         first, so it keeps its credentials.
  clear  removes the override

  --provider P  provider id (lower-cased); required
  --agent ID    agent (default: the config's default agent, else main)
)";


int RunOrder(const std::string& action, std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth order " + action;
  std::vector<std::string> bools;
  if (action == "get") bools.push_back("--json");
  if (int rc = ParseVerb(args, verb, kOrderHelp, {"--provider"}, bools); rc >= 0) return rc;
  if (action != "set" && !args.positional().empty())
    return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (provider.empty()) return MissingProvider();
  std::vector<std::string> ids;
  if (action == "set") {
    for (const auto& raw : args.positional()) {
      std::string id(text::Trim(raw));
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    if (ids.empty()) return Fail(absl::InvalidArgumentError("Missing required argument \"profileIds\"."));
  }
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  auto agent = KnownAgent(e, common.agent);
  if (!agent.ok()) return Fail(agent.status());
  // As OpenClaw: a change needs an explicit owner when several agents are configured.
  if (action != "get")
    if (absl::Status st = RequireExplicitOwner(e.config(), common.agent); !st.ok()) return Fail(st);
  std::string agent_dir = AgentDir(common, *agent);
  std::string effective = e.EffectiveAuthStorePath(*agent);

  if (action == "get") {
    auto store = AuthStore::Load(effective);
    if (!store.ok()) return Fail(store.status());
    const std::vector<std::string>* order = store->Order(provider);
    if (args.Has("--json")) {
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      w.StartObject();
      Key(w, "agentId"), Str(w, *agent);
      Key(w, "agentDir"), Str(w, agent_dir);
      Key(w, "provider"), Str(w, provider);
      Key(w, "authStatePath"), Str(w, effective);
      Key(w, "order");
      if (order) StrList(w, *order);
      else w.Null();
      w.EndObject();
      std::cout << buf.GetString() << "\n";
      return kExitOk;
    }
    std::cout << "Agent: " << *agent << "\nProvider: " << provider
              << "\nAuth state store: " << Engine::DisplayPath(effective) << "\nAuth profile order override: "
              << (order ? absl::StrJoin(*order, ", ") : "none (" + OrderFallbackText(e.config(), provider) + ")") << "\n";
    return kExitOk;
  }

  if (action == "set") {
    // Checked first against what the agent reads now, so a refused set creates nothing.
    if (absl::Status st = SetAuthOrder(e, *agent, provider, ids, Engine::DisplayPath(agent_dir)); !st.ok()) return Fail(st);
    std::cout << "Agent: " << *agent << "\nProvider: " << provider
              << "\nAuth profile order override: " << absl::StrJoin(ids, ", ") << "\n";
    return kExitOk;
  }

  // clear: only the agent's own store can hold its override; without one there is nothing to do.
  if (absl::Status st = ClearAuthOrder(e, *agent, provider); !st.ok()) return Fail(st);
  std::cout << "Agent: " << *agent << "\nProvider: " << provider << "\nAuth profile order override cleared; "
            << OrderFallbackText(e.config(), provider) << ".\n";
  return kExitOk;
}

}  // namespace

int RunModelsOrder(std::vector<std::string> argv) {
  if (argv.empty()) return Usage("models auth order", "expected get, set or clear");
  std::string sub = argv[0];
  argv.erase(argv.begin());
  if (IsHelpWord(sub)) {
    std::cout << kOrderHelp;
    return kExitOk;
  }
  if (sub != "get" && sub != "set" && sub != "clear")
    return Usage("models auth order", "unknown subcommand \"" + sub + "\" (expected get, set or clear)");
  return RunOrder(sub, std::move(argv));
}

}  // namespace modelpin::cli
