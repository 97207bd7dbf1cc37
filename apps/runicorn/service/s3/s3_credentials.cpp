#include "service/s3/s3_credentials.h"

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

extern char** environ;

namespace runicorn::service::s3 {
namespace {

using runtrack::Result;
using runtrack::Status;

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string Get(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

Result<S3Credentials> LoadS3Credentials(const std::map<std::string, std::string>& env) {
  S3Credentials c;
  c.access_key_id = Get(env, "AWS_ACCESS_KEY_ID");
  c.secret_access_key = Get(env, "AWS_SECRET_ACCESS_KEY");
  if (!c.access_key_id.empty() || !c.secret_access_key.empty()) {
    if (c.access_key_id.empty() || c.secret_access_key.empty())
      return Status::InvalidArgument("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
    c.session_token = Get(env, "AWS_SESSION_TOKEN");
    return c;
  }
  std::filesystem::path file = Get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = Get(env, "HOME");
    if (home.empty())
      return Status::FailedPrecondition(
          "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_SHARED_CREDENTIALS_FILE");
    file = std::filesystem::path(home) / ".aws" / "credentials";
  }
  std::string profile = Get(env, "AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::ifstream in(file);
  if (!in)
    return Status::FailedPrecondition(fmt::format(
        "no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and {} cannot be read",
        file.string()));
  std::string line, section;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (section != profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    else if (key == "aws_secret_access_key") c.secret_access_key = value;
    else if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return Status::FailedPrecondition(fmt::format(
        "no S3 credentials: profile [{}] of {} lacks aws_access_key_id or aws_secret_access_key", profile,
        file.string()));
  return c;
}

Result<S3Credentials> LoadS3Credentials() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return LoadS3Credentials(env);
}

}  // namespace runicorn::service::s3
