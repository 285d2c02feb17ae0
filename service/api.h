// The JSON API of `modelpin serve` over one engine: a message's turn, a call's outcome, the
// operator verbs of the CLI (profiles with health, cooldowns, auth order, sessions, explain) and
// the probes. docs/openapi.json describes every route; docs/service.md the service.
#ifndef MODELPIN_SERVICE_API_H_
#define MODELPIN_SERVICE_API_H_

#include <memory>

#include <modelpin/calls/chat.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/observe/event_hub.h>
#include <modelpin/observe/metrics.h>
#include <modelpin/service/activity.h>
#include <modelpin/service/router.h>

namespace modelpin::service {

struct ApiOptions {
  // Adds POST /bench/floor: the same token check, then a constant 200 without the engine (the
  // benchmark's floor). Not documented, off unless asked for.
  bool bench_floor = false;
  // GET /v1/events: the engine's events as Server-Sent Events, when set (the hub must be one of
  // the engine's sinks).
  std::shared_ptr<EventHub> events{};
  // GET /metrics, when set: turns, routes and outcomes are recorded by the routes here; events
  // reach it as one of the engine's sinks.
  std::shared_ptr<Metrics> metrics{};
  // GET /v1/timeline, when set: calls reported here are recorded (it also takes the events).
  std::shared_ptr<Activity> activity{};
  // POST /v1/chat: model calls through calls/chat.h.
  ChatOptions chat{};
};

// Adds the API's routes to `router`. `engine` must outlive the server.
void RegisterApi(Router& router, Engine& engine, ApiOptions options = {});

// For the fuzzer and tests: `status` as the HTTP status the API answers it with.
int HttpStatus(const absl::Status& status);

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_API_H_
