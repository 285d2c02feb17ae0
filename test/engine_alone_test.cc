// The engine on its own: this program links modelpin_engine whole (every object of it, with
// grammar and base below it) and nothing of plugins/ or replay/ (test/meson.build), so an engine
// object that referred to a plugin would fail this link. It then runs a turn with an empty plugin
// registry: every message is ordinary text, directives included, and goes to the model as is.
//   engine_alone_test STATE_DIR
#include <iostream>
#include <string>

#include <modelpin/engine/turn/engine.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: engine_alone_test STATE_DIR\n";
    return 2;
  }
  const std::string state = argv[1];
  auto config = modelpin::Config::Load(state + "/modelpin.json");
  if (!config.ok()) return std::cerr << "FAIL config: " << config.status().message() << "\n", 1;
  modelpin::EngineOptions options{.state_dir = state};  // no plugins
  auto engine = modelpin::Engine::Create(*std::move(config), nullptr, options);  // sessions in memory
  if (!engine.ok()) return std::cerr << "FAIL engine: " << engine.status().message() << "\n", 1;
  int failed = 0;
  for (const std::string text : {"hello /think high", "/model opus"}) {
    modelpin::Outcome outcome;
    absl::Status st = (*engine)->Handle({.session_key = "alone", .text = text}, outcome);
    if (!st.ok()) {
      std::cerr << "FAIL " << text << ": " << st.message() << "\n";
      ++failed;
    } else if (!outcome.replies.empty() || !outcome.route || outcome.route->text != text) {
      std::cerr << "FAIL " << text << ": not routed unchanged (" << outcome.replies.size() << " replies, route text \""
                << (outcome.route ? outcome.route->text : "") << "\")\n";
      ++failed;
    } else {
      std::cout << "ok   \"" << text << "\" goes to " << outcome.route->model.Label() << " unchanged\n";
    }
  }
  return failed == 0 ? 0 : 1;
}
