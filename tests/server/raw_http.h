// One HTTP request on a fresh connection with full control over the headers (the fixture's
// HttpClient always sets Host and Content-Type): for tests of Host, Origin and Content-Type checks.
// Defined in http_test_clients.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "server_fixture.h"

namespace runicorn::testing {

// Host is sent only when `headers` names it. Throws when the server is silent for `timeout_s`.
HttpResult Send(uint16_t port, http::verb method, const std::string& target,
                const std::map<std::string, std::string>& headers, const std::string& body = {},
                int timeout_s = 5);

}  // namespace runicorn::testing
