// Status and Result<T>: how every fallible libruntrack call reports failure.
//
// The public API never throws. A call that can fail returns a Status (or a Result<T>, which holds
// either a value or a non-ok Status). Exceptions raised inside the library (allocation failure
// aside) are caught at the module edge and turned into a Status.
//
// Thread safety: Status and Result are plain values; distinct objects may be used from any thread.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace runtrack {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller passed something malformed (bad name, id, status string, ...)
  kNotFound,          // the run, series, artifact, version or alias does not exist
  kAlreadyExists,     // a resource with that identity already exists
  kFailedPrecondition,// the call is valid but not in this state (e.g. logging after Finish)
  kIOError,           // the operating system refused a file operation
  kCorruption,        // stored data failed a checksum or could not be decoded
  kBusy,              // another process holds a resource exclusively (e.g. the catalog)
  kInternal,          // a bug in libruntrack
};

// Short lower-case name of a code ("invalid_argument", "not_found", ...), stable for logs and APIs.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_found: run 2024... does not exist", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) { assert(!std::get<Status>(state_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { assert(ok()); return std::get<T>(state_); }
  const T& value() const& { assert(ok()); return std::get<T>(state_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace runtrack

// Early-return helpers for implementation files.
#define RUNTRACK_RETURN_IF_ERROR(expr)          \
  do {                                          \
    ::runtrack::Status _rt_status = (expr);     \
    if (!_rt_status.ok()) return _rt_status;    \
  } while (0)

#define RUNTRACK_CONCAT_INNER(a, b) a##b
#define RUNTRACK_CONCAT(a, b) RUNTRACK_CONCAT_INNER(a, b)
#define RUNTRACK_ASSIGN_OR_RETURN(lhs, expr) \
  RUNTRACK_ASSIGN_OR_RETURN_IMPL(RUNTRACK_CONCAT(_rt_result_, __LINE__), lhs, expr)
#define RUNTRACK_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
