// The routing table of `runicorn viewer`: every endpoint, its method, rate-limit class and whether
// it needs the token. docs/API.md lists the same table for people.
#pragma once

#include "server/router.h"

namespace runicorn::server {

Router BuildApiRouter();

}  // namespace runicorn::server
