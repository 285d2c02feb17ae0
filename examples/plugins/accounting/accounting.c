/* A usage-accounting plugin of modelpin plugin ABI 2, in plain C99 (docs/plugins.md). It watches
 * every message that goes on to the model (on_route) and every model call's outcome
 * (on_outcome), and counts them per provider/model and per credential profile:
 *
 *   /accounting        the counts so far (also inside a message: "hello /accounting" answers
 *                      with the counts and stops there: nothing goes to the model)
 *   /tag <name>        a directive: routes of this session are counted under <name> from now
 *                      on; the rest of the message goes on to the model ("/tag work hello")
 *
 * Its config section, plugins.entries.accounting.config, may name a title for the report:
 *   "plugins": {"load": ["libaccounting.so"],
 *               "entries": {"accounting": {"config": {"title": "Team usage"}}}}
 *
 *   gcc -std=c99 -shared -fPIC -o libaccounting.so accounting.c $(pkg-config --cflags modelpin-plugin)
 *
 * The counts live in the plugin's state (create/destroy), shared by all sessions of the process:
 * on_route and on_outcome may run on several threads at once, so a mutex guards them. */
#include <modelpin/plugin_v2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 32
#define KEY_SIZE 96

typedef struct row {
  char key[KEY_SIZE];
  long routes;
  long ok;
  long failed;
} row;

typedef struct accounting {
  pthread_mutex_t mu;
  char title[64];
  row models[MAX_ROWS];   /* "provider/model", routes */
  row profiles[MAX_ROWS]; /* profile id, ok and failed outcomes */
  row tags[MAX_ROWS];     /* the session's tag, routes */
  const modelpin_host_v2* host;
} accounting;

/* The row for `key` (created when there is room), or NULL. */
static row* find(row* rows, const char* key, size_t size) {
  int i;
  if (size >= KEY_SIZE) size = KEY_SIZE - 1;
  for (i = 0; i < MAX_ROWS; ++i) {
    if (rows[i].key[0] == '\0') {
      memcpy(rows[i].key, key, size);
      rows[i].key[size] = '\0';
      return &rows[i];
    }
    if (strlen(rows[i].key) == size && memcmp(rows[i].key, key, size) == 0) return &rows[i];
  }
  return NULL;
}

/* The value of the string member `name` of a flat JSON object: enough for this example's one
 * setting (a real plugin would use a JSON parser). Copies at most out_size - 1 bytes. */
static void json_string(modelpin_str_v2 json, const char* name, char* out, size_t out_size) {
  char needle[64];
  const char* at;
  const char* end = json.data + json.size;
  size_t n = 0;
  snprintf(needle, sizeof needle, "\"%s\"", name);
  for (at = json.data; at && at + strlen(needle) <= end; ++at)
    if (memcmp(at, needle, strlen(needle)) == 0) break;
  if (!at || at + strlen(needle) > end) return;
  at += strlen(needle);
  while (at < end && (*at == ' ' || *at == ':')) ++at;
  if (at >= end || *at != '"') return;
  for (++at; at < end && *at != '"' && n + 1 < out_size; ++at) out[n++] = *at;
  out[n] = '\0';
}

static int create(const modelpin_host_v2* host, modelpin_str_v2 config, void** state, char* error, size_t error_size) {
  accounting* a = (accounting*)calloc(1, sizeof *a);
  if (a == NULL) {
    snprintf(error, error_size, "out of memory");
    return 1;
  }
  pthread_mutex_init(&a->mu, NULL);
  strcpy(a->title, "Usage");
  json_string(config, "title", a->title, sizeof a->title);
  a->host = host;
  /* An optional slot: use it only where the host has it. */
  if (MODELPIN_HOST_HAS(host, log)) host->log(0, "counting routes and outcomes", strlen("counting routes and outcomes"));
  *state = a;
  return 0;
}

static void destroy(void* state) {
  accounting* a = (accounting*)state;
  pthread_mutex_destroy(&a->mu);
  free(a);
}

/* The session's tag, from its own field "accounting.tag" ("untagged" when unset). */
static modelpin_str_v2 tag_of(const modelpin_field_v2* fields, size_t count, size_t stride) {
  size_t i;
  modelpin_str_v2 none = {"untagged", 8};
  for (i = 0; i < count; ++i) {
    const modelpin_field_v2* f = MODELPIN_AT(modelpin_field_v2, fields, stride, i);
    if (f->key.size == 14 && memcmp(f->key.data, "accounting.tag", 14) == 0) return f->value;
  }
  return none;
}

