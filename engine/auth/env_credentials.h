// Provider credentials from the environment: variables such as ANTHROPIC_API_KEY, read from the
// process environment and from the state dir's `.env` (for daemons under systemd or launchd).
// They are used, as OpenClaw does, when a provider has no eligible stored profile.
//
//   EnvCredentials env = EnvCredentials::Load(state_dir + "/.env", ProcessEnvironment());
//   if (const EnvCredential* c = env.For("anthropic")) c->variable;   // "ANTHROPIC_API_KEY"
//
// `.env` syntax: KEY=VALUE lines, optional "export " prefix, "#" comments, values in double
// quotes (with \" \\ \n escapes) or single quotes (literal). Values are never expanded, and a
// variable already set in the environment is never overridden by the file.
#ifndef MODELPIN_ENGINE_AUTH_ENV_CREDENTIALS_H_
#define MODELPIN_ENGINE_AUTH_ENV_CREDENTIALS_H_

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelpin {

// The one table of provider -> environment variables, first match wins.
struct ProviderEnvVars {
  std::string_view provider;
  std::vector<std::string_view> variables;
};
std::span<const ProviderEnvVars> ProviderEnvTable();

struct EnvCredential {
  std::string provider;
  std::string variable;  // "ANTHROPIC_API_KEY"
  std::string value;     // the secret: never print it, use MaskSecret
  std::string source;    // "environment" or the .env path
  // "env:ANTHROPIC_API_KEY": how routes name this credential among profile ids.
  std::string ProfileId() const { return "env:" + variable; }
};

// Parses .env text. Errors name `name` and the line.
absl::StatusOr<std::map<std::string, std::string>> ParseDotEnv(std::string_view name, std::string_view text);

// The table's variables as set in this process.
std::map<std::string, std::string> ProcessEnvironment();

class EnvCredentials {
 public:
  EnvCredentials() = default;
  // Reads `dotenv_path` if it exists (a missing file is fine; a malformed one is an error) and
  // merges it under `environment`. Group- or world-readable files get a warning.
  static absl::StatusOr<EnvCredentials> Load(const std::string& dotenv_path,
                                             const std::map<std::string, std::string>& environment);
  const EnvCredential* For(std::string_view provider) const;
  const std::vector<EnvCredential>& all() const { return credentials_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<EnvCredential> credentials_;
  std::vector<std::string> warnings_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_ENV_CREDENTIALS_H_
