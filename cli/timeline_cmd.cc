// `modelpin timeline`: the rotation picture of a running deployment, from what its service
// recorded (GET /v1/timeline of `modelpin serve`: the calls reported to it and the cooldown and
// disable windows the engine announced). `replay --timeline` draws a transcript instead.
#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/json_file.h>
#include <modelpin/cli/cli.h>
#include <modelpin/engine/auth/env_credentials.h>

namespace modelpin::cli {
namespace {

constexpr const char* kTimelineHelp = R"(usage: modelpin timeline [--since 1h] [--agent ID] [--provider P]
                         [--url http://127.0.0.1:8787 | --url unix:PATH] [--out FILE.svg]

Draws the rotation timeline of a running `modelpin serve` as SVG (stdout, or --out): one lane per
auth profile, a mark per model call coloured by its outcome, bars while a profile cooled down or
was disabled, fallbacks ringed (docs/timeline.md). The service keeps what it saw in memory: the
calls reported to it (POST /v1/outcome, POST /v1/chat) and the engine's cooldown events.

  --since D     how far back: 30m, 1h (default), 1d, ...
  --agent ID    the agent (default: the config's default agent)
  --provider P  only this provider's profiles
  --url URL     the service (default http://127.0.0.1:8787; unix:PATH for a unix socket)
  --out FILE    write the SVG there (atomically) instead of stdout

The token is MODELPIN_SERVICE_READ_TOKEN or MODELPIN_SERVICE_TOKEN (environment, else
<state>/.env). Exit 0 with the picture, 1 when the service cannot be reached or refuses.
)";

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The first of `names` set in the environment, else in <state>/.env.
std::string Token(const std::string& state_dir) {
  for (const char* name : {"MODELPIN_SERVICE_READ_TOKEN", "MODELPIN_SERVICE_TOKEN"})
    if (const char* v = std::getenv(name); v && *v) return v;
  std::ifstream in(state_dir + "/.env");
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  auto vars = ParseDotEnv(state_dir + "/.env", text.str());
  if (!vars.ok()) return "";
  for (const char* name : {"MODELPIN_SERVICE_READ_TOKEN", "MODELPIN_SERVICE_TOKEN"})
    if (auto it = vars->find(name); it != vars->end() && !it->second.empty()) return it->second;
  return "";
}

}  // namespace

int RunTimeline(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "timeline", kTimelineHelp, {"--since", "--provider", "--url", "--out"}, {}); rc >= 0)
    return rc;
  if (!args.positional().empty()) return Usage("timeline", "unexpected argument \"" + args.positional()[0] + "\"");
  const std::string since = args.Has("--since") ? args.Value("--since") : "1h";
  if (!ParseDurationMs(since)) return Usage("timeline", "--since expects a duration such as 30m, 1h or 1d");
  std::string url = args.Has("--url") ? args.Value("--url") : "http://127.0.0.1:8787";
  std::string unix_path;
  if (url.rfind("unix:", 0) == 0) {
    unix_path = url.substr(5);
    url = "http://localhost";
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string token = Token(common.StateDir());
  if (token.empty())
    return Fail(absl::FailedPreconditionError("no service token: set MODELPIN_SERVICE_READ_TOKEN or MODELPIN_SERVICE_TOKEN"));

  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Fail(absl::InternalError("libcurl failed to start"));
  auto escape = [&](const std::string& s) {
    char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  };
  std::string target = absl::StrCat(url, "/v1/timeline?since=", escape(since));
  if (!common.agent.empty()) absl::StrAppend(&target, "&agent=", escape(common.agent));
  if (args.Has("--provider")) absl::StrAppend(&target, "&provider=", escape(args.Value("--provider")));
  std::string body;
  const std::string auth = "Authorization: Bearer " + token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!unix_path.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_path.c_str());
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  const std::string where = unix_path.empty() ? url : "unix:" + unix_path;
  if (rc != CURLE_OK)
    return Fail(absl::UnavailableError(absl::StrCat("cannot reach the service at ", where, ": ", curl_easy_strerror(rc))));
  if (status != 200)
    return Fail(absl::FailedPreconditionError(absl::StrCat("the service at ", where, " answered ", status, ": ",
                                                           body.substr(0, 300))));
  if (args.Has("--out")) {
    if (absl::Status st = WriteFileAtomically(args.Value("--out"), body, 0644); !st.ok()) return Fail(st);
    return kExitOk;
  }
  std::cout << body << std::flush;
  return kExitOk;
}

}  // namespace modelpin::cli
