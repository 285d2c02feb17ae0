// A bot in a dozen lines: modelpin embedded through its installed pkg-config file.
//   embed STATE_DIR MESSAGE...   prints each reply and, for ordinary messages, the route.
#include <iostream>

#include <modelpin/embed/open.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: embed STATE_DIR MESSAGE...\n";
    return 2;
  }
  // The config's stores, plugins and credentials, as every client opens them; sessions in memory.
  auto engine = modelpin::OpenEngine({.state_dir = argv[1], .sessions = modelpin::EngineSetup::Sessions::kMemory});
  if (!engine.ok()) return std::cerr << engine.status().message() << "\n", 1;
  modelpin::Outcome outcome;  // one per loop: Handle reuses its buffers
  for (int i = 2; i < argc; ++i) {
    absl::Status st = (*engine)->Handle({.session_key = "demo", .text = argv[i]}, outcome);
    if (!st.ok()) return std::cerr << st.message() << "\n", 1;
    for (const auto& r : outcome.replies) std::cout << (r.is_error ? "error: " : "reply: ") << r.text << "\n";
    if (outcome.route) {
      std::cout << "route: " << outcome.route->model.Label() << " via";
      for (const auto& p : outcome.route->profiles) std::cout << " " << p;
      std::cout << "\n";
    }
  }
}
