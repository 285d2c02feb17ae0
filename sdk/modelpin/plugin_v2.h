/* modelpin plugin ABI, version 2: the plain-C boundary between modelpin and a plugin loaded at
 * run time (a shared library named in the config's `plugins.load` or by `--plugin PATH`),
 * designed to grow (docs/plugins.md, "ABI policy").
 *
 * A plugin exports the same one function as in version 1, `modelpin_plugin`, returning a pointer
 * to a static modelpin_plugin_v2. modelpin reads its first field, abi_version, and loads version 1
 * and version 2 plugins side by side.
 *
 * How it grows without a new version:
 *  - every struct that crosses starts with `uint32_t struct_size` (the size as its writer knows
 *    it), and every array comes with an element stride: element i is at
 *    (const char*)array + i * stride. A reader uses only the fields that lie inside the size or
 *    stride it was given; new fields are only ever appended.
 *  - the host hands over one table of functions, modelpin_host_v2, at create(): a slot may be
 *    NULL (or lie past the table's struct_size) on an older modelpin; MODELPIN_HOST_HAS tells.
 *    The table also carries the host's version and its capability bits.
 *  - a plugin lists the capabilities it cannot work without (required_capabilities) and the
 *    oldest modelpin it runs on (min_host_version): modelpin refuses it at load, naming what is
 *    missing, instead of loading something that would silently do nothing.
 *  - enums are uint32_t values; a value this modelpin does not know is refused at load.
 *
 * Memory: everything crosses as pointer + length; nothing is allocated on one side and freed on
 * the other. modelpin owns every view it passes (valid during the call only) and copies whatever
 * the plugin returns through the host's functions. The plugin's state is opaque to modelpin: it
 * is made by create() and ended by destroy().
 *
 *   static const modelpin_command_v2 kCommands[] = {
 *       {sizeof(modelpin_command_v2), "hello", NULL, 0, "Say hello.", "/hello", NULL, 0, 0,
 *        MODELPIN_DIRECTIVE_NONE, 0}};
 *   static int handle(void* state, const modelpin_turn_v2* turn, const modelpin_host_v2* host,
 *                     modelpin_result_v2* out) {
 *     host->reply(out, "hi", 2, 0);
 *     return 1;
 *   }
 *   static const modelpin_plugin_v2 kPlugin = {
 *       MODELPIN_PLUGIN_ABI_V2, sizeof(modelpin_plugin_v2), MODELPIN_PLUGIN_ABI_V2_MINOR, 0,
 *       MODELPIN_CAP_REPLY, "hello", "1.0", kCommands, 1, sizeof(modelpin_command_v2),
 *       NULL, NULL, handle, NULL, NULL};
 *   MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v2* modelpin_plugin(void) { return &kPlugin; }
 *
 * examples/plugins/accounting/accounting.c is a complete plugin: it observes routes and outcomes
 * and has a directive of each effect. */
#ifndef MODELPIN_PLUGIN_V2_H_
#define MODELPIN_PLUGIN_V2_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MODELPIN_PLUGIN_ABI_V2 2
/* The minor version of ABI 2 this header describes: it grows with every appended field, slot,
 * capability or enum value. modelpin loads a plugin of any minor (it reads what it knows). */
#define MODELPIN_PLUGIN_ABI_V2_MINOR 0

#ifndef MODELPIN_PLUGIN_EXPORT
#if defined(_WIN32)
#define MODELPIN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define MODELPIN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif
#endif

/* A modelpin release as one number, for min_host_version and host_version_number. */
#define MODELPIN_VERSION_NUMBER(major, minor, patch) ((uint32_t)(major) * 1000000u + (uint32_t)(minor) * 1000u + (uint32_t)(patch))

/* Whether a host table has the slot `field` (inside its struct_size and not NULL). */
#define MODELPIN_HOST_HAS(host, field)                                                            \
  ((host) != NULL && (host)->struct_size >= offsetof(modelpin_host_v2, field) + sizeof((host)->field) && \
   (host)->field != NULL)

/* Element i of an array that came with a stride. */
#define MODELPIN_AT(type, array, stride, i) ((const type*)((const char*)(array) + (size_t)(i) * (stride)))

/* A UTF-8 string that is not NUL-terminated. Two words, frozen for all of ABI 2: it is the one
 * struct without a struct_size, and it never grows. */
typedef struct modelpin_str_v2 {
  const char* data;
  size_t size;
} modelpin_str_v2;

/* Capabilities: what the host offers (modelpin_host_v2.capabilities) and what a plugin cannot do
 * without (modelpin_plugin_v2.required_capabilities). Bits are only ever added. */
