#include "audit/audit_record.h"

#include "audit/verify/jcs.h"

namespace cloister {
namespace {

constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

bool ValidAction(const std::string& a) {
  if (a.empty() || a.size() > 128 || a.front() == '.' || a.back() == '.' || a.find('.') == std::string::npos) {
    return false;
  }
  char prev = '.';
  for (char c : a) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9' && prev != '.') || c == '_' || (c == '.' && prev != '.');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

Status CheckDetails(const Json& v, const std::string& path) {
  switch (v.type()) {
    case Json::value_t::number_float:
      return Status::InvalidArgument("audit details " + path + ": floating-point numbers are not allowed");
    case Json::value_t::number_integer:
      if (v.get<int64_t>() > kMaxSafeInteger || v.get<int64_t>() < -kMaxSafeInteger) {
        return Status::InvalidArgument("audit details " + path + ": integer beyond +/-(2^53 - 1)");
      }
      return Status::Ok();
    case Json::value_t::number_unsigned:
      if (v.get<uint64_t>() > static_cast<uint64_t>(kMaxSafeInteger)) {
        return Status::InvalidArgument("audit details " + path + ": integer beyond 2^53 - 1");
      }
      return Status::Ok();
    case Json::value_t::string:
      if (!IsValidUtf8(v.get_ref<const std::string&>())) {
        return Status::InvalidArgument("audit details " + path + ": string is not valid UTF-8");
      }
      return Status::Ok();
    case Json::value_t::array:
      for (size_t i = 0; i < v.size(); ++i) CL_RETURN_IF_ERROR(CheckDetails(v[i], path + "[" + std::to_string(i) + "]"));
      return Status::Ok();
    case Json::value_t::object:
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!IsValidUtf8(it.key())) return Status::InvalidArgument("audit details " + path + ": key is not valid UTF-8");
        CL_RETURN_IF_ERROR(CheckDetails(it.value(), path + "." + it.key()));
      }
      return Status::Ok();
    case Json::value_t::null:
    case Json::value_t::boolean: return Status::Ok();
    default: return Status::InvalidArgument("audit details " + path + ": unsupported value");
  }
}

}  // namespace


Status AuditRecord::Validate() const {
  if (!ValidAction(action)) {
    return Status::InvalidArgument("audit action \"" + action + "\" must be lowercase dotted words, e.g. system.unseal");
  }
  if (actor.kind != "user" && actor.kind != "token" && actor.kind != "system" && actor.kind != "anonymous") {
    return Status::InvalidArgument("audit actor kind \"" + actor.kind + "\" is not user, token, system or anonymous");
  }
  if (outcome != "success" && outcome != "denied" && outcome != "error") {
    return Status::InvalidArgument("audit outcome \"" + outcome + "\" is not success, denied or error");
  }
  if (target_kind.empty() != target_id.empty()) return Status::InvalidArgument("audit target needs both kind and id");
  if (request_id.empty() != request_ip.empty()) return Status::InvalidArgument("audit request needs both id and ip");
  for (const std::string* s : {&action, &actor.id, &actor.name, &target_kind, &target_id, &env, &reason, &request_id,
                               &request_ip}) {
    if (!IsValidUtf8(*s)) return Status::InvalidArgument("audit event field is not valid UTF-8");
  }
  if (!details.is_null() && !details.is_object()) return Status::InvalidArgument("audit details must be an object");
  if (!IsValidUtf8(via_token)) return Status::InvalidArgument("audit event field is not valid UTF-8");
  if (!via_token.empty() && details.is_object() && details.contains("via_token")) {
    return Status::InvalidArgument("audit details.via_token is set by the ledger, not by callers");
  }
  return details.is_null() ? Status::Ok() : CheckDetails(details, "details");
}

Json AuditRecord::EventDetails() const {
  if (via_token.empty()) return details;
  Json out = details.is_object() ? details : Json::object();
  out["via_token"] = via_token;
  return out;
}

Json AuditRecord::ToEvent(uint64_t seq, const std::string& time) const {
  Json e = {{"v", 1},
            {"seq", seq},
            {"time", time},
            {"actor", {{"kind", actor.kind}, {"id", actor.id}, {"name", actor.name}}},
            {"action", action},
            {"outcome", outcome}};
  if (!target_kind.empty()) e["target"] = {{"kind", target_kind}, {"id", target_id}};
  if (!env.empty()) e["env"] = env;
  if (!reason.empty()) e["reason"] = reason;
  if (!request_id.empty()) e["request"] = {{"id", request_id}, {"ip", request_ip}};
  if (Json d = EventDetails(); !d.is_null()) e["details"] = std::move(d);
  return e;
}

}  // namespace cloister

namespace cloister {

std::string AuditRecord::CanonicalPrefix() const {
  using verify::AppendString;
  // Member names in UTF-16 (here: ASCII) order, as RFC 8785 sorts them.
  std::string out;
  out.reserve(256);
  out += "{\"action\":";
  AppendString(action, out);
  out += ",\"actor\":{\"id\":";
  AppendString(actor.id, out);
  out += ",\"kind\":";
  AppendString(actor.kind, out);
  out += ",\"name\":";
  AppendString(actor.name, out);
  out += '}';
  if (!via_token.empty()) {
    out += ",\"details\":" + verify::Canonicalize(EventDetails());
  } else if (!details.is_null()) {
    out += ",\"details\":" + verify::Canonicalize(details);
  }
  if (!env.empty()) {
    out += ",\"env\":";
    AppendString(env, out);
  }
  out += ",\"outcome\":";
  AppendString(outcome, out);
  if (!reason.empty()) {
    out += ",\"reason\":";
    AppendString(reason, out);
  }
  if (!request_id.empty()) {
    out += ",\"request\":{\"id\":";
    AppendString(request_id, out);
    out += ",\"ip\":";
    AppendString(request_ip, out);
    out += '}';
  }
  return out;
}

std::string AuditRecord::CanonicalTarget() const {
  if (target_kind.empty()) return "";
  std::string out = ",\"target\":{\"id\":";
  verify::AppendString(target_id, out);
  out += ",\"kind\":";
  verify::AppendString(target_kind, out);
  out += '}';
  return out;
}

namespace {

// Members after "request" in canonical order: seq, target, time, v.
std::string EventSuffix(uint64_t seq, std::string_view target, std::string_view time) {
  std::string out = ",\"seq\":" + std::to_string(seq);
  out += target;
  out += ",\"time\":";
  verify::AppendString(time, out);
  out += ",\"v\":1}";
  return out;
}

}  // namespace

std::string AuditRecord::CanonicalSuffix(uint64_t seq, std::string_view time) const {
  return EventSuffix(seq, CanonicalTarget(), time);
}

std::string PreparedEvent::Suffix(uint64_t seq, std::string_view time) const { return EventSuffix(seq, target_, time); }

Result<PreparedEvent> PreparedEvent::Prepare(const AuditRecord& record) {
  CL_RETURN_IF_ERROR(record.Validate());
  return PreparedEvent(record.CanonicalPrefix(), record.CanonicalTarget());
}

}  // namespace cloister
