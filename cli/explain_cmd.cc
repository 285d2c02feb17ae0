#include <iostream>

#include "absl/strings/str_join.h"
#include <modelpin/cli/cli.h>
#include <modelpin/plugins/model/explain.h>

namespace modelpin::cli {

constexpr const char* kExplainHelp = R"(usage: modelpin explain REF[@PROFILE] [--json] [--session KEY] [--agent ID]
                        [--config FILE] [--state DIR] [--strict] [--plugin PATH]...

Shows, step by step, how a /model reference resolves for the agent (aliases, provider id
tables, the model policy and the entry that allowed it, fuzzy candidates with their scores)
and the auth profiles a call on the result would try, each with the reason it is where it is
(explicit order, type, last use, cooldown, expiry, exclusions, the session's pin). Secrets are
masked. Nothing is changed. In chat: /model explain REF[@PROFILE].

  --json         the same as one JSON object
  --session KEY  explain against this session's pin (sessions from <state>/sessions.sqlite)
)";

int RunExplain(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "explain", kExplainHelp, {"--session"}, {"--json"}); rc >= 0) return rc;
  if (args.positional().empty()) return Usage("explain", "expected a model reference, e.g. sonnet@anthropic:work");
  std::string ref = absl::StrJoin(args.positional(), " ");
  bool with_session = args.Has("--session");
  auto engine = MakeEngine(common, with_session, nullptr, {}, /*read_only=*/true);
  if (!engine.ok()) return Fail(engine.status());
  std::string out;
  absl::Status st = (*engine)->Inspect(common.agent, args.Value("--session"), [&](TurnContext& ctx) {
    out = args.Has("--json") ? model_plugin::ExplainJson(ctx, ref) : model_plugin::ExplainText(ctx, ref);
  });
  if (!st.ok()) return Fail(st);
  std::cout << out << "\n";
  return kExitOk;
}

}  // namespace modelpin::cli
