#include <iostream>

#include "cli/cli.h"

namespace modelpin::cli {
int RunChat(std::vector<std::string>) { return Usage("chat", "not built yet"); }
int RunModels(std::vector<std::string>) { return Usage("models", "not built yet"); }
}  // namespace modelpin::cli
