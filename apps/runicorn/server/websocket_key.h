// Validation of a WebSocket opening handshake's Sec-WebSocket-Key before the upgrade is accepted.
//
// RFC 6455 §4.2.1: the key is the base64 encoding of 16 bytes, i.e. exactly 24 characters, 22 from
// the base64 alphabet followed by "==". Beast only checks that the key is present and not longer
// than 24 characters, so "abc" would be accepted; the viewer answers such requests 400 instead.
#pragma once

#include <string_view>

namespace runicorn::server {

bool IsValidWebSocketKey(std::string_view key);

}  // namespace runicorn::server
