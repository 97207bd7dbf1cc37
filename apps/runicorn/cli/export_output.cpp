#include "cli/export_output.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace runicorn::cli {

ExportOutput::~ExportOutput() {
  if (!path_ || file_ == nullptr) return;  // stdout stays open; a committed file is closed already
  std::fclose(file_);
  std::error_code ec;
  std::filesystem::remove(*path_ + ".partial", ec);
}

runtrack::Status ExportOutput::CannotWrite() {
  failed_ = true;
  return runtrack::Status::IOError(fmt::format("cannot write {}", path_.value_or("to stdout")));
}

runtrack::Status ExportOutput::Write(std::string_view piece) {
  if (file_ == nullptr) {
    file_ = path_ ? std::fopen((*path_ + ".partial").c_str(), "wb") : stdout;
    if (file_ == nullptr) return CannotWrite();
  }
  if (std::fwrite(piece.data(), 1, piece.size(), file_) != piece.size()) return CannotWrite();
  bytes_ += piece.size();
  return runtrack::Status::Ok();
}

runtrack::Status ExportOutput::Commit() {
  RUNTRACK_RETURN_IF_ERROR(Write({}));  // an empty export still creates its file
  if (!path_) return std::fflush(stdout) == 0 ? runtrack::Status::Ok() : CannotWrite();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (closed) std::filesystem::rename(*path_ + ".partial", *path_, ec);
  if (!closed || ec) {
    std::filesystem::remove(*path_ + ".partial", ec);
    return CannotWrite();
  }
  committed_ = true;
  return runtrack::Status::Ok();
}

}  // namespace runicorn::cli