#define MODELPIN_CAP_REPLY ((uint64_t)1 << 0)           /* host->reply */
#define MODELPIN_CAP_FIELDS ((uint64_t)1 << 1)          /* host->set_field, host->erase_field */
#define MODELPIN_CAP_LOG ((uint64_t)1 << 2)             /* host->log */
#define MODELPIN_CAP_CONFIG ((uint64_t)1 << 3)          /* create() receives plugins.entries.<name>.config */
#define MODELPIN_CAP_OBSERVE_ROUTES ((uint64_t)1 << 4)  /* on_route is called */
#define MODELPIN_CAP_OBSERVE_OUTCOMES ((uint64_t)1 << 5) /* on_outcome is called */
#define MODELPIN_CAP_DIRECTIVES ((uint64_t)1 << 6)      /* commands may be directives (modelpin_directive_effect) */

/* What a command's directive does when its word appears inside a message ("hello /tag work"). */
typedef enum modelpin_directive_effect {
  /* Not a directive: handle() runs only for a message that starts with the word (as in ABI 1). */
  MODELPIN_DIRECTIVE_NONE = 0,
  /* The directive is cut out of the message and handle() runs on it; its replies come before the
   * model's answer, its field changes are stored, and the rest of the text goes on to the model. A
   * message of nothing but directives ends there. */
  MODELPIN_DIRECTIVE_CONSUME = 1,
  /* handle() runs on the directive and the turn stops there: its replies are the answer, its field
   * changes are stored, and nothing of the message goes to the model. */
  MODELPIN_DIRECTIVE_STOP = 2
} modelpin_directive_effect;

/* A session field of the plugin's own namespace: key "<plugin name>.<field>". */
typedef struct modelpin_field_v2 {
  uint32_t struct_size;
  modelpin_str_v2 key;
  modelpin_str_v2 value;
} modelpin_field_v2;

/* One credential the next model call would try, with its health. Times are ms since the epoch,
 * 0 when never. No secret crosses the boundary: `masked` is modelpin's masked rendering. */
typedef struct modelpin_profile_v2 {
  uint32_t struct_size;
  int32_t error_count;
  modelpin_str_v2 id;       /* "anthropic:work", or "env:ANTHROPIC_API_KEY" */
  modelpin_str_v2 provider; /* "anthropic" */
  modelpin_str_v2 type;     /* "api_key" | "token" | "oauth" | "env" */
  modelpin_str_v2 masked;   /* "sk-ant-a...AAAAAAAA" */
  int64_t last_used_ms;
  int64_t cooldown_until_ms;
  int64_t disabled_until_ms;
  int64_t expires_ms;
} modelpin_profile_v2;

/* The read-only view of one command or directive. Valid only during the handle() call. */
typedef struct modelpin_turn_v2 {
  uint32_t struct_size;
  uint32_t directive;          /* a modelpin_directive_effect: NONE for a command */
  modelpin_str_v2 agent_id;
  modelpin_str_v2 session_key;
  modelpin_str_v2 sender;
  modelpin_str_v2 text;        /* the command line, or the directive ("/tag work") */
  modelpin_str_v2 command;     /* the command's name (not the alias typed): "tag" */
  int32_t sender_is_owner;
  int32_t directive_only;      /* a directive: the message held nothing but directives */
  int64_t now_ms;
  const modelpin_field_v2* fields; /* the plugin's own session fields, sorted by key */
  size_t field_count;
  size_t field_stride;
  modelpin_str_v2 provider;    /* the route the message would take: provider and model id */
  modelpin_str_v2 model;
  const modelpin_profile_v2* profiles; /* in the order the call would try them */
  size_t profile_count;
  size_t profile_stride;
} modelpin_turn_v2;

/* Where a message went (on_route): after modelpin stored the turn, for a message that goes on to
 * the model. Valid only during the call. */
typedef struct modelpin_route_v2 {
  uint32_t struct_size;
  uint32_t reserved;
  modelpin_str_v2 agent_id;
  modelpin_str_v2 session_key;
  modelpin_str_v2 sender;
  modelpin_str_v2 text;           /* what the model receives: directives removed */
  modelpin_str_v2 provider;
  modelpin_str_v2 model;
  const modelpin_str_v2* profiles; /* profile ids to try, in order */
  size_t profile_count;
  size_t profile_stride;
  modelpin_str_v2 thinking;       /* this call's own thinking level, "" for the session's */
  modelpin_str_v2 fallback_from;  /* "provider/model" when a fallback took over, else "" */
  modelpin_str_v2 rule;           /* the routing rule (modelpin.routes) that applied, else "" */
  const modelpin_field_v2* fields; /* the plugin's own session fields after the turn */
  size_t field_count;
  size_t field_stride;
  int64_t now_ms;
} modelpin_route_v2;

/* How a model call went (on_outcome): after modelpin recorded it (Engine::ReportOutcome, a
 * transcript's `//@ outcome`). Valid only during the call. */
typedef struct modelpin_outcome_v2 {
  uint32_t struct_size;
  uint32_t success;              /* 1 when error is "ok" */
  modelpin_str_v2 agent_id;
  modelpin_str_v2 session_key;
  modelpin_str_v2 profile_id;
  modelpin_str_v2 provider;      /* the profile's auth provider */
  modelpin_str_v2 error;         /* "ok", "rate_limit", "overloaded", "auth", "billing", "timeout", ... */
  modelpin_str_v2 model;         /* "provider/model" when the report named one, else "" */
  int64_t retry_after_ms;
  int64_t now_ms;
} modelpin_outcome_v2;

