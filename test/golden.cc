#include "test/golden.h"

#include <fstream>
#include <sstream>

#include <modelpin/base/json_file.h>
#include <modelpin/base/text.h>
#include "rapidjson/document.h"

namespace modelpin::testing {
namespace {

// Replaces what follows `marker` up to `stop` (or the end of the line) with `with`.
void MaskAfter(std::string& text, const std::string& marker, char stop, const std::string& with) {
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    size_t begin = at + marker.size();
    size_t end = text.find_first_of(std::string(1, stop) + "\n", begin);
    if (end == std::string::npos) end = text.size();
    text.replace(begin, end - begin, with);
  }
}

std::string Normalize(std::string text) {
  static const std::string refresh =
      "Some models could not be refreshed. You can still choose from the available models.\n\n";
  if (text.rfind(refresh, 0) == 0) text.erase(0, refresh.size());
  MaskAfter(text, "Auth store: ", '\n', "<store>");
  MaskAfter(text, "(auth profile store: ", ')', "<store>");
  return text;
}

std::string Show(const std::vector<std::pair<std::string, bool>>& replies) {
  std::string out = "[";
  for (const auto& [t, e] : replies) out += "\n      " + std::string(e ? "(error) " : "") + "\"" + t + "\"";
  return out + "]";
}

}  // namespace

const char* const kModelCallError = "\xE2\x9A\xA0\xEF\xB8\x8F The configured model is unavailable from the provider";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string SourcePath(const std::string& relative) { return std::string(MODELPIN_SOURCE_ROOT) + "/" + relative; }

std::vector<std::string> DiffStep(const std::string& line, const ReplayStep& actual) {
  std::vector<std::string> diffs;
  rapidjson::Document exp;
  exp.Parse(line.c_str());
  if (exp.HasParseError()) return {"expected line is not JSON"};
  std::string input(exp["input"].GetString(), exp["input"].GetStringLength());
  if (input != actual.input) diffs.push_back("input differs: \"" + input + "\" vs \"" + actual.input + "\"");

  std::optional<std::string> sent;
  if (exp.HasMember("agentTranscript") && exp["agentTranscript"].IsArray())
    for (const auto& m : exp["agentTranscript"].GetArray())
      if (m.HasMember("role") && std::string(m["role"].GetString()) == "user" && !sent)
        sent = std::string(text::Trim(m["text"].GetString()));
  if (sent) {
    std::string ours = actual.route ? std::string(text::Trim(actual.route->text)) : "<no route>";
    if (*sent != ours) diffs.push_back("text sent to the model: expected \"" + *sent + "\", ours \"" + ours + "\"");
  }
  // Every reply OpenClaw gave: its block replies (an inline selection's acknowledgement is sent as
  // one, before the model runs), then its final replies. Where the message reached the model,
  // the oracle's last reply is the offline model-call error (fixtures/README.md), which modelpin, having no
  // model, does not produce: the replies before it are compared.
  std::vector<std::pair<std::string, bool>> e, a;
  auto add = [&e](const rapidjson::Value& r) {
    e.emplace_back(Normalize(r.HasMember("text") && r["text"].IsString() ? r["text"].GetString() : ""),
                   r.HasMember("isError") && r["isError"].IsBool() && r["isError"].GetBool());
  };
  if (exp.HasMember("blockReplies"))
    for (const auto& r : exp["blockReplies"].GetArray()) add(r);
  for (const auto& r : exp["replies"].GetArray()) add(r);
  if (sent) {
    if (e.empty() || !e.back().second || e.back().first.rfind(kModelCallError, 0) != 0)
      diffs.push_back("the oracle's last reply on a step that reached the model is not the model-call error");
    else
      e.pop_back();
  }
  for (const auto& r : actual.replies) a.emplace_back(Normalize(r.text), r.is_error);
  if (e != a) diffs.push_back("replies: expected " + Show(e) + "\n    ours " + Show(a));
  rapidjson::Document ours;
  std::string json = StepJson(actual);
  ours.Parse(json.c_str());
  // modelpin's own expected files also pin the route (provider, model, ordered profiles).
  if (exp.HasMember("route")) {
    if (!ours.HasMember("route") || !(exp["route"] == ours["route"]))
      diffs.push_back("route differs; ours: " + (ours.HasMember("route") ? ToCompactJson(ours["route"]) : "<none>"));
  }
  const rapidjson::Value& es = exp["sessions"];
  if (!(es == ours["sessions"])) {
    std::string ss;
    for (const auto& [k, v] : actual.sessions) ss += k + ": " + v.OracleJson() + " ";
    diffs.push_back("sessions differ; ours: " + ss);
  }
  return diffs;
}

}  // namespace modelpin::testing
