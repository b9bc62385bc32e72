// The input document of each hook, as documented in docs/policy-language.md
// ("Input documents"). Changing a field here changes what policies may read:
// update that page with it.
#include <map>

#include "governance/policy/document.h"

namespace cloister::policy {
namespace {

using Fields = std::vector<std::pair<std::string, const Type*>>;

const Type* S() { return StringType(); }
const Type* I() { return IntType(); }
const Type* T() { return TimeType(); }
const Type* B() { return BoolType(); }

// Types shared by several hooks, built into each schema.
struct Common {
  explicit Common(Schema& s) {
    const Type* strings = s.List(S());
    const Type* pair = s.Object({{"name", S()}, {"value", S()}});
    step = s.Object({{"id", S()},
                     {"type", S()},
                     {"url", S()},
                     {"method", S()},
                     {"model", S()},
                     {"endpoint", S()},
                     {"headers", s.List(pair)},
                     {"params", s.List(pair)},
                     {"secrets", strings}});
    definition = s.Object({{"name", S()},
                           {"description", S()},
                           {"owner", S()},
                           {"data_classification", S()},
                           {"tags", strings},
                           {"trigger", s.Object({{"type", S()}, {"schedule", S()}})},
                           {"steps", s.List(step)}});
    environment = s.Object({{"name", S()},
                            {"position", I()},
                            {"egress_allow", strings},
                            {"model_endpoints", strings},
                            {"variables", strings},
                            {"secrets", strings}});
    principal = s.Object({{"user", S()},
                          {"kind", S()},
                          {"roles", strings},
                          {"bindings", s.List(s.Object({{"role", S()}, {"environment", S()}}))}});
  }
  const Type* step;
  const Type* definition;
  const Type* environment;
  const Type* principal;
};

std::unique_ptr<Schema> Promotion() {
  auto s = std::make_unique<Schema>("promotion");
  Common c(*s);
  const Type* approval = s->Object(
      {{"user", S()}, {"roles", s->List(S())}, {"at", T()}, {"version", S()}, {"comment", S()}});
  const Type* promotion = s->Object({{"id", S()},
                                     {"automation", S()},
                                     {"version", S()},
                                     {"from", S()},
                                     {"to", S()},
                                     {"requester", S()},
                                     {"author", S()},
                                     {"requested_at", T()},
                                     {"scheduled_for", T()},
                                     {"emergency", B()},
                                     {"reason", S()},
                                     {"approvals", s->List(approval)}});
  s->SetRoot(s->Object(
      {{"time", T()},
       {"promotion", promotion},
       {"definition", c.definition},
       {"environment", c.environment},
       {"live", s->List(s->Object({{"environment", S()}, {"version", S()}, {"since", T()}}))},
       {"evidence", s->List(s->Object({{"kind", S()},
                                       {"passed", B()},
                                       {"ref", S()},
                                       {"environment", S()},
                                       {"count", I()},
                                       {"at", T()}}))}}));
  return s;
}

std::unique_ptr<Schema> AutomationSave() {
  auto s = std::make_unique<Schema>("automation.save");
  Common c(*s);
  s->SetRoot(s->Object({{"time", T()},
                        {"actor", c.principal},
                        {"environment", c.environment},
                        {"definition", c.definition},
                        {"version", S()},
                        {"previous_version", S()}}));
  return s;
}

std::unique_ptr<Schema> RunStepSchema() {
  auto s = std::make_unique<Schema>("run.step");
  Common c(*s);
  const Type* run = s->Object({{"id", S()},
                               {"automation", S()},
                               {"version", S()},
                               {"trigger", S()},
                               {"triggered_by", S()},
                               {"started_at", T()}});
  s->SetRoot(s->Object({{"time", T()},
                        {"run", run},
                        {"step", c.step},
                        {"definition", c.definition},
                        {"environment", c.environment}}));
  return s;
}

std::unique_ptr<Schema> ApiRequest() {
  auto s = std::make_unique<Schema>("api.request");
  Common c(*s);
  const Type* request = s->Object({{"method", S()},
                                   {"path", S()},
                                   {"route", S()},
                                   {"environment", S()},
                                   {"source_ip", S()},
                                   {"request_id", S()}});
  s->SetRoot(s->Object({{"time", T()}, {"request", request}, {"principal", c.principal}}));
  return s;
}

const std::map<std::string, std::unique_ptr<Schema>, std::less<>>& Schemas() {
  static const auto* schemas = [] {
    auto* m = new std::map<std::string, std::unique_ptr<Schema>, std::less<>>();
    for (auto* make : {&Promotion, &AutomationSave, &RunStepSchema, &ApiRequest}) {
      auto schema = make();
      const std::string hook = schema->hook();
      m->emplace(hook, std::move(schema));
    }
    return m;
  }();
  return *schemas;
}

}  // namespace

const Schema* HookSchema(std::string_view hook) {
  const auto& m = Schemas();
  const auto it = m.find(hook);
  return it == m.end() ? nullptr : it->second.get();
}

const std::vector<std::string>& HookNames() {
  static const std::vector<std::string> names = {"promotion", "automation.save", "run.step",
                                                 "api.request"};
  return names;
}

}  // namespace cloister::policy
