#include <modelpin/service/console.h>

#include <string>

namespace modelpin::service {

void RegisterConsole(Router& router) {
  for (size_t i = 0; i < kConsoleFileCount; ++i) {
    const ConsoleFile& f = kConsoleFiles[i];
    std::string path = "/";  // index.html is the root; the rest keep their names
    if (f.name != "index.html") path.append(f.name);
    router.Add("GET", path, Access::kPublic, [&f](const Request&, Response& r) {
      r.content_type = std::string(f.content_type);
      r.body.assign(f.bytes);
      r.headers.emplace_back("Content-Security-Policy", std::string(kConsolePolicy));
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
      r.headers.emplace_back("Cache-Control", "no-cache");
    });
  }
}

}  // namespace modelpin::service
