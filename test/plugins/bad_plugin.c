/* Run-time plugins that misbehave, in plain C99, for test/plugin_test.sh. One source, built as
 * several modules:
 *   (default)          plugin "bad": /fine behaves; /badutf8, /huge and /outside return
 *                      malformed data; /decline declines; /crowd asks for too many replies;
 *                      /seven returns 7 (neither consumed nor declined)
 *   -DBAD_ABI          built for ABI version 3 (which no modelpin knows yet)
 *   -DBAD_INIT         init fails with a reason
 *   -DNOT_A_PLUGIN     exports no modelpin_plugin
 *   -DBAD_CLASH        plugin "clash", whose /mine has the alias "model" (the built-in's word)
 *   -DSECOND           plugin "second" with the one command /second, which behaves: two files
 *                      that load side by side, for the load order */
#include <modelpin/plugin_v1.h>
#include <stdio.h>
#include <string.h>

#if defined(BAD_CLASH)
static const char* const kClashAliases[] = {"model"};
static const modelpin_command_v1 kCommands[] = {
    {"mine", kClashAliases, 1, "Takes /model.", "/mine", NULL, 0, 0},
};
#define PLUGIN_NAME "clash"
#elif defined(SECOND)
static const modelpin_command_v1 kCommands[] = {
    {"second", NULL, 0, "The second plugin.", "/second", NULL, 0, 0},
};
#define PLUGIN_NAME "second"
#else
#define PLUGIN_NAME "bad"
static const char* const kFineAliases[] = {"ok"};
static const char* const kFineArgs[] = {"now", "later"};
static const modelpin_command_v1 kCommands[] = {
    {"fine", kFineAliases, 1, "Behaves.", "/fine [now|later]", kFineArgs, 2, 0},
    {"badutf8", NULL, 0, "Replies with invalid UTF-8.", "/badutf8", NULL, 0, 0},
    {"huge", NULL, 0, "Replies with 17 KiB.", "/huge", NULL, 0, 0},
    {"outside", NULL, 0, "Writes another plugin's field.", "/outside", NULL, 0, 0},
    {"decline", NULL, 0, "Declines.", "/decline", NULL, 0, 0},
    {"crowd", NULL, 0, "Too many replies.", "/crowd", NULL, 0, 0},
    {"secret", NULL, 0, "Owners only.", "/secret", NULL, 0, 1},
    {"seven", NULL, 0, "Returns 7 from handle.", "/seven", NULL, 0, 0},
};
#endif

static int starts(const modelpin_turn_v1* turn, const char* word) {
  size_t n = strlen(word);
  return turn->text.size >= n && memcmp(turn->text.data, word, n) == 0;
}

static char big[17 * 1024];

static int handle(void* state, const modelpin_turn_v1* turn, const modelpin_host_v1* host,
                  modelpin_result_v1* out) {
  char line[256];
  int i;
  (void)state;
  if (starts(turn, "/second")) {
    host->reply(out, "second here", 11, 0);
    return 1;
  }
  if (starts(turn, "/fine") || starts(turn, "/ok")) {
    const char* seen = "unset";
    int seen_size = 5;
    for (i = 0; i < (int)turn->field_count; ++i)
      if (turn->fields[i].key.size == 8 && memcmp(turn->fields[i].key.data, "bad.seen", 8) == 0) {
        seen = turn->fields[i].value.data;
        seen_size = (int)turn->fields[i].value.size;
      }
    snprintf(line, sizeof line, "fine: %.*s via %d profile(s), seen=%.*s", (int)turn->model.size,
             turn->model.data, (int)turn->profile_count, seen_size, seen);
    host->reply(out, line, strlen(line), 0);
    host->set_field(out, "bad.seen", 8, "yes", 3);
    return 1;
  }
  if (starts(turn, "/badutf8")) {
    host->set_field(out, "bad.seen", 8, "no", 2);
    host->reply(out, "caf\xc3(", 5, 0);
    return 1;
  }
  if (starts(turn, "/huge")) {
    memset(big, 'x', sizeof big);
    host->reply(out, big, sizeof big, 0);
    return 1;
  }
  if (starts(turn, "/outside")) {
    host->reply(out, "writing usage.asked", 19, 0);
    host->set_field(out, "usage.asked", 11, "99", 2);
    return 1;
  }
  if (starts(turn, "/crowd")) {
    for (i = 0; i < 100; ++i) host->reply(out, "again", 5, 0);
    return 1;
  }
  if (starts(turn, "/seven")) {
    host->set_field(out, "bad.seen", 8, "seven", 5);
    host->reply(out, "seven", 5, 0);
    return 7;
  }
  if (starts(turn, "/secret")) {
    host->reply(out, "the owner's secret command", 26, 0);
    return 1;
  }
  host->reply(out, "dropped", 7, 0);
  return 0; /* /decline: not consumed */
}

#ifdef BAD_INIT
static int init(void** state, char* error, size_t error_size) {
  (void)state;
  snprintf(error, error_size, "license file /nonexistent/bad.lic not found");
  return 1;
}
#else
#define init NULL
#endif

static const modelpin_plugin_v1 kPlugin = {
#ifdef BAD_ABI
    3,
#else
    MODELPIN_PLUGIN_ABI_VERSION,
#endif
    sizeof(modelpin_plugin_v1), PLUGIN_NAME, "0.0.1", kCommands, sizeof kCommands / sizeof kCommands[0], init, NULL,
    handle};

#ifndef NOT_A_PLUGIN
MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v1* modelpin_plugin(void) { return &kPlugin; }
#else
MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v1* some_other_function(void) { return &kPlugin; }
#endif
