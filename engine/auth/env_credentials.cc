#include <modelpin/engine/auth/env_credentials.h>

#include <sys/stat.h>

#include <array>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/auth_order.h>

namespace modelpin {
namespace {

const std::array<ProviderEnvVars, 14> kTable = {{
    {"anthropic", {"ANTHROPIC_API_KEY"}},
    {"openrouter", {"OPENROUTER_API_KEY"}},
    {"openai", {"OPENAI_API_KEY"}},
    {"google", {"GEMINI_API_KEY", "GOOGLE_API_KEY"}},
    {"xai", {"XAI_API_KEY"}},
    {"together", {"TOGETHER_API_KEY"}},
    {"huggingface", {"HF_TOKEN", "HUGGINGFACE_HUB_TOKEN"}},
    {"nvidia", {"NVIDIA_API_KEY"}},
    {"minimax", {"MINIMAX_API_KEY"}},
    {"ollama-cloud", {"OLLAMA_API_KEY"}},
    {"litellm", {"LITELLM_API_KEY"}},
    {"fal", {"FAL_KEY"}},
    {"github-copilot", {"COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"}},
    {"vercel-ai-gateway", {"AI_GATEWAY_API_KEY"}},
}};

bool IsKeyChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

std::span<const ProviderEnvVars> ProviderEnvTable() { return kTable; }

absl::StatusOr<std::map<std::string, std::string>> ParseDotEnv(std::string_view name, std::string_view text) {
  std::map<std::string, std::string> out;
  text::LineReader lines(text);
  for (std::string_view line; lines.Next(&line);) {
    const int number = lines.number();
    std::string_view s = text::Trim(line);
    if (s.empty() || s[0] == '#') continue;
    if (s.substr(0, 7) == "export " || s.substr(0, 7) == "export\t") s = text::Trim(s.substr(7));
    size_t eq = s.find('=');
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(name), ":", number, ": ", what));
    };
    if (eq == std::string_view::npos) return error("expected KEY=VALUE");
    std::string_view key = text::Trim(s.substr(0, eq));
    if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return error("invalid variable name");
    for (char c : key)
      if (!IsKeyChar(c)) return error(absl::StrCat("invalid variable name \"", std::string(key), "\""));
    std::string_view raw = text::Trim(s.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw[0] == '"') {
      size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          value += n == 'n' ? '\n' : n;
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return error("unterminated double quote");
      std::string_view rest = text::Trim(raw.substr(i + 1));
      if (!rest.empty() && rest[0] != '#') return error("text after the closing quote");
    } else if (!raw.empty() && raw[0] == '\'') {
      size_t close = raw.find('\'', 1);
      if (close == std::string_view::npos) return error("unterminated single quote");
      value = std::string(raw.substr(1, close - 1));
      std::string_view rest = text::Trim(raw.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') return error("text after the closing quote");
    } else {
      // Unquoted: an inline comment starts at " #".
      size_t hash = raw.find(" #");
      value = std::string(text::Trim(raw.substr(0, hash)));
    }
    out[std::string(key)] = std::move(value);
  }
  return out;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (const auto& row : kTable)
    for (auto var : row.variables)
      if (const char* v = std::getenv(std::string(var).c_str()); v && *v) env[std::string(var)] = v;
  return env;
}

absl::StatusOr<EnvCredentials> EnvCredentials::Load(const std::string& dotenv_path,
                                                    const std::map<std::string, std::string>& environment) {
  EnvCredentials out;
  std::map<std::string, std::string> file;
  if (!dotenv_path.empty()) {
    struct stat st;
    if (::stat(dotenv_path.c_str(), &st) == 0) {
      auto contents = ReadTextFile(dotenv_path);
      if (!contents.ok()) return contents.status();
      auto parsed = ParseDotEnv(dotenv_path, *contents);
      if (!parsed.ok()) return parsed.status();
      file = *std::move(parsed);
      if (st.st_mode & 077)
        out.warnings_.push_back(absl::StrFormat("%s is readable by group or others (mode %03o); run: chmod 600 %s",
                                                dotenv_path, st.st_mode & 0777, dotenv_path));
    }
  }
  for (const auto& row : kTable) {
    for (auto var : row.variables) {
      std::string name(var);
      auto env_it = environment.find(name);
      if (env_it != environment.end() && !env_it->second.empty()) {
        out.credentials_.push_back({std::string(row.provider), name, env_it->second, "environment"});
        break;
      }
      auto file_it = file.find(name);
      if (file_it != file.end() && !file_it->second.empty()) {
        out.credentials_.push_back({std::string(row.provider), name, file_it->second, dotenv_path});
        break;
      }
    }
  }
  return out;
}

const EnvCredential* EnvCredentials::For(std::string_view provider) const {
  std::string p = AuthProvider(provider);
  for (const auto& c : credentials_)
    if (c.provider == p) return &c;
  return nullptr;
}

}  // namespace modelpin
