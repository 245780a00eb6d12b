#include "client/json_syntax.h"

#include <cstddef>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace corosched {
namespace {

constexpr int kMaxDepth = 256;

// A recursive-descent recognizer; it builds nothing and stops at the first
// error, remembering where it was.
class JsonScanner {
 public:
  explicit JsonScanner(absl::string_view text) : text_(text) {}

  absl::Status Check() {
    SkipSpace();
    if (!Value(0)) return Error();
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("expected the end of the text after the JSON value");
      return Error();
    }
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }

  bool Fail(absl::string_view expected) {
    std::string found = "the end of the text";
    if (!AtEnd()) {
      const char c = Peek();
      found = absl::ascii_isprint(static_cast<unsigned char>(c))
                  ? absl::StrCat("'", absl::string_view(&c, 1), "'")
                  : absl::StrCat("byte 0x", absl::Hex(static_cast<uint8_t>(c),
                                                      absl::kZeroPad2));
    }
    message_ = absl::StrCat(expected, ", found ", found);
    return false;
  }

  absl::Status Error() const {
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", line, ", column ", pos_ - line_start + 1, ": ", message_));
  }

  bool Value(int depth) {
    if (depth > kMaxDepth) return Fail("nesting deeper than 256 levels");
    switch (Peek()) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        if (Peek() == '-' || absl::ascii_isdigit(Peek())) return Number();
        return Fail(
            "expected a value (object, array, string, number, "
            "true, false or null)");
    }
  }

  bool Literal(absl::string_view word) {
    for (char c : word) {
      if (Peek() != c) return Fail(absl::StrCat("expected '", word, "'"));
      ++pos_;
    }
    return true;
  }

  bool Digits() {
    if (!absl::ascii_isdigit(Peek())) return Fail("expected a digit");
    while (absl::ascii_isdigit(Peek())) ++pos_;
    return true;
  }

  bool Number() {
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!Digits()) return false;
    }
    return true;
  }

  bool String() {
    ++pos_;  // the opening quote
    while (!AtEnd() && Peek() != '"') {
      const unsigned char c = static_cast<unsigned char>(Peek());
      if (c < 0x20) return Fail("expected '\"' to close the string");
      ++pos_;
      if (c == '\\' && !Escape()) return false;
    }
    if (AtEnd()) return Fail("expected '\"' to close the string");
    ++pos_;
    return true;
  }

  // After a backslash.
  bool Escape() {
    const char c = Peek();
    if (c == 'u') {
      ++pos_;
      for (int i = 0; i < 4; ++i, ++pos_) {
        if (!absl::ascii_isxdigit(Peek())) {
          return Fail("expected 4 hex digits after \\u");
        }
      }
      return true;
    }
    if (absl::string_view("\"\\/bfnrt").find(c) == absl::string_view::npos ||
        AtEnd()) {
      return Fail(
          "expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
          "\\uXXXX)");
    }
    ++pos_;
    return true;
  }

  bool Object(int depth) {
    ++pos_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      if (Peek() != '"') return Fail("expected '\"' to start a member name");
      if (!String()) return false;
      SkipSpace();
      if (Peek() != ':') return Fail("expected ':' after the member name");
      ++pos_;
      SkipSpace();
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') {
        return Fail("expected ',' or '}' after an object member");
      }
      ++pos_;
      SkipSpace();
    }
  }

  bool Array(int depth) {
    ++pos_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      if (Peek() != ',') {
        return Fail("expected ',' or ']' after an array element");
      }
      ++pos_;
      SkipSpace();
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::string message_;
};

}  // namespace

absl::Status CheckJsonSyntax(absl::string_view text) {
  return JsonScanner(text).Check();
}

}  // namespace corosched
