// The entry a session store's last lookup found, by (agent, key). A bot's next message is usually
// for the session of its last one, and the engine loads a session and stores it in the same turn:
// comparing two strings is cheaper than building a store key and hashing it. Internal to
// engine/sessions/ (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_LAST_ENTRY_H_
#define MODELPIN_ENGINE_SESSIONS_LAST_ENTRY_H_

#include <string>

#include <modelpin/base/text.h>

namespace modelpin {

// The remembered entry must stay where it is: a store forgets it before anything can move or
// free it (an erase, a clear, an insert into a map that moves its elements when it grows).
template <typename Entry>
class LastEntry {
 public:
  // The remembered entry when it is (agent, key)'s, else nullptr.
  Entry* Find(const std::string& agent, const std::string& key) const {
    return entry_ != nullptr && text::SameBytes(key, key_) && text::SameBytes(agent, agent_) ? entry_ : nullptr;
  }
  Entry* Remember(const std::string& agent, const std::string& key, Entry* entry) {
    agent_.assign(agent);
    key_.assign(key);
    return entry_ = entry;
  }
  void Forget() { entry_ = nullptr; }

 private:
  Entry* entry_ = nullptr;
  std::string agent_, key_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_LAST_ENTRY_H_
