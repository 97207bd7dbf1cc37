// Bearer-token check for the viewer. Scopes: the viewer's token may do everything; the local
// token (CLI) everything but ingest; an ingest token (`--ingest-token-file`, for training nodes)
// only journal shipping's PUT /api/ingest (AllowsIngest), nothing else.
// With a token configured, every route but /api/health needs
// `Authorization: Bearer <token>`; the comparison takes the same time whatever the input (both
// sides are hashed to fixed-length digests first, then compared with CRYPTO_memcmp), so response
// timing reveals neither the token's length nor a matching prefix.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::server {

class TokenAuth {
 public:
  TokenAuth() = default;  // no token: everything is allowed
  // `local_token` (the viewer's per-start credential for local CLI commands, see
  // service/viewer_endpoint.h) is accepted too when a token is required.
  explicit TokenAuth(std::string_view token, std::string_view local_token = {},
                     std::string_view ingest_token = {});

  bool enabled() const { return enabled_; }
  // `authorization` is the raw header value ("Bearer abc"); the scheme is case-insensitive.
  bool Allows(std::string_view authorization) const;
  // For clients that cannot set headers (browser WebSockets): the bare token.
  bool AllowsToken(std::string_view token) const;
  // The ingest scope: with neither a token nor an ingest token configured, everyone (like every
  // other route of a viewer without a token); otherwise the viewer's token or the ingest token.
  bool AllowsIngest(std::string_view authorization) const;

 private:
  bool enabled_ = false;
  std::array<unsigned char, 32> digest_{};
  bool has_local_ = false;
  std::array<unsigned char, 32> local_digest_{};
  bool has_ingest_ = false;
  std::array<unsigned char, 32> ingest_digest_{};
};

// Reads a token from a file (`runicorn viewer --token-file`; a token on the command line shows in
// `ps` to every user). Surrounding whitespace and the trailing newline are dropped. NotFound when
// the file cannot be read; InvalidArgument when it is empty, holds more than one line, contains
// control characters, or is larger than 4 KiB.
runtrack::Result<std::string> ReadTokenFile(const std::filesystem::path& path);

}  // namespace runicorn::server
