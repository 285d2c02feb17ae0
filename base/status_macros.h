// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status code. Debian's abseil (20220623) predates
// absl's own status_macros.h, so the project carries these two.
#ifndef MODELPIN_BASE_STATUS_MACROS_H_
#define MODELPIN_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MODELPIN_CONCAT_INNER_(a, b) a##b
#define MODELPIN_CONCAT_(a, b) MODELPIN_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status modelpin_status_ = (expr);              \
    if (!modelpin_status_.ok()) return modelpin_status_;   \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(MODELPIN_CONCAT_(modelpin_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(*tmp)

#endif  // MODELPIN_BASE_STATUS_MACROS_H_
