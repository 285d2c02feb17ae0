/* modelpin plugin ABI, version 1: the plain-C boundary between modelpin and a plugin loaded at
 * run time (a shared library named in the config's `plugins.load` or by `--plugin PATH`).
 *
 * A plugin exports one function, `modelpin_plugin`, that returns a pointer to a static
 * descriptor. The descriptor's first two fields (abi_version, struct_size) keep their place in
 * every future version, so modelpin can refuse a plugin built for another ABI by naming both
 * versions. Everything crosses as pointer + length; nothing is allocated on one side and freed
 * on the other: modelpin owns the turn view (valid during the call only) and copies whatever the
 * plugin returns through the host callbacks.
 *
 *   static const modelpin_command_v1 kCommands[] = {{"usage", NULL, 0, "Show ...", "/usage", NULL, 0, 0}};
 *   static int handle(void* state, const modelpin_turn_v1* turn, const modelpin_host_v1* host,
 *                     modelpin_result_v1* out) {
 *     host->reply(out, "hi", 2, 0);
 *     return 1;                                         // consumed: no other plugin sees it
 *   }
 *   static const modelpin_plugin_v1 kPlugin = {MODELPIN_PLUGIN_ABI_VERSION, sizeof(modelpin_plugin_v1),
 *                                              "usage", "1.0", kCommands, 1, NULL, NULL, handle};
 *   MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v1* modelpin_plugin(void) { return &kPlugin; }
 *
 * Versioning promise: within ABI version 1 fields are only ever appended to these structs, and
 * struct_size tells each side how much the other knows; a change that removes or reorders a field
 * or changes a meaning is ABI version 2, with its own structs (modelpin_plugin_v2) and its own
 * header. A modelpin release says which ABI versions it loads; this one loads version 1. */
#ifndef MODELPIN_PLUGIN_V1_H_
#define MODELPIN_PLUGIN_V1_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MODELPIN_PLUGIN_ABI_VERSION 1

#if defined(_WIN32)
#define MODELPIN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define MODELPIN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* A UTF-8 string that is not NUL-terminated. */
typedef struct modelpin_str {
  const char* data;
  size_t size;
} modelpin_str;

/* A session field of the plugin's own namespace: key "<plugin name>.<field>". */
typedef struct modelpin_field_v1 {
  modelpin_str key;
  modelpin_str value;
} modelpin_field_v1;

/* One credential the next model call would try, with its health. Times are ms since the epoch,
 * 0 when never. No secret crosses the boundary: `masked` is modelpin's masked rendering. */
typedef struct modelpin_profile_v1 {
  modelpin_str id;        /* "anthropic:work", or "env:ANTHROPIC_API_KEY" */
  modelpin_str provider;  /* "anthropic" */
  modelpin_str type;      /* "api_key" | "token" | "oauth" | "env" */
  modelpin_str masked;    /* "sk-ant-a...AAAAAAAA" */
  int64_t last_used_ms;
  int64_t cooldown_until_ms;
  int64_t disabled_until_ms;
  int64_t expires_ms;
  int32_t error_count;
} modelpin_profile_v1;

/* The read-only view of one turn. Valid only during the handle() call. */
typedef struct modelpin_turn_v1 {
  uint32_t struct_size; /* sizeof(modelpin_turn_v1) as modelpin knows it */
  modelpin_str agent_id;
  modelpin_str session_key;
  modelpin_str sender;
  modelpin_str text;         /* the command line, directives of other plugins removed */
  int sender_is_owner;
  int64_t now_ms;
  const modelpin_field_v1* fields; /* the plugin's own session fields, sorted by key */
  size_t field_count;
  modelpin_str provider;     /* the route the message would take: provider and model id */
  modelpin_str model;
  const modelpin_profile_v1* profiles; /* in the order the call would try them */
  size_t profile_count;
} modelpin_turn_v1;

/* Where a plugin's answer goes; opaque, owned by modelpin. */
typedef struct modelpin_result_v1 modelpin_result_v1;

/* What modelpin offers the plugin during handle(). Every callback copies its arguments. */
typedef struct modelpin_host_v1 {
  uint32_t struct_size;
  /* Appends a reply (valid UTF-8, at most 16 KiB). is_error marks a refusal. */
  void (*reply)(modelpin_result_v1* out, const char* text, size_t size, int is_error);
  /* Sets a session field; the key must start with "<plugin name>.". */
  void (*set_field)(modelpin_result_v1* out, const char* key, size_t key_size, const char* value,
                    size_t value_size);
  /* Removes a session field of the plugin's namespace. */
  void (*erase_field)(modelpin_result_v1* out, const char* key, size_t key_size);
} modelpin_host_v1;

/* One command, as /commands and completion show it. Lists are arrays with a count. */
typedef struct modelpin_command_v1 {
  const char* name;               /* without '/': "usage" */
  const char* const* aliases;
  size_t alias_count;
  const char* summary;            /* one line */
  const char* usage;              /* "/usage" */
  const char* const* arguments;   /* subcommands and argument values */
  size_t argument_count;
  int owner_only;
} modelpin_command_v1;

typedef struct modelpin_plugin_v1 {
  uint32_t abi_version; /* MODELPIN_PLUGIN_ABI_VERSION: keeps this place in every version */
  uint32_t struct_size; /* sizeof(modelpin_plugin_v1) */
  const char* name;     /* [a-z0-9_-]+: the namespace of its session fields */
  const char* version;  /* the plugin's own version, for messages */
  const modelpin_command_v1* commands;
  size_t command_count;
  /* Optional. Called once after loading. Returns 0 on success; otherwise writes a reason into
   * `error` (NUL-terminated, at most error_size bytes) and the plugin is not loaded. */
  int (*init)(void** state, char* error, size_t error_size);
  /* Optional. Called once before unloading, with the state init set. */
  void (*shutdown)(void* state);
  /* Called for a message whose text starts with one of its command words. The return value:
   *   1        the plugin consumed the message: its replies are the answer and its field changes
   *            are stored with the session;
   *   0        not this plugin's message after all: its replies and field changes are dropped and
   *            the message goes on (to a later plugin, else to the model as ordinary text);
   *   other    a plugin failure: modelpin answers with an error reply naming the plugin
   *            ("Plugin usage failed: ...") and stores nothing of the message, as when what the
   *            plugin returned through the host callbacks is malformed (invalid UTF-8, a reply
   *            over 16 KiB, a field outside its namespace). The next message is handled as usual.
   * May be called from several threads at once, for different sessions: guard whatever `state`
   * shares. */
  int (*handle)(void* state, const modelpin_turn_v1* turn, const modelpin_host_v1* host,
                modelpin_result_v1* out);
} modelpin_plugin_v1;

/* The one symbol a plugin exports. */
typedef const modelpin_plugin_v1* (*modelpin_plugin_entry_fn)(void);
#define MODELPIN_PLUGIN_ENTRY_SYMBOL "modelpin_plugin"

#ifdef __cplusplus
}
#endif

#endif /* MODELPIN_PLUGIN_V1_H_ */
