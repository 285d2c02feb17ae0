// modelpin: replay transcripts, chat interactively, and manage model auth from a shell.
#include <iostream>
#include <string>
#include <vector>

#include <modelpin/cli/cli.h>

namespace {

constexpr const char* kHelp = R"(usage: modelpin VERB [options]

Verbs:
  replay TRANSCRIPT [--json]             replay a chat transcript through the engine
  chat [--session KEY]                   an interactive chat session (pins persist)
  models status [--json] [--check]      default model, aliases, auth order per provider
  models auth order get|set|clear --provider P [IDS...]
                                         the agent's stored auth profile order
  models auth paste-token --provider P [--profile-id ID] [--expires-in 12h]
  models auth paste-api-key --provider P [--profile-id ID]
                                         store a secret read from stdin
  explain REF[@PROFILE] [--json]         how a /model reference resolves, step by step
  doctor [--json]                        check config, stores, credentials; exit 0/1/2
  sessions list|show KEY|reset KEY [--json]
                                         the stored sessions (SQLite, or Redis of modelpin.store)
  serve [--listen 127.0.0.1:8787|unix:PATH]
                                         the engine as an HTTP/1.1 JSON service (docs/service.md)
  timeline [--since 1h] [--url URL] [--out FILE.svg]
                                         the rotation timeline of a running service, as SVG

Options every verb takes:
  --config FILE   config file (default $MODELPIN_CONFIG, else <state>/modelpin.json)
  --state DIR     state dir (default $MODELPIN_STATE_DIR, else ~/.modelpin)
  --agent ID      agent (default: the config's default agent, else main)
  --strict        strict mode: refuse what OpenClaw silently accepts (docs/strict-mode.md)
  --plugin PATH   load a run-time plugin (a modelpin_plugin_v1 shared library); repeatable,
                  after the config's plugins.load

Run `modelpin VERB --help` for a verb's own options.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || modelpin::cli::IsHelpWord(args[0])) {
    std::cout << kHelp;
    return args.empty() ? modelpin::cli::kExitUsage : modelpin::cli::kExitOk;
  }
  std::string verb = args[0];
  args.erase(args.begin());
  if (verb == "replay") return modelpin::cli::RunReplay(std::move(args));
  if (verb == "chat") return modelpin::cli::RunChat(std::move(args));
  if (verb == "models") return modelpin::cli::RunModels(std::move(args));
  if (verb == "explain") return modelpin::cli::RunExplain(std::move(args));
  if (verb == "doctor") return modelpin::cli::RunDoctor(std::move(args));
  if (verb == "sessions") return modelpin::cli::RunSessions(std::move(args));
  if (verb == "serve") return modelpin::cli::RunServe(std::move(args));
  if (verb == "timeline") return modelpin::cli::RunTimeline(std::move(args));
  if (verb == "--version") {
    std::cout << "modelpin " << MODELPIN_VERSION << "\n";
    return 0;
  }
  std::cerr << "modelpin: unknown verb \"" << verb << "\" (see: modelpin --help)\n";
  return modelpin::cli::kExitUsage;
}
