#include <catch2/catch.hpp>

#include "runtrack/status.h"

using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

namespace {
Result<int> ParsePositive(int x) {
  if (x <= 0) return Status::InvalidArgument("not positive: " + std::to_string(x));
  return x;
}
Status Twice(int x, int* out) {
  RUNTRACK_ASSIGN_OR_RETURN(int v, ParsePositive(x));
  *out = 2 * v;
  return Status::Ok();
}
}  // namespace

TEST_CASE("status carries a code and a message") {
  Status s = Status::NotFound("run x does not exist");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.ToString() == "not_found: run x does not exist");
  CHECK(Status::Ok().ToString() == "ok");
}

TEST_CASE("assign-or-return propagates the first error") {
  int out = 0;
  CHECK(Twice(4, &out).ok());
  CHECK(out == 8);
  Status err = Twice(-1, &out);
  CHECK(err.code() == StatusCode::kInvalidArgument);
  CHECK(err.message() == "not positive: -1");
  CHECK(out == 8);
}
