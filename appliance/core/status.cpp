#include "appliance/core/status.h"

namespace cloister {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

std::string Status::reason() const {
  return reason_.empty() ? std::string(StatusCodeName(code_)) : reason_;
}

Status Status::WithReason(std::string reason) const {
  Status copy = *this;
  copy.reason_ = std::move(reason);
  return copy;
}

Status Status::WithDetails(nlohmann::json details) const {
  Status copy = *this;
  copy.details_ = std::move(details);
  return copy;
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return reason() + ": " + message_;
}

}  // namespace cloister
