// Blocking network steps with deadlines, on a connection's own io_context.
//
// beast::tcp_stream's expires_after() applies to ASYNCHRONOUS operations only: a synchronous
// connect, write or read on it ignores the deadline and can wait forever (a peer that accepted the
// connection and never answers). So a step is started asynchronously and its io_context run on the
// calling thread until it completes or the stream's deadline cancels it (beast::error::timeout).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>

namespace runicorn::server {

// `start(handler)` starts one asynchronous operation on an object of `io`; runs `io` until it is
// done and answers its error code. Only for an io_context no other thread runs.
template <typename Start>
boost::beast::error_code RunWithDeadline(boost::asio::io_context& io, Start start) {
  boost::beast::error_code result = boost::asio::error::operation_aborted;
  start([&result](boost::beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace runicorn::server
