/* Plugins of ABI 2 for test/plugin_v2_test.sh, in plain C99 against plugin_v2.h alone. One
 * source, built by the test as several modules:
 *   (default)        plugin "probe": /probe replies with what it was given (its config, the host's
 *                    version and capabilities, the turn's strides) and what it observed so far;
 *                    /boom returns 7; a plugin that also observes routes and outcomes
 *   -DBAD_STRIDE     command_stride 8: not a whole modelpin_command_v2
 *   -DBAD_SIZE       struct_size 16: smaller than ABI 2's descriptor
 *   -DBAD_CMD_SIZE   the command's own struct_size is 4
 *   -DNEEDS_FUTURE   requires capability bit 40, which no modelpin offers yet
 *   -DNEEDS_NEWER    min_host_version 99.0.0
 *   -DBAD_EFFECT     a command with directive effect 7
 *   -DBAD_CREATE     create() fails with a reason */
#include <modelpin/plugin_v2.h>
#include <stdio.h>
#include <string.h>

static char config_seen[256];
static long routes_seen, outcomes_seen;
static char last_outcome[128];

static int create(const modelpin_host_v2* host, modelpin_str_v2 config, void** state, char* error, size_t error_size) {
  (void)host;
  *state = NULL;
#ifdef BAD_CREATE
  snprintf(error, error_size, "no licence in config %.*s", (int)config.size, config.data);
  return 1;
#else
  (void)error, (void)error_size;
  snprintf(config_seen, sizeof config_seen, "%.*s", (int)config.size, config.data);
  return 0;
#endif
}

static void on_route(void* state, const modelpin_route_v2* route) {
  (void)state;
  (void)route;
  ++routes_seen; /* tests run one thread */
}

static void on_outcome(void* state, const modelpin_outcome_v2* o) {
  (void)state;
  ++outcomes_seen;
  snprintf(last_outcome, sizeof last_outcome, "%.*s %.*s", (int)o->profile_id.size, o->profile_id.data,
           (int)o->error.size, o->error.data);
}

static int handle(void* state, const modelpin_turn_v2* turn, const modelpin_host_v2* host, modelpin_result_v2* out) {
  char line[1024];
  (void)state;
  if (turn->command.size == 4 && memcmp(turn->command.data, "boom", 4) == 0) {
    host->reply(out, "boom", 4, 0);
    return 7;
  }
  snprintf(line, sizeof line,
           "probe: config=%s host=%s abi=2.%u caps=%#llx has_log=%d profiles=%u stride_ok=%d routes=%ld outcomes=%ld "
           "last=%s",
           config_seen, host->host_version, host->abi_minor, (unsigned long long)host->capabilities,
           MODELPIN_HOST_HAS(host, log) ? 1 : 0, (unsigned)turn->profile_count,
           turn->profile_stride >= sizeof(modelpin_profile_v2) ? 1 : 0, routes_seen, outcomes_seen, last_outcome);
  host->reply(out, line, strlen(line), 0);
  return 1;
}

static const modelpin_command_v2 kCommands[] = {
    {
#ifdef BAD_CMD_SIZE
        4,
#else
        sizeof(modelpin_command_v2),
#endif
        "probe", NULL, 0, "Show what the plugin was given.", "/probe", NULL, 0, 0,
#ifdef BAD_EFFECT
        7,
#else
        MODELPIN_DIRECTIVE_NONE,
#endif
        0},
    {sizeof(modelpin_command_v2), "boom", NULL, 0, "Returns 7.", "/boom", NULL, 0, 0, MODELPIN_DIRECTIVE_NONE, 0},
};

static const modelpin_plugin_v2 kPlugin = {
    MODELPIN_PLUGIN_ABI_V2,
#ifdef BAD_SIZE
    16,
#else
    sizeof(modelpin_plugin_v2),
#endif
    MODELPIN_PLUGIN_ABI_V2_MINOR,
#ifdef NEEDS_NEWER
    MODELPIN_VERSION_NUMBER(99, 0, 0),
#else
    0,
#endif
    MODELPIN_CAP_REPLY | MODELPIN_CAP_CONFIG | MODELPIN_CAP_OBSERVE_ROUTES | MODELPIN_CAP_OBSERVE_OUTCOMES
#ifdef NEEDS_FUTURE
        | ((uint64_t)1 << 40)
#endif
    ,
    "probe",
    "0.0.1",
    kCommands,
    sizeof kCommands / sizeof kCommands[0],
#ifdef BAD_STRIDE
    8,
#else
    sizeof(modelpin_command_v2),
#endif
    create,
    NULL,
    handle,
    on_route,
    on_outcome};

MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v2* modelpin_plugin(void) { return &kPlugin; }
