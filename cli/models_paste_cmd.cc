// `modelpin models auth paste-token|paste-api-key`: store a secret read from stdin in the
// agent's own auth store (docs/operations.md), and SaveCredential, which setup-token shares. Which secrets
// may be stored, and how a stored one starts, are the library's rules (engine/turn/agent_store.h).
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "absl/strings/str_join.h"
#include <modelpin/cli/cli.h>
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/base/text.h>

namespace modelpin::cli {
namespace {

constexpr const char* kPasteTokenHelp = R"(usage: modelpin models auth paste-token --provider P [--profile-id ID] [--expires-in DURATION]
                                        [--agent ID] [--config FILE] [--state DIR]

Reads a token from stdin (without echo on a terminal) and saves it as a token profile in the
agent's own auth store (mode 0600). The token is trimmed; it may not be empty or contain
whitespace or control characters. Only a masked form is printed.

  --provider P         provider id (lower-cased); required
  --profile-id ID      profile id (default <provider>:manual); an existing profile is replaced
  --expires-in DURATION  lifetime, a number with a unit s, m, h, d or w: 30m, 12h, 365d
)";

constexpr const char* kPasteKeyHelp = R"(usage: modelpin models auth paste-api-key --provider P [--profile-id ID]
                                          [--agent ID] [--config FILE] [--state DIR]

Reads an API key from stdin (without echo on a terminal) and saves it as an api_key profile in
the agent's own auth store (mode 0600). The key is trimmed; it may not be empty or contain
whitespace or control characters. Only a masked form is printed.

  --provider P     provider id (lower-cased); required
  --profile-id ID  profile id (default <provider>:manual); an existing profile is replaced
)";

// Reads the secret: one line without echo from a terminal, else all of stdin.
std::string ReadSecret(const std::string& what) {
  std::string text;
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "Paste " << what << ": " << std::flush;
    termios old{};
    bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, text);
    if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  } else {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    text = buf.str();
  }
  return text;
}

}  // namespace

int SaveCredential(Engine& e, const std::string& agent, const Credential& c) {
  const std::string& id = c.id;
  const std::string& provider = c.provider;
  absl::Status st = UpdateOwnStore(e, agent, [&](AuthStore& s) -> absl::Status {
    StoreCredential(s, c);  // a changed secret starts healthy
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(st);
  std::cout << "Saved " << id << " (" << c.type << ") for " << provider << ": " << MaskedCredential(c, e.config().masking(), CredentialLabel::kSecretOnly) << "\n";

  // modelpin does not edit the config: say so when the new profile will not be selected.
  auto store = AuthStore::Load(e.OwnAuthStorePath(agent));
  if (store.ok()) {
    AuthOrder order = ResolveAuthOrder({&e.config(), &*store, provider, e.NowMs()});
    if (std::find(order.ids.begin(), order.ids.end(), id) == order.ids.end()) {
      std::vector<std::string> ids = {id};
      ids.insert(ids.end(), order.ids.begin(), order.ids.end());
      std::cerr << "note: " << id << " is not in the effective auth order of " << provider
                << " (config auth.profiles/auth.order or a stored order select others); to use it first run: "
                << "modelpin models auth order set --provider " << provider << " " << absl::StrJoin(ids, " ") << "\n";
    }
  }
  return kExitOk;
}

int RunPaste(bool token, std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = token ? "models auth paste-token" : "models auth paste-api-key";
  std::vector<std::string> value_flags = {"--provider", "--profile-id"};
  if (token) value_flags.push_back("--expires-in");
  if (int rc = ParseVerb(args, verb, token ? kPasteTokenHelp : kPasteKeyHelp, value_flags, {}); rc >= 0) return rc;
  if (!args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::optional<int64_t> lifetime;
  if (args.Has("--expires-in")) {
    lifetime = ParseDurationMs(args.Value("--expires-in"));
    if (!lifetime) return Usage(verb, "bad --expires-in \"" + args.Value("--expires-in") + "\" (e.g. 30m, 12h, 365d)");
  }
  std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (provider.empty()) return MissingProvider();
  std::string id(text::Trim(args.Value("--profile-id")));
  if (args.Has("--profile-id") && id.empty()) return Usage(verb, "--profile-id is empty");
  if (id.empty()) id = DefaultProfileId(provider);

  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  auto agent = KnownAgent(e, common.agent);
  if (!agent.ok()) return Fail(agent.status());

  const std::string what = token ? "token" : "API key";
  std::string raw = ReadSecret(what);
  std::string secret(text::Trim(raw));
  if (std::string bad = BadSecret(secret, what); !bad.empty()) return Fail(absl::InvalidArgumentError(bad));

  Credential c;
  c.id = id;
  c.type = token ? "token" : "api_key";
  c.provider = provider;
  c.secret = secret;
  if (lifetime) c.expires = e.NowMs() + *lifetime;
  return SaveCredential(e, *agent, c);
}

}  // namespace modelpin::cli
