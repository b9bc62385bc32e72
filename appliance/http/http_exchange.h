// One request and its response on a connection whose request (head and
// body) has arrived: the part of the server that runs on a request thread. Converts
// between the wire and HttpRequest/HttpResponse, so the Dispatcher never
// sees HTTP framing.
#pragma once

#include <chrono>
#include <string>

#include "appliance/http/dispatcher.h"
#include "appliance/http/http_connection.h"
#include "appliance/http/http_parser.h"

namespace cloister {

// How long a request thread waits for a slow reader to take each slice of
// a response before it gives up on the connection.
inline constexpr std::chrono::seconds kWriteTimeout{30};

// Serves one request the reactor has read whole: `head` and its decoded
// `body` (never more than the dispatcher's max_body_bytes). Asks
// `dispatcher` and writes the answer; never reads from `conn`. Bytes the
// client sent after the request stay in conn.input() for the next one.
// Returns true when the connection may carry another request; false when it
// must be closed (the client asked, an error, or `closing`).
bool ServeRequest(HttpConnection& conn, const RequestHead& head, std::string body,
                  Dispatcher& dispatcher, bool closing);

// The bytes of `response` sent on a connection the server then closes
// (the reactor's refusals: 400, 413, 431, 503).
std::string ResponseBytesForClose(const HttpResponse& response);

}  // namespace cloister
