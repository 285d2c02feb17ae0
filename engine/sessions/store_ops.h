// How a store reports each operation it sends to its backend (EventSink::OnStoreOp, counted by
// observe/metrics.h): one object per operation, timed only when there is a sink. Internal to
// engine/sessions/ (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_STORE_OPS_H_
#define MODELPIN_ENGINE_SESSIONS_STORE_OPS_H_

#include <chrono>

#include "absl/status/status.h"
#include <modelpin/engine/events/events.h>

namespace modelpin {

class StoreOp {
 public:
  StoreOp(EventSink* sink, const char* store, const char* op) : sink_(sink), store_(store), op_(op) {
    if (sink_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  // Reports the operation with its outcome. Aborted (another process won a version check)
  // counts as done, not as a failure.
  void Record(const absl::Status& st) {
    if (sink_ != nullptr)
      sink_->OnStoreOp(store_, op_, st.ok() || absl::IsAborted(st),
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  // The same, passing the status on.
  absl::Status Done(absl::Status st) {
    Record(st);
    return st;
  }

 private:
  EventSink* sink_;
  const char* store_;
  const char* op_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_STORE_OPS_H_
