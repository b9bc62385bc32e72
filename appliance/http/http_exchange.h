// One request and its response on a connection whose request head has
// arrived: the part of the server that runs on a request thread. Converts
// between the wire and HttpRequest/HttpResponse, so the Dispatcher never
// sees HTTP framing.
#pragma once

#include <chrono>
#include <string>

#include "appliance/http/dispatcher.h"
#include "appliance/http/http_connection.h"

namespace cloister {

// How long a request thread waits for a body, or for a slow reader to take
// each slice of a response, before it gives up on the connection.
inline constexpr std::chrono::seconds kBodyTimeout{30};

// Serves the request whose complete head (as ScanHead found it) starts
// conn.input(): reads its body (Content-Length or chunked, bounded by the
// dispatcher's max_body_bytes: larger bodies are drained up to four times
// the limit and answered 413), asks `dispatcher`, writes the answer. Bytes
// after the request stay in conn.input() for the next one.
// Returns true when the connection may carry another request; false when it
// must be closed (the client asked, an error, or `closing`).
bool ServeRequest(HttpConnection& conn, Dispatcher& dispatcher, bool closing);

// The bytes of `response` sent on a connection the server then closes
// (refusals before a request is read: 431, 503).
std::string ResponseBytesForClose(const HttpResponse& response);

}  // namespace cloister
