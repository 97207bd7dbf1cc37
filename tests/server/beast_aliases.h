// For the tests that drive Beast themselves (raw sockets, their own streams): the Beast headers
// and the short names the fixture used to bring. Most tests need only server_fixture.h.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "server_fixture.h"

namespace runicorn::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

}  // namespace runicorn::testing
