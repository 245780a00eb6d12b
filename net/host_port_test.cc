#include "net/host_port.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

HostPort SplitOrDie(absl::string_view address) {
  absl::StatusOr<HostPort> split = SplitHostPort(address);
  EXPECT_TRUE(split.ok()) << split.status();
  return split.ok() ? *split : HostPort();
}

std::string SplitError(absl::string_view address) {
  absl::StatusOr<HostPort> split = SplitHostPort(address);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument)
      << address;
  return std::string(split.status().message());
}

TEST(SplitHostPortTest, SplitsANameOrIPv4AndItsPort) {
  const HostPort loopback = SplitOrDie("127.0.0.1:50051");
  EXPECT_EQ(loopback.host, "127.0.0.1");
  EXPECT_EQ(loopback.port, 50051);
  EXPECT_FALSE(loopback.unix_socket);
  EXPECT_EQ(SplitOrDie("localhost:0").host, "localhost");
  EXPECT_EQ(SplitOrDie("localhost:0").port, 0);
  EXPECT_EQ(SplitOrDie("0.0.0.0:65535").port, 65535);
}

TEST(SplitHostPortTest, TakesAnIPv6HostOutOfItsBrackets) {
  const HostPort v6 = SplitOrDie("[::1]:9464");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9464);
  EXPECT_EQ(SplitOrDie("[fe80::1%eth0]:1").host, "fe80::1%eth0");
}

TEST(SplitHostPortTest, ReadsAUnixSocketPath) {
  const HostPort socket = SplitOrDie("unix:/run/corosched.sock");
  EXPECT_TRUE(socket.unix_socket);
  EXPECT_EQ(socket.host, "/run/corosched.sock");
  EXPECT_EQ(socket.port, 0);
}

TEST(SplitHostPortTest, RefusesWhatIsNotAnAddressAndShowsTheForms) {
  EXPECT_THAT(SplitError("127.0.0.1"),
              AllOf(StartsWith("\"127.0.0.1\": no :PORT; write HOST:PORT"),
                    HasSubstr("[IPV6]:PORT"), HasSubstr("unix:PATH")));
  EXPECT_THAT(SplitError(":80"), HasSubstr("no host before :PORT"));
  EXPECT_THAT(SplitError("[]:80"), HasSubstr("no host before :PORT"));
  EXPECT_THAT(SplitError("unix:"), HasSubstr("no socket path after unix:"));
  EXPECT_THAT(SplitError("::1:80"), HasSubstr("IPv6 host goes in brackets"));
  EXPECT_THAT(SplitError("[::1:80"), HasSubstr("no ]"));
  EXPECT_THAT(SplitError("[::1]"), HasSubstr("no :PORT after the ]"));
  EXPECT_THAT(SplitError("[::1]80"), HasSubstr("no :PORT after the ]"));
  EXPECT_THAT(SplitError("\n"), StartsWith("\"\\n\": "));
}

TEST(SplitHostPortTest, RefusesPortsThatAreNotFrom0To65535) {
  for (absl::string_view address : {"h:", "h:65536", "h:99999999999", "h:-1",
                                    "h:+80", "h: 80", "h:8o", "h:0x50"}) {
    EXPECT_THAT(SplitError(address),
                HasSubstr("the port is not a number from 0 to 65535"))
        << address;
  }
}

TEST(HostPortTest, WritesItselfBackAsItWasRead) {
  for (absl::string_view address :
       {"127.0.0.1:50051", "[::1]:0", "localhost:9464",
        "unix:/run/corosched.sock", "[fe80::1%eth0]:1"}) {
    EXPECT_EQ(SplitOrDie(address).ToString(), address);
  }
}

TEST(HostPortTest, APortCanBeReplaced) {
  HostPort listen = SplitOrDie("[::1]:0");
  listen.port = 43127;
  EXPECT_EQ(listen.ToString(), "[::1]:43127");
  EXPECT_EQ((HostPort{.host = "10.0.0.1", .port = 80}).ToString(),
            "10.0.0.1:80");
}

}  // namespace
}  // namespace corosched
