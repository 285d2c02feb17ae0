// `modelpin chat`: one chat session fed from stdin, line by line, through the same engine a bot
// embeds. Sessions persist in <state>/sessions.sqlite, so a pin survives to the next run.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>

#include "absl/strings/str_join.h"
#include <modelpin/base/text.h>
#include <modelpin/cli/cli.h>
#include <modelpin/cli/line_editor.h>
#include <modelpin/engine/turn/plugin_loader.h>
#include <modelpin/plugins/builtin.h>
#include <modelpin/plugins/commands/commands_plugin.h>

namespace modelpin::cli {

constexpr const char* kChatHelp = R"(usage: modelpin chat [--session KEY] [--sender ID] [--agent ID] [--config FILE] [--state DIR]
                     [--strict] [--plugin PATH]...

Runs one chat session through the engine, a message per line (the commands listed below, and
ordinary text). Prints each reply; error replies are prefixed "error: ". For an
ordinary message it prints where the model call would go:
  → provider/model via profile1, profile2
Sessions persist in <state>/sessions.sqlite, so pins stay for the next run. /quit, /exit or end
of input ends the chat. Blank lines are skipped. No model is called. A message the engine
cannot handle (a store or auth store that fails) gets "error: this message was not handled: ..."
and the chat goes on; the exit status is then 1.

On a terminal (stdin and stdout both TTYs) it prompts with "modelpin (<agent>)> " and, when
built with libedit (meson option -Dlibedit, on when libedit-dev is found), edits lines:
  - arrows, Ctrl-A/E/K/W..., Ctrl-R search; Up/Down walk the history
  - history in <state>/chat_history (mode 0600, last 1000 lines, shared by the sessions of
    the state dir); lines that look like a credential (sk-..., long random tokens), /quit
    and /exit are never written to it
  - TAB completes command words (each plugin's commands, /quit, the agent's alias
    shorthands) and the arguments each command declares ("/verbose f<TAB>" -> "full");
    after "/model ": also the agent's aliases and provider/model refs; after '@': auth
    profile ids ("/model opus@anth<TAB>" -> "/model opus@anthropic:"); after
    "/model explain ": models and profiles; after "/models ": providers. TAB twice lists
    the choices.
  - Ctrl-D on an empty line ends the chat, as does Ctrl-C (each message is stored as it is
    answered, so nothing is lost); ~/.editrc is read (lines may start "modelpin:").
Without libedit the terminal gets the prompt but no editing. Otherwise (piped or redirected
input) it reads stdin line by line with no prompt, so it can be scripted.

  --session KEY  session key (default agent:<agent>:main)
  --sender ID    sender id, compared with commands.ownerAllowFrom (owner-only flags)
)";

// What TAB may complete, read from the engine afresh each time (an auth store may have changed).
CompletionData ChatCompletions(Engine& e, const std::string& agent) {
  CompletionData d;
  const AgentView& view = e.config().Agent(agent);
  for (const auto& c : e.plugins().commands()) {
    d.commands.push_back("/" + c.name);
    d.arguments["/" + c.name] = c.arguments;
    for (const auto& a : c.aliases) d.arguments["/" + a] = c.arguments;
  }
  for (const auto& plugin : e.plugins().plugins())
    for (const auto& w : plugin->AgentWords(view)) d.commands.push_back("/" + w);
  d.commands.insert(d.commands.end(), {"/quit", "/exit"});
  for (const auto& m : view.models) {
    if (!m.alias.empty()) d.models.push_back(m.alias);
    d.models.push_back(m.ref.Label());
  }
  if (auto resolver = e.Resolver(agent); resolver.ok())
    for (const auto& ref : (*resolver)->known()) d.models.push_back(ref.Label());
  for (const auto& row : e.config().catalog()) d.models.push_back(row.ref.Label());
  for (const auto& p : e.config().auth_profiles()) d.profiles.push_back(p.id);
  if (auto auth = e.Auth(agent); auth.ok())
    for (const auto& c : (*auth)->profiles()) d.profiles.push_back(c.id);
  for (const auto& p : e.config().providers()) d.providers.push_back(p.id);
  for (const auto& m : d.models)
    if (size_t slash = m.find('/'); slash != std::string::npos) d.providers.push_back(m.substr(0, slash));
  return d;
}

int RunChat(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (std::string err = args.Parse({"--session", "--sender"}, {}); !err.empty()) return Usage("chat", err);
  if (args.help()) {
    // The commands as their plugins describe them: the built-in ones and any --plugin that loads.
    PluginRegistry plugins = BuiltinPlugins();
    for (const auto& path : common.plugin_paths)
      if (auto p = LoadPlugin(path); p.ok()) (void)plugins.Add(*std::move(p));
    std::cout << kChatHelp << "\n" << CommandsText(plugins, AgentView{}, true) << "\n\nThis build: line editing "
              << (LineEditor::HasLineEditing() ? "on" : "off") << " (libedit).\n";
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
  LineEditor input({.interactive = interactive,
                    .prompt = "modelpin (" + agent + ")> ",
                    .history_path = common.StateDir() + "/chat_history",
                    .candidates = [&e, &agent] { return ChatCompletions(e, agent); }});
  if (interactive)
    std::cout << "modelpin chat: agent " << agent << ", session "
              << (args.Has("--session") ? args.Value("--session") : "agent:" + agent + ":main")
              << (input.editing() ? ". TAB completes, Up/Down recall, /quit or Ctrl-D to leave.\n"
                                  : ". /quit to leave.\n");
  bool failed = false;
  while (std::optional<std::string> read = input.ReadLine()) {
    const std::string& line = *read;
    std::string_view trimmed = text::Trim(line);
    if (trimmed.empty()) continue;
    if (trimmed == "/quit" || trimmed == "/exit") break;
    input.Remember(std::string(trimmed));
    InboundMessage msg;
    msg.agent_id = agent;
    msg.session_key = args.Value("--session");
    msg.text = line;
    msg.sender = args.Value("--sender");
    msg.source = MessageSource::kRepl;
    auto outcome = e.Handle(msg);
    if (!outcome.ok()) {
      // A store or auth-store fault fails this message only: it is said, in line with the
      // replies, and the chat goes on (docs/faults.md). The exit status then says a message failed.
      failed = true;
      std::cout << "error: this message was not handled: " << outcome.status().message() << "\n" << std::flush;
      continue;
    }
    for (const auto& r : outcome->replies) std::cout << (r.is_error ? "error: " : "") << r.text << "\n";
    if (outcome->route) {
      const Route& route = *outcome->route;
      std::cout << "→ " << route.model.Label() << " via "
                << (route.profiles.empty() ? std::string("(no credential)") : absl::StrJoin(route.profiles, ", "))
                << (route.thinking.empty() ? "" : " (thinking " + route.thinking + " for this message)") << "\n";
    }
    std::cout << std::flush;
  }
  return failed ? kExitError : kExitOk;
}

}  // namespace modelpin::cli
