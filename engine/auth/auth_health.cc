#include <modelpin/engine/auth/auth_health.h>

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>

namespace modelpin {

absl::StatusOr<AuthHealth> JsonFileAuthHealth::Read(const std::string& agent) {
  ASSIGN_OR_RETURN(AuthStore store, AuthStore::Load(path_of_(agent)));
  return store.Health();
}

absl::StatusOr<uint64_t> JsonFileAuthHealth::Version(const std::string& agent) {
  struct stat st;
  if (::stat(path_of_(agent).c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(st.st_mtim.tv_nsec) +
         static_cast<uint64_t>(st.st_size);
}

absl::Status JsonFileAuthHealth::Update(const std::string& agent, const std::string& profile_id,
                                        const std::string& provider, const Change& change) {
  const std::string path = path_of_(agent);
  return AuthStore::Update(path, [&](AuthStore& store) -> absl::Status {
    UsageStats u = store.Usage(profile_id);
    const std::string* stored = store.LastGood(provider);
    std::string last_good = stored ? *stored : "";
    const std::string before = last_good;
    RETURN_IF_ERROR(change(u, last_good));
    store.SetUsage(profile_id, u);
    if (last_good != before && !last_good.empty()) store.SetLastGood(provider, last_good);
    return absl::OkStatus();
  });
}

}  // namespace modelpin
