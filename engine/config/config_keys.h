// The keys the config parser reads (ConfigKeys(), engine/config/config.h) and the check of a
// document's keys against them: an unknown key under `modelpin` is an error with the nearest known
// key ("did you mean"); a key elsewhere that modelpin does not read is OpenClaw's, listed.
#ifndef MODELPIN_ENGINE_CONFIG_CONFIG_KEYS_H_
#define MODELPIN_ENGINE_CONFIG_CONFIG_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include <modelpin/base/json_file.h>
#include "rapidjson/document.h"

namespace modelpin {

// Walks `root` along ConfigKeys(): refuses a key under `modelpin` the table lacks (naming its path
// and the nearest known key); appends the JSON path of every other unread key to `ignored`
// (topmost only, in document order).
absl::Status CheckConfigKeys(const JsonFile& file, const rapidjson::Value& root, std::vector<std::string>* ignored);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_CONFIG_KEYS_H_
