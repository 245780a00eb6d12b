// The PostgreSQL connection's pure helpers: URLs as logs show them, and the
// array literals the store's statements take. No server needed.

#include "server/store/postgres_connection.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(PgConnectionTest, RedactedUrlHidesEveryFormOfPassword) {
  EXPECT_EQ(RedactedUrl("postgresql://ana:s3cret@db:5432/corosched"),
            "postgresql://ana:***@db:5432/corosched");
  EXPECT_EQ(RedactedUrl("postgres://ana@db/c?sslmode=require&password=s3cret"),
            "postgres://ana@db/c?sslmode=require&password=***");
  EXPECT_EQ(RedactedUrl("host=db password=s3cret dbname=c"),
            "host=db password=*** dbname=c");
  EXPECT_EQ(RedactedUrl("postgresql://ana@db:5432/corosched"),
            "postgresql://ana@db:5432/corosched");  // nothing to hide
}

TEST(PgConnectionTest, ArrayLiteralsQuoteTheirItems) {
  EXPECT_EQ(ArrayLiteral(std::vector<std::string>{"a", "b/c", "q\"x", "s\\"}),
            R"({"a","b/c","q\"x","s\\"})");
  EXPECT_EQ(ArrayLiteral(std::vector<std::string>{}), "{}");
  EXPECT_EQ(ArrayLiteral(std::vector<int64_t>{1, -2, 3}), "{1,-2,3}");
}

}  // namespace
}  // namespace corosched::server