static void on_route(void* state, const modelpin_route_v2* route) {
  accounting* a = (accounting*)state;
  char key[KEY_SIZE];
  row* r;
  modelpin_str_v2 tag = tag_of(route->fields, route->field_count, route->field_stride);
  snprintf(key, sizeof key, "%.*s/%.*s", (int)route->provider.size, route->provider.data, (int)route->model.size,
           route->model.data);
  pthread_mutex_lock(&a->mu);
  if ((r = find(a->models, key, strlen(key))) != NULL) r->routes++;
  if ((r = find(a->tags, tag.data, tag.size)) != NULL) r->routes++;
  pthread_mutex_unlock(&a->mu);
}

static void on_outcome(void* state, const modelpin_outcome_v2* outcome) {
  accounting* a = (accounting*)state;
  row* r;
  pthread_mutex_lock(&a->mu);
  if ((r = find(a->profiles, outcome->profile_id.data, outcome->profile_id.size)) != NULL) {
    if (outcome->success) r->ok++;
    else r->failed++;
  }
  pthread_mutex_unlock(&a->mu);
}

static void append(char* out, size_t size, const char* text) {
  size_t used = strlen(out);
  if (used + 1 < size) snprintf(out + used, size - used, "%s", text);
}

static int handle(void* state, const modelpin_turn_v2* turn, const modelpin_host_v2* host, modelpin_result_v2* out) {
  accounting* a = (accounting*)state;
  char report[4096] = "";
  char line[256];
  int i;
  if (turn->command.size == 3 && memcmp(turn->command.data, "tag", 3) == 0) {
    /* "/tag work": the word after the command. */
    const char* name = turn->text.data + 4;
    size_t size = turn->text.size > 4 ? turn->text.size - 4 : 0;
    while (size > 0 && *name == ' ') ++name, --size;
    if (size == 0) {
      host->reply(out, "Usage: /tag <name>", 18, 1);
      return 1;
    }
    host->set_field(out, "accounting.tag", 14, name, size);
    snprintf(line, sizeof line, "Counting this session's messages under \"%.*s\".", (int)size, name);
    host->reply(out, line, strlen(line), 0);
    return 1;
  }
  /* /accounting */
  pthread_mutex_lock(&a->mu);
  snprintf(report, sizeof report, "%s:", a->title);
  for (i = 0; i < MAX_ROWS && a->models[i].key[0]; ++i) {
    snprintf(line, sizeof line, "\n%s: %ld routed", a->models[i].key, a->models[i].routes);
    append(report, sizeof report, line);
  }
  for (i = 0; i < MAX_ROWS && a->tags[i].key[0]; ++i) {
    snprintf(line, sizeof line, "\ntag %s: %ld routed", a->tags[i].key, a->tags[i].routes);
    append(report, sizeof report, line);
  }
  for (i = 0; i < MAX_ROWS && a->profiles[i].key[0]; ++i) {
    snprintf(line, sizeof line, "\n%s: %ld ok, %ld failed", a->profiles[i].key, a->profiles[i].ok, a->profiles[i].failed);
    append(report, sizeof report, line);
  }
  pthread_mutex_unlock(&a->mu);
  if (strchr(report, '\n') == NULL) append(report, sizeof report, " nothing routed yet.");
  host->reply(out, report, strlen(report), 0);
  return 1;
}

static const char* const kAccountingAliases[] = {"acct"};
static const modelpin_command_v2 kCommands[] = {
    {sizeof(modelpin_command_v2), "accounting", kAccountingAliases, 1,
     "Show how many messages went to each model and how each credential's calls went.", "/accounting", NULL, 0, 0,
     MODELPIN_DIRECTIVE_STOP, 0},
    {sizeof(modelpin_command_v2), "tag", NULL, 0, "Count this session's messages under a name.", "/tag <name>", NULL,
     0, 0, MODELPIN_DIRECTIVE_CONSUME, 1},
};

static const modelpin_plugin_v2 kPlugin = {
    MODELPIN_PLUGIN_ABI_V2,
    sizeof(modelpin_plugin_v2),
    MODELPIN_PLUGIN_ABI_V2_MINOR,
    MODELPIN_VERSION_NUMBER(0, 1, 0), /* the first modelpin with ABI 2 */
    MODELPIN_CAP_REPLY | MODELPIN_CAP_FIELDS | MODELPIN_CAP_CONFIG | MODELPIN_CAP_OBSERVE_ROUTES |
        MODELPIN_CAP_OBSERVE_OUTCOMES | MODELPIN_CAP_DIRECTIVES,
    "accounting",
    "1.0.0",
    kCommands,
    sizeof kCommands / sizeof kCommands[0],
    sizeof(modelpin_command_v2),
    create,
    destroy,
    handle,
    on_route,
    on_outcome};

MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v2* modelpin_plugin(void) { return &kPlugin; }
