// Between Beast's messages and the router's Request/Response (internal to the server).
#pragma once

#include <boost/beast/http.hpp>

#include "api/http.hpp"
#include "api/router.hpp"

namespace kleene::api::detail {

namespace http = boost::beast::http;
using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

// Method, target, decoded path and query, lower-case headers and the raw body.
Request to_request(BeastRequest&& request, const std::string& listener);

// Route and run the handler, log the access line (debug), and build the reply.
BeastResponse dispatch(const Router& router, BeastRequest&& request, const std::string& listener);

BeastResponse to_beast(Response&& response, unsigned version, bool keep_alive);

}  // namespace kleene::api::detail