/* Where a plugin's answer goes; opaque, owned by modelpin. */
typedef struct modelpin_result_v2 modelpin_result_v2;

/* What modelpin offers, passed to create() and handle(); valid until destroy(). Append-only:
 * check a slot with MODELPIN_HOST_HAS before calling it unless its capability is required. */
typedef struct modelpin_host_v2 {
  uint32_t struct_size;
  uint32_t abi_minor;            /* the host's MODELPIN_PLUGIN_ABI_V2_MINOR */
  uint32_t host_version_number;  /* MODELPIN_VERSION_NUMBER of the modelpin release */
  uint32_t reserved;
  const char* host_version;      /* "0.1.0" */
  uint64_t capabilities;         /* MODELPIN_CAP_* bits this host offers */
  /* Appends a reply (valid UTF-8, at most 16 KiB, at most 16 per message). is_error marks a
   * refusal. Only during handle(). */
  void (*reply)(modelpin_result_v2* out, const char* text, size_t size, int is_error);
  /* Sets a session field; the key must start with "<plugin name>.". Only during handle(). */
  void (*set_field)(modelpin_result_v2* out, const char* key, size_t key_size, const char* value,
                    size_t value_size);
  /* Removes a session field of the plugin's namespace. Only during handle(). */
  void (*erase_field)(modelpin_result_v2* out, const char* key, size_t key_size);
  /* A line for the operator's log (stderr), prefixed with the plugin's name; any time. level: 0
   * info, 1 warning, 2 error. */
  void (*log)(int level, const char* text, size_t size);
} modelpin_host_v2;

/* One command, as /commands and completion show it; with a directive effect, also a directive. */
typedef struct modelpin_command_v2 {
  uint32_t struct_size;           /* sizeof(modelpin_command_v2) */
  const char* name;               /* without '/': "tag" */
  const char* const* aliases;
  size_t alias_count;
  const char* summary;            /* one line */
  const char* usage;              /* "/tag <name>" */
  const char* const* arguments;   /* subcommands and argument values */
  size_t argument_count;
  int32_t owner_only;
  uint32_t directive;             /* a modelpin_directive_effect */
  uint32_t directive_args;        /* words after the directive's word that belong to it, 0-8 */
} modelpin_command_v2;

typedef struct modelpin_plugin_v2 {
  uint32_t abi_version;           /* MODELPIN_PLUGIN_ABI_V2: keeps this place in every version */
  uint32_t struct_size;           /* sizeof(modelpin_plugin_v2) */
  uint32_t abi_minor;             /* MODELPIN_PLUGIN_ABI_V2_MINOR it was built with */
  uint32_t min_host_version;      /* MODELPIN_VERSION_NUMBER of the oldest modelpin; 0: any */
  uint64_t required_capabilities; /* MODELPIN_CAP_* bits it cannot do without */
  const char* name;               /* [a-z0-9_-]+: the namespace of its session fields */
  const char* version;            /* the plugin's own version, for messages */
  const modelpin_command_v2* commands;
  size_t command_count;
  size_t command_stride;          /* sizeof(modelpin_command_v2) as the plugin knows it */
  /* Optional. Called once after loading, with the host table and the plugin's own section of the
   * config, `plugins.entries.<name>.config`, as JSON text ("{}" when there is none). Sets *state
   * (opaque to modelpin). Returns 0 on success; otherwise writes a reason into `error`
   * (NUL-terminated, at most error_size bytes) and the plugin is not loaded. */
  int (*create)(const modelpin_host_v2* host, modelpin_str_v2 config_json, void** state, char* error,
                size_t error_size);
  /* Optional. Called once before unloading, with the state create set. */
  void (*destroy)(void* state);
  /* Called for a message whose text starts with one of its command words, and for each of its
   * directives (turn->directive). Returns 1 (consumed), 0 (declined: a command goes on as
   * ordinary text, a declined directive stays in the text), anything else is a failure: as in ABI
   * 1, modelpin answers "Plugin <name> failed: ..." and stores nothing of the message. May be
   * NULL for a plugin that only observes. */
  int (*handle)(void* state, const modelpin_turn_v2* turn, const modelpin_host_v2* host,
                modelpin_result_v2* out);
  /* Optional observers (any thread, several at once; they cannot change the answer). */
  void (*on_route)(void* state, const modelpin_route_v2* route);
  void (*on_outcome)(void* state, const modelpin_outcome_v2* outcome);
} modelpin_plugin_v2;

/* The one symbol a plugin exports (the same name as in ABI 1). */
typedef const modelpin_plugin_v2* (*modelpin_plugin_v2_entry_fn)(void);
#ifndef MODELPIN_PLUGIN_ENTRY_SYMBOL
#define MODELPIN_PLUGIN_ENTRY_SYMBOL "modelpin_plugin"
#endif

#ifdef __cplusplus
}
#endif

#endif /* MODELPIN_PLUGIN_V2_H_ */
