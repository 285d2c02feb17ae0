#include <modelpin/cli/cli.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/embed/open.h>

namespace modelpin::cli {

std::string Common::StateDir() const {
  if (!state_flag.empty()) return state_flag;
  if (const char* env = std::getenv("MODELPIN_STATE_DIR"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home && *home ? home : ".", "/.modelpin");
}

std::string Common::ConfigPath() const {
  if (!config_flag.empty()) return config_flag;
  if (const char* env = std::getenv("MODELPIN_CONFIG"); env && *env) return env;
  return StateDir() + "/modelpin.json";
}

std::string Args::Parse(const std::vector<std::string>& value_flags, const std::vector<std::string>& bool_flags) {
  auto takes_value = [&](const std::string& f) {
    return f == "--config" || f == "--state" || f == "--agent" || f == "--plugin" ||
           std::find(value_flags.begin(), value_flags.end(), f) != value_flags.end();
  };
  for (size_t i = 0; i < args_.size(); ++i) {
    std::string a = args_[i];
    if (a == "--") {
      positional_.insert(positional_.end(), args_.begin() + static_cast<long>(i) + 1, args_.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::string name = a, value;
      bool has_inline = false;
      if (size_t eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        has_inline = true;
      }
      if (takes_value(name)) {
        if (!has_inline) {
          if (i + 1 >= args_.size()) return absl::StrCat(name, " needs a value");
          value = args_[++i];
        }
        if (name == "--config") common_->config_flag = value;
        else if (name == "--state") common_->state_flag = value, common_->state_given = true;
        else if (name == "--agent") common_->agent = value;
        else if (name == "--plugin") common_->plugin_paths.push_back(value);
        else flags_.emplace_back(name, value);
        continue;
      }
      if (name == "--strict") {
        common_->strict = true;
        continue;
      }
      if (std::find(bool_flags.begin(), bool_flags.end(), name) != bool_flags.end()) {
        flags_.emplace_back(name, "");
        continue;
      }
      return absl::StrCat("unknown option ", name);
    }
    positional_.push_back(a);
  }
  if (!common_->state_given) {
    if (const char* env = std::getenv("MODELPIN_STATE_DIR"); env && *env) common_->state_given = true;
  }
  return "";
}

bool Args::Has(const std::string& flag) const {
  for (const auto& [f, v] : flags_)
    if (f == flag) return true;
  return false;
}

std::string Args::Value(const std::string& flag) const {
  for (const auto& [f, v] : flags_)
    if (f == flag) return v;
  return "";
}

std::vector<std::string> Args::Values(const std::string& flag) const {
  std::vector<std::string> out;
  for (const auto& [f, v] : flags_)
    if (f == flag) out.push_back(v);
  return out;
}

EngineSetup Setup(const Common& c) {
  EngineSetup setup;
  setup.state_dir = c.StateDir();
  // An explicit config (--config, $MODELPIN_CONFIG) must exist; the default one may be missing.
  if (!c.config_flag.empty() || std::getenv("MODELPIN_CONFIG")) setup.config_path = c.ConfigPath();
  if (c.strict) setup.strict = true;
  setup.plugin_files = c.plugin_paths;
  return setup;
}

absl::StatusOr<Config> LoadConfig(const Common& c) { return LoadSetupConfig(Setup(c)); }

std::shared_ptr<const Clock> CliClock() {
  if (const char* env = std::getenv("MODELPIN_NOW_MS"); env && *env) {
    int64_t now = 0;  // the leading digits, as tests set it; 0 when there are none
    std::from_chars(env, env + std::strlen(env), now);
    return std::make_shared<FakeClock>(now);
  }
  return std::make_shared<SystemClock>();
}

absl::StatusOr<std::unique_ptr<Engine>> MakeEngine(const Common& c, bool persistent_sessions,
                                                   std::shared_ptr<const Clock> clock,
                                                   std::chrono::milliseconds group_commit, bool read_only) {
  EngineSetup setup = Setup(c);
  setup.read_only = read_only;
  setup.sessions = persistent_sessions ? EngineSetup::Sessions::kConfigured : EngineSetup::Sessions::kMemory;
  setup.group_commit = group_commit;
  setup.clock = clock ? clock : CliClock();
  return OpenEngine(std::move(setup));
}

int Fail(const absl::Status& status) {
  std::cerr << "modelpin: " << status.message() << "\n";
  return kExitError;
}

int Usage(const std::string& verb, const std::string& message) {
  std::cerr << "modelpin " << verb << ": " << message << " (see: modelpin " << verb << " --help)\n";
  return kExitUsage;
}

int ParseVerb(Args& args, const std::string& verb, const char* help, const std::vector<std::string>& value_flags,
              const std::vector<std::string>& bool_flags) {
  if (std::string err = args.Parse(value_flags, bool_flags); !err.empty()) return Usage(verb, err);
  if (args.help()) {
    std::cout << help;
    return kExitOk;
  }
  return -1;
}

}  // namespace modelpin::cli
