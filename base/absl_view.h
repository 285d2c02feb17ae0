// Debian's abseil has a string_view of its own (ABSL_OPTION_USE_STD_STRING_VIEW is 0), so an
// absl::StrSplit piece or an absl container's heterogeneous lookup wants absl::string_view while
// modelpin speaks std::string_view. These two are the one conversion between them (no copy).
//
//   aliases_.find(AbslView(lower));                   // absl::flat_hash_map<std::string, ...>
//   for (absl::string_view piece : absl::StrSplit(AbslView(arg), ' ')) Use(StdView(piece));
#ifndef MODELPIN_BASE_ABSL_VIEW_H_
#define MODELPIN_BASE_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace modelpin {

inline absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view StdView(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace modelpin

#endif  // MODELPIN_BASE_ABSL_VIEW_H_
