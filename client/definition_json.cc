#include "client/definition_json.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/definition_json_errors.h"
#include "client/json_syntax.h"
#include "google/protobuf/util/json_util.h"

namespace corosched {
namespace {

namespace pb = ::google::protobuf;

pb::StringPiece Piece(absl::string_view text) {
  return pb::StringPiece(text.data(), text.size());
}

absl::Status WithPrefix(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// Protobuf's message without the echo of the text it adds after a newline.
std::string FirstLine(absl::string_view message) {
  return std::string(message.substr(0, message.find('\n')));
}

}  // namespace

absl::StatusOr<v1::TaskDefinition> ParseTaskDefinitionJson(
    absl::string_view json) {
  absl::Status syntax = CheckJsonSyntax(json);
  if (!syntax.ok()) return WithPrefix("malformed JSON: ", syntax);
  v1::TaskDefinition definition;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  pb::util::Status status =
      pb::util::JsonStringToMessage(Piece(json), &definition, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a task definition: ",
        ExplainDefinitionJsonError(json,
                                   FirstLine(status.message().as_string())),
        " (the language is described in docs/task-definitions.md)"));
  }
  return definition;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status =
      std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (status.type() == std::filesystem::file_type::directory) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a file"));
  }
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int open_error = errno;
    if (open_error == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": permission denied"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": cannot open: ",
        open_error != 0 ? std::generic_category().message(open_error)
                        : "unknown"));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read"));
  }
  return text.str();
}

absl::StatusOr<v1::TaskDefinition> LoadTaskDefinitionFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseTaskDefinitionJson(*text);
  if (!definition.ok()) {
    return WithPrefix(absl::StrCat(path, ": "), definition.status());
  }
  return definition;
}

absl::StatusOr<pb::Struct> ParseJsonObject(absl::string_view json) {
  absl::Status syntax = CheckJsonSyntax(json);
  if (!syntax.ok()) return WithPrefix("malformed JSON: ", syntax);
  pb::Value value;
  pb::util::Status status = pb::util::JsonStringToMessage(Piece(json), &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed JSON: ", FirstLine(status.message().as_string())));
  }
  if (!value.has_struct_value()) {
    return absl::InvalidArgumentError(
        "expected a JSON object, e.g. {\"by\": \"ana\"}");
  }
  return value.struct_value();
}

std::string ToJson(const pb::Message& message, bool pretty) {
  std::string json;
  pb::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = false;
  // Only fails for messages with unresolvable Any types, which ours lack.
  (void)pb::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace corosched
