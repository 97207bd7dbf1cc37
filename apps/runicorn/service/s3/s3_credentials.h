// S3 credentials, from the environment or an AWS-style credentials file — never from the command
// line (it shows in `ps`). The secret never appears in a Status message or a log line.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "runtrack/status.h"

namespace runicorn::service::s3 {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials)
};

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) from `env` when both are set;
// otherwise the profile AWS_PROFILE (default "default") of the file AWS_SHARED_CREDENTIALS_FILE
// (default $HOME/.aws/credentials), INI keys aws_access_key_id / aws_secret_access_key /
// aws_session_token. FailedPrecondition naming where it looked if none is found; InvalidArgument
// if only one half of a key pair is set.
runtrack::Result<S3Credentials> LoadS3Credentials(const std::map<std::string, std::string>& env);
// The same with the process environment.
runtrack::Result<S3Credentials> LoadS3Credentials();

}  // namespace runicorn::service::s3
