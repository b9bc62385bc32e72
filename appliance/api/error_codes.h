// Every error code a client can be answered with, in one table, and the
// function that answers a failed Status with it:
//   {"error": {"code": "<code>", "message": "...", "details": {...}}}
//
// The table is where a client-facing code is declared and the only place a
// rename would happen. Three kinds of codes are in it:
//   - the generic ones, the names of the StatusCodes ("invalid_argument",
//     "conflict", ...), for a Status that carries no reason of its own;
//   - the HTTP layer's own ("malformed_request", "payload_too_large",
//     "method_not_allowed", ...), which it answers itself with fixed statuses;
//   - the domain reasons that services set with Status::WithReason
//     ("promotion_state", "deny_window", "self_approval", ...). These are
//     stable identifiers: the audit ledger records them (for example as
//     `details.rule` of a denied promotion), so each is answered to the
//     client under the same name.
// tests/unit/api/error_codes_test.cpp holds the table, the sources and the
// Errors table of docs/api.md to one another: a reason or HTTP-layer code
// used anywhere under appliance/, audit/ or governance/ must be listed here,
// and every code listed here must be in the documentation under its status.
#pragma once

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "appliance/core/logging.h"
#include "appliance/core/mutex.h"
#include "appliance/core/status.h"
#include "appliance/http/http_types.h"

namespace cloister {

struct ErrorCode {
  std::string_view code;
  // The StatusCode a Status with this reason carries; nullopt for the HTTP
  // layer's answers that no Status stands for (405, 413, 415, 431).
  std::optional<StatusCode> status_code;
  int http_status;           // the HTTP status the client receives with it
  std::string_view meaning;  // one line, for the reader of the table
};

// The table, grouped by kind. Static storage, read-only, thread-safe.
std::span<const ErrorCode> ErrorCodes();

// The entry for `code`, or nullptr when the table does not list it.
const ErrorCode* FindErrorCode(std::string_view code);

// Records reasons that reached a client but are not in the table: a Status
// built somewhere with a reason nobody declared. That is the appliance's
// own inconsistency, so it goes to the log as an error, once per reason so
// a busy route cannot flood the log. Thread-safe.
class UnlistedReasonLog {
 public:
  explicit UnlistedReasonLog(Logger logger);

  // Logs `status`'s reason the first time it is reported; true when it logged.
  bool Report(const Status& status);
  // Whether `reason` has been reported.
  bool Reported(const std::string& reason) const;

 private:
  const Logger logger_;
  mutable Mutex mu_;
  std::set<std::string> reported_ CL_GUARDED_BY(mu_);
};

// The client's answer to a failed `status` (not OK): the error envelope with
// code status.reason() when the table lists it, and otherwise, after
// reporting the reason to `unlisted`, the generic name of status.code(). The
// HTTP status is always HttpStatusFor(status), message and details are the
// Status's own, and "overloaded" gets "Retry-After: 1" as from ErrorResponse.
HttpResponse ClientErrorResponse(const Status& status, UnlistedReasonLog& unlisted);

}  // namespace cloister
