#pragma once

// Helpers for the machine's tests: definitions from JSON, and the output and
// state of a Machine run, collected for assertions. Tests get them by
// linking corosched_machine_testing; product code never includes them.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/machine/machine.h"
#include "core/machine/program.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace corosched::machine::testing {

// The seed's example, exactly as DESIGN.md writes it.
inline constexpr absl::string_view kHelloJson =
    R"({"name": "hello", "initial": "HELLO", "states": {
  "HELLO": {"emit": "Hello, ",  "yield": {"next": "WORLD"}},
  "WORLD": {"emit": "World!\n", "yield": {"next": "END"}},
  "END":   {"complete": {}}}})";

// Parses `json` with protobuf's JSON mapping, as the client does (no
// validation); fails the test when it does not parse. The errors people see
// come from the client's parser (client/definition_json.h), which core/ may
// not use; a fixture needs only protobuf's.
inline v1::TaskDefinition ParseOrDie(absl::string_view json) {
  v1::TaskDefinition definition;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &definition);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << json;
  return parsed.ok() ? definition : v1::TaskDefinition();
}

// Parses and compiles `json`; fails the test when it is not valid.
inline std::shared_ptr<const Program> CompileOrDie(
    absl::string_view json, const MachineLimits& limits = {}) {
  absl::StatusOr<std::shared_ptr<const Program>> program =
      Program::Compile(ParseOrDie(json), limits);
  EXPECT_TRUE(program.ok()) << program.status();
  return program.ok() ? *program : nullptr;
}

// A task of `program` started with `inputs_json` (a JSON object of input
// values, as a submit's `inputs` reads); fails the test if Start refuses.
inline Machine StartOrDie(std::shared_ptr<const Program> program,
                          absl::string_view inputs_json = "{}") {
  v1::TaskSnapshot holder;  // its map<string, Value> parses inputs as JSON
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  absl::StrCat(R"({"variables": )", inputs_json, "}"), &holder)
                  .ok());
  absl::StatusOr<Machine> machine =
      Machine::Start(std::move(program), holder.variables());
  EXPECT_TRUE(machine.ok()) << machine.status();
  return *std::move(machine);
}

// A definition whose initial state `S` is `state_json`, with END to go to.
inline std::shared_ptr<const Program> WithState(absl::string_view state_json) {
  return CompileOrDie(
      absl::StrCat(R"({"name": "t", "initial": "S", "states": {"S": )",
                   state_json, R"(, "END": {"complete": {}}}})"));
}

// Polls `machine` at `now`, appending its output to `*output`.
inline PollOutcome PollInto(Machine& machine, absl::Time now,
                            std::string* output) {
  return machine.Poll(now, [output](uint64_t, absl::string_view text) {
    output->append(text.data(), text.size());
  });
}

// A signal with a payload given as JSON ("{}" for none).
inline v1::Signal MakeSignal(absl::string_view name,
                             absl::string_view payload_json = "{}") {
  v1::Signal signal;
  signal.set_name(std::string(name));
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  std::string(payload_json), signal.mutable_payload())
                  .ok())
      << payload_json;
  return signal;
}

}  // namespace corosched::machine::testing
