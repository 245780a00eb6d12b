#include "client/cli/stderr_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace corosched::cli {
namespace {

// What a relay passes on, read back from a pipe.
class PassedOn {
 public:
  PassedOn() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC | O_NONBLOCK), 0); }
  ~PassedOn() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  PassedOn(const PassedOn&) = delete;
  PassedOn& operator=(const PassedOn&) = delete;

  int fd() const { return fds_[1]; }
  std::string Read() {
    std::string text;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(fds_[0], buffer, sizeof(buffer))) > 0) {
      text.append(buffer, static_cast<size_t>(got));
    }
    return text;
  }

 private:
  int fds_[2] = {-1, -1};
};

TEST(StderrRelayTest, KeepsTheLastNonEmptyLine) {
  StderrRelay relay(-1, "", 100);
  relay.Append("first\nsec");
  relay.Append("ond  \r\n\n   \n");
  relay.Finish();
  EXPECT_EQ(relay.last_line(), "second");
}

TEST(StderrRelayTest, AnUnterminatedLastLineCounts) {
  PassedOn out;
  StderrRelay relay(out.fd(), "[t] ", 100);
  relay.Append("one\nboom");
  EXPECT_EQ(relay.last_line(), "one");
  relay.Finish();
  EXPECT_EQ(relay.last_line(), "boom");
  EXPECT_EQ(out.Read(), "[t] one\n[t] boom\n");
}

TEST(StderrRelayTest, PassesWholeLinesOnWithThePrefix) {
  PassedOn out;
  StderrRelay relay(out.fd(), "[task-1] ", 100);
  relay.Append("a");
  relay.Append("b\nc");
  EXPECT_EQ(out.Read(), "[task-1] ab\n");
  relay.Append("d\n");
  relay.Finish();
  EXPECT_EQ(out.Read(), "[task-1] cd\n");
}

TEST(StderrRelayTest, ALongLineIsPassedInPiecesAndKeptCut) {
  PassedOn out;
  StderrRelay relay(out.fd(), "> ", 4);
  relay.Append("abcdefghij");
  // Two full pieces went out at once; the rest waits for the line's end.
  EXPECT_EQ(out.Read(), "> abcdefgh");
  relay.Append("\nxy\n");
  EXPECT_EQ(out.Read(), "ij\n> xy\n");
  EXPECT_EQ(relay.last_line(), "xy");
  relay.Append("0123456789\n");
  EXPECT_EQ(relay.last_line(), "0123");
}

TEST(StderrRelayTest, NothingWrittenLeavesNoLine) {
  PassedOn out;
  StderrRelay relay(out.fd(), "> ", 10);
  relay.Finish();
  EXPECT_EQ(relay.last_line(), "");
  EXPECT_EQ(out.Read(), "");
}

}  // namespace
}  // namespace corosched::cli
