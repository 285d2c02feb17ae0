// `modelpin chat`: one chat session fed from stdin, line by line, through the same engine a bot
// embeds. Sessions persist in <state>/sessions.sqlite, so a pin survives to the next run.
#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/strings/str_join.h"
#include "cli/cli.h"
#include "grammar/text.h"

namespace modelpin::cli {

constexpr const char* kChatHelp = R"(usage: modelpin chat [--session KEY] [--sender ID] [--agent ID] [--config FILE] [--state DIR]
                     [--strict]

Reads messages from stdin, one per line, and runs each through the engine as a chat message
(/model, /models, /think ... and ordinary text). Prints each reply; error replies are prefixed
"error: ". For an ordinary message it prints where the model call would go:
  → provider/model via profile1, profile2
Sessions persist in <state>/sessions.sqlite, so pins stay for the next run. /quit or end of
input ends the chat. Blank lines are skipped. No model is called.

  --session KEY  session key (default agent:<agent>:main)
  --sender ID    sender id, compared with commands.ownerAllowFrom (owner-only flags)
)";

int RunChat(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (std::string err = args.Parse({"--session", "--sender"}, {}); !err.empty()) return Usage("chat", err);
  if (args.help()) {
    std::cout << kChatHelp;
    return kExitOk;
  }
  if (!args.positional().empty()) return Usage("chat", "unexpected argument \"" + args.positional()[0] + "\"");
  auto engine = MakeEngine(common, true);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  const std::string agent = e.ResolveAgent(common.agent);
  if (!common.agent.empty() && !e.config().HasAgentEntry(agent) && agent != e.config().DefaultAgentId() &&
      agent != "main")
    return Fail(absl::NotFoundError("Unknown agent id \"" + common.agent + "\"."));
  const bool interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  if (interactive)
    std::cout << "modelpin chat: agent " << agent << ", session "
              << (args.Has("--session") ? args.Value("--session") : "agent:" + agent + ":main")
              << ". /quit to leave.\n";
  std::string line;
  while (true) {
    if (interactive) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view trimmed = text::Trim(line);
    if (trimmed.empty()) continue;
    if (trimmed == "/quit" || trimmed == "/exit") break;
    InboundMessage msg;
    msg.agent_id = agent;
    msg.session_key = args.Value("--session");
    msg.text = line;
    msg.sender = args.Value("--sender");
    msg.source = MessageSource::kRepl;
    auto outcome = e.Handle(msg);
    if (!outcome.ok()) return Fail(outcome.status());
    for (const auto& r : outcome->replies) std::cout << (r.is_error ? "error: " : "") << r.text << "\n";
    if (outcome->route) {
      const Route& route = *outcome->route;
      std::cout << "→ " << route.model.Label() << " via "
                << (route.profiles.empty() ? std::string("(no credential)") : absl::StrJoin(route.profiles, ", "))
                << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

}  // namespace modelpin::cli
