#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace corosched {

// Rewrites an error of protobuf's JSON parser, met reading `json` as a
// v1::TaskDefinition, so a person can find the place in the file. Protobuf
// names the place by proto field names, and a map entry by its number:
//   (states[1].value) yeild: Cannot find field.
//   (states[0].value.sleep.duration): invalid value "2m" for type ...
// The rewrite names a state by its key, uses the JSON field names, and says
// what was expected:
//   states["B"]: unknown field "yeild"; State has fields emit, actions, ...
//   states["A"].sleep.duration: invalid value "2m"; expected a duration: ...
// `protobuf_message` is protobuf's message without the echo of the text it
// may add after a newline. A message it does not recognise comes back as it
// is, cut after 128 bytes.
//
// For ParseTaskDefinitionJson (client/definition_json.h); not installed.
// It lives in the client because that is where definitions are read from
// JSON: the daemon and core/ take them as messages.
std::string ExplainDefinitionJsonError(absl::string_view json,
                                       absl::string_view protobuf_message);

}  // namespace corosched
