// The web console (service/console/: plain HTML, CSS and JavaScript, no build step) served by
// `modelpin serve` at "/", from bytes compiled into the binary: it works offline and needs no
// file at run time. Every answer carries a strict Content-Security-Policy (no inline script or
// style, nothing from another origin) and the page asks for the service token itself
// (docs/console.md).
#ifndef MODELPIN_SERVICE_CONSOLE_H_
#define MODELPIN_SERVICE_CONSOLE_H_

#include <cstddef>
#include <string_view>

#include <modelpin/service/router.h>

namespace modelpin::service {

struct ConsoleFile {
  std::string_view name;          // "console.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
};
extern const ConsoleFile kConsoleFiles[];
extern const size_t kConsoleFileCount;

// The policy every console answer carries.
inline constexpr std::string_view kConsolePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

// GET / (index.html) and GET /<file> for every other console file; no token needed.
void RegisterConsole(Router& router);

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_CONSOLE_H_
