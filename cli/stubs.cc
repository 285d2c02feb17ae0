// Verbs not built yet would be stubbed here (Usage(verb, "not built yet")). None remain.
#include "cli/cli.h"
