// One of the processes of test/contention_test.sh: it sends N changes to ONE session that other
// processes change at the same time, through the engine of OpenEngine (the store the config
// names: SQLite under the state dir, or Redis). Every message is a turn that reads the session
// and writes it back: "/count" (a plugin that counts in session fields: count.total and
// count.w<ID>), and every other message also pins a model and profile ("/count /model
// opus@anthropic:work"), so a lost update shows as a count short. A message that fails is
// printed and counted; the exit status is 1 if any did.
//
//   contention_worker CONFIG STATE_DIR WORKER_ID N SESSION_KEY
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <modelpin/embed/open.h>

namespace {

class CountPlugin : public modelpin::Plugin {
 public:
  explicit CountPlugin(std::string worker) : field_("count.w" + std::move(worker)) {}
  std::string_view name() const override { return "count"; }
  std::vector<modelpin::CommandInfo> Commands() const override {
    return {modelpin::CommandInfo{.name = "count", .summary = "Counts this message in the session."}};
  }
  std::optional<std::vector<modelpin::Reply>> HandleCommand(std::string_view text,
                                                            modelpin::TurnContext& ctx) const override {
    if (text.rfind("/count", 0) != 0) return std::nullopt;
    auto bump = [&](const std::string& key) {
      std::string& v = ctx.session.plugin_state[key];
      v = std::to_string(std::atoll(v.c_str()) + 1);
      return v;
    };
    bump(field_);
    return std::vector<modelpin::Reply>{{"total " + bump("count.total"), false}};
  }

 private:
  std::string field_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: contention_worker CONFIG STATE_DIR WORKER_ID N SESSION_KEY\n";
    return 2;
  }
  const std::string worker = argv[3];
  const long n = std::atol(argv[4]);
  modelpin::EngineSetup setup{.state_dir = argv[2], .config_path = argv[1]};
  setup.environment.emplace();  // no credentials from this process's environment
  setup.plugins.push_back(std::make_shared<CountPlugin>(worker));
  auto engine = modelpin::OpenEngine(std::move(setup));
  if (!engine.ok()) {
    std::cerr << "contention_worker " << worker << ": " << engine.status().message() << "\n";
    return 1;
  }
  static const char* kPins[] = {"/count /model opus@anthropic:work", "/count /model sonnet@anthropic:default"};
  long failed = 0;
  modelpin::Outcome out;
  for (long i = 0; i < n; ++i) {
    modelpin::InboundMessage m{.agent_id = "main", .session_key = argv[5]};
    m.text = i % 2 == 0 ? "/count" : kPins[(i / 2) % 2];
    absl::Status st = (*engine)->Handle(m, out);
    if (!st.ok()) {
      ++failed;
      std::fprintf(stderr, "worker %s message %ld: %s\n", worker.c_str(), i, std::string(st.message()).c_str());
      continue;
    }
    // The turn's own write must hold this worker's count: one more than its previous message.
    auto it = out.session.plugin_state.find("count.w" + worker);
    if (it == out.session.plugin_state.end() || std::atol(it->second.c_str()) != i + 1 - failed) {
      std::fprintf(stderr, "worker %s message %ld: count.w%s is %s, want %ld\n", worker.c_str(), i, worker.c_str(),
                   it == out.session.plugin_state.end() ? "missing" : it->second.c_str(), i + 1 - failed);
      return 1;
    }
  }
  std::fprintf(stderr, "worker %s: %ld messages, %ld failed\n", worker.c_str(), n, failed);
  return failed == 0 ? 0 : 1;
}
