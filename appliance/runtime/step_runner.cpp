#include "appliance/runtime/step_runner.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "appliance/core/encoding.h"
#include "appliance/runtime/http_caller.h"

namespace cloister::runtime {
namespace {

StepResult Failed(std::string code, std::string message) {
  StepResult r;
  r.error_code = std::move(code);
  r.error_message = std::move(message);
  return r;
}

std::string Text(const Json& step, const char* key, const std::string& fallback = "") {
  return step.contains(key) && step[key].is_string() ? step[key].get<std::string>() : fallback;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string StepName(const Json& step) { return "step \"" + Text(step, "id") + "\""; }

// RFC 3986 unreserved characters stay; everything else is %XX.
std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool Expected(const Json& step, int status) {
  if (!step.contains("expected_status")) return status >= 200 && status < 300;
  const Json& e = step["expected_status"];
  if (e.is_number_integer()) return e.get<int>() == status;
  if (e.is_array()) {
    return std::any_of(e.begin(), e.end(), [&](const Json& x) {
      return x.is_number_integer() && x.get<int>() == status;
    });
  }
  return false;
}

std::chrono::milliseconds RetryAfter(const HttpAnswer& answer) {
  for (const auto& [name, value] : answer.headers) {
    if (Lower(name) != "retry-after") continue;
    char* end = nullptr;
    const long seconds = std::strtol(value.c_str(), &end, 10);
    if (end != value.c_str() && *end == '\0' && seconds >= 0)
      return std::chrono::seconds(std::min(seconds, 3600L));
  }
  return std::chrono::milliseconds(0);
}

int IndexOf(const Json& steps, const std::string& id) {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].value("id", std::string()) == id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::shared_ptr<HttpCaller> StepRunner::CallerFor(const std::vector<std::string>& allow) const {
  MutexLock lock(mu_);
  if (callers_.size() >= 64 && !callers_.count(allow))
    callers_.clear();  // allow-lists changed often
  auto& caller = callers_[allow];
  if (!caller)
    caller =
        std::make_shared<HttpCaller>(EgressPolicy{allow, own_port_, own_addresses_}, resolver_);
  return caller;
}

int StepRunner::MaxAttempts(const Json& step) {
  const int fallback = Text(step, "type") == "http" ? kDefaultHttpRetries : 0;
  const Json& r = step.contains("retries") ? step["retries"] : Json(fallback);
  return 1 + (r.is_number_integer() ? std::clamp(r.get<int>(), 0, 10) : fallback);
}

std::chrono::seconds StepRunner::Timeout(const Json& step) {
  const Json& t =
      step.contains("timeout_seconds") ? step["timeout_seconds"] : Json(kDefaultStepTimeoutSeconds);
  return std::chrono::seconds(t.is_number_integer() ? std::clamp(t.get<int>(), 1, 3600)
                                                    : kDefaultStepTimeoutSeconds);
}

StepResult StepRunner::Run(const StepInput& in) const {
  const std::string type = Text(in.step, "type");
  if (type == "http") return Http(in);
  if (type == "transform") return Transform(in);
  if (type == "condition") return Condition(in);
  return Failed("step_type_unavailable",
                StepName(in.step) + " is of type " + type +
                    ", which this appliance cannot run yet; the run fails at this step");
}

StepResult StepRunner::Transform(const StepInput& in) const {
  auto out =
      RenderJson(in.step.value("output", Json()), in.scope, /*allow_secrets=*/false, limits_);
  if (!out.ok()) return Failed("template_error", StepName(in.step) + ": " + out.status().message());
  StepResult r;
  r.ok = true;
  r.output = std::move(out).value();
  return r;
}

StepResult StepRunner::Condition(const StepInput& in) const {
  auto value =
      EvaluateExpression(Text(in.step, "expression"), in.scope, /*want_bool=*/true, limits_);
  if (!value.ok())
    return Failed("expression_error", StepName(in.step) + ": " + value.status().message());
  const bool holds = value->is_boolean() && value->get<bool>();
  const int then_index = IndexOf(in.all_steps, Text(in.step, "then"));
  int next = then_index;
  if (!holds)
    next = in.step.contains("else") ? IndexOf(in.all_steps, Text(in.step, "else")) : then_index + 1;
  if (then_index < 0 || next < 0)
    return Failed("expression_error", StepName(in.step) + ": no step to go on with");
  StepResult r;
  r.ok = true;
  r.output = {{"result", holds}};
  r.next_step = next;
  return r;
}

StepResult StepRunner::Http(const StepInput& in) const {
  const Json& s = in.step;
  const auto fail_template = [&](const Status& st) {
    return Failed("template_error", StepName(s) + ": " + st.message());
  };
  // Secrets go in headers only: a URL, query or body is logged and echoed
  // by the services steps call far more often than a header is.
  auto url = RenderText(Text(s, "url"), in.scope, /*allow_secrets=*/false);
  if (!url.ok()) return fail_template(url.status());
  std::string query;
  const Json params =
      s.value("params", Json::object());  // items() must not outlive what it iterates
  for (const auto& [name, value] : params.items()) {
    auto v =
        RenderText(value.is_string() ? value.get<std::string>() : value.dump(), in.scope, false);
    if (!v.ok()) return fail_template(v.status());
    query += (query.empty() ? "" : "&") + UrlEncode(name) + "=" + UrlEncode(*v);
  }
  HttpCall call;
  call.method = Text(s, "method", "GET");
  call.url = *url;
  if (!query.empty()) call.url += (call.url.find('?') == std::string::npos ? "?" : "&") + query;
  bool has_content_type = false;
  bool has_idempotency_key = false;
  const Json headers = s.value("headers", Json::object());
  for (const auto& [name, value] : headers.items()) {
    auto v =
        RenderText(value.is_string() ? value.get<std::string>() : value.dump(), in.scope, true);
    if (!v.ok()) return fail_template(v.status());
    if (Lower(name) == "content-type") has_content_type = true;
    if (Lower(name) == "idempotency-key") has_idempotency_key = true;
    // A header that carries a secret never follows a redirect to another origin.
    if (value.is_string() &&
        value.get_ref<const std::string&>().find("${secrets.") != std::string::npos) {
      call.credential_headers.push_back(name);
    }
    call.headers.emplace_back(name, *v);
  }
  if (s.contains("body")) {
    const Json& body = s["body"];
    if (body.is_string()) {
      auto text = RenderText(body.get<std::string>(), in.scope, false);
      if (!text.ok()) return fail_template(text.status());
      call.body = *text;
      if (!has_content_type) call.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    } else {
      auto json = RenderJson(body, in.scope, false, limits_);
      if (!json.ok()) return fail_template(json.status());
      call.body = json->dump();
      if (!has_content_type) call.headers.emplace_back("Content-Type", "application/json");
    }
  }
  // The same key for every attempt, across restarts: services that honour
  // it apply the step once however often it is retried.
  // A step that names its own key (templated from the run's inputs) keeps it.
  if (!has_idempotency_key)
    call.headers.emplace_back("Idempotency-Key", in.run_id + "." + Text(s, "id"));
  call.timeout = Timeout(s);
  call.ca_bundle_pem = in.settings.ca_bundle;

  StepResult r;
  r.request_sha256 = Sha256Hex(call.body);
  auto answer = CallerFor(in.settings.egress_allow)->Call(call);
  if (!answer.ok()) {
    const Status& st = answer.status();
    r.error_message = StepName(s) + ": " + st.message();
    r.error_code = st.reason();
    if (r.error_code == "egress_denied") {
      r.event_details = {{"egress", st.details()}};
    } else if (r.error_code == "timeout") {
      r.error_code = "timeout";
    } else if (r.error_code == "connection_failed") {
      r.retryable = true;
    } else if (r.error_code != "tls_failed") {
      r.error_code = "request_failed";
    }
    return r;
  }
  r.status = answer->status;
  r.response_sha256 = Sha256Hex(answer->body);
  auto parsed = ParseJson(answer->body);
  if (Expected(s, answer->status)) {
    r.ok = true;
    if (parsed.ok() && !answer->truncated) {
      r.output = std::move(parsed).value();
    } else if (IsValidUtf8(answer->body)) {
      r.output = answer->body;
    } else {
      r.output = {{"base64", Base64Encode(answer->body)}};
    }
    return r;
  }
  r.error_code = "unexpected_status";
  r.error_message =
      StepName(s) + ": " + call.method + " answered " + std::to_string(answer->status);
  r.retryable = answer->status == 429 || answer->status >= 500;
  r.retry_after = RetryAfter(*answer);
  return r;
}

}  // namespace cloister::runtime
