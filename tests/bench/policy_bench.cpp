// policy_bench: the baseline pack's promotion decision (20 rules, with
// explanations for the rules that fail) through the policy engine, against
// the same 20 rules written by hand in C++ over the same bound input, in the
// same run.
//
// Targets: p50 < 5 us and p99 < 20 us per decision; engine within 10x of the
// hand-written rules (ratio of medians).
//
//   make bench            (or: build-release/tests/bench/policy_bench)
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "appliance/core/files.h"
#include "governance/policy/policy_set.h"

namespace cloister::policy {
namespace {

using Clock = std::chrono::steady_clock;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "policy_bench: %s\n", what.c_str());
    std::exit(1);
  }
}

// A prod promotion that fails two rules (one approver; a literal bearer
// token), so both sides produce explanations.
Json Input() {
  Json steps = Json::array();
  for (int i = 0; i < 6; ++i) {
    steps.push_back({{"id", "fetch" + std::to_string(i)},
                     {"type", "http"},
                     {"url", "https://svc" + std::to_string(i) + ".erp.internal/api"},
                     {"headers", {{{"name", "Authorization"}, {"value", "${secrets.erp_token}"}}}},
                     {"params", {{{"name", "page"}, {"value", "1"}}}},
                     {"secrets", {"erp_token"}}});
  }
  steps[3]["headers"][0]["value"] = "Bearer abc123";
  steps.push_back({{"id", "draft"}, {"type", "llm"}, {"model", "llama-3-70b"}, {"endpoint", "https://models.internal/v1"}});
  return {{"time", "2026-11-18T10:00:00Z"},
          {"promotion",
           {{"id", "prm-1"},
            {"version", "v-abc"},
            {"from", "test"},
            {"to", "prod"},
            {"requester", "rita"},
            {"author", "alice"},
            {"approvals", {{{"user", "bob"}, {"roles", {"approver"}}, {"at", "2026-11-18T09:30:00Z"}, {"version", "v-abc"}}}}}},
          {"definition",
           {{"name", "invoice-triage"},
            {"description", "Sorts incoming invoices and drafts replies."},
            {"owner", "finance-ops"},
            {"data_classification", "confidential"},
            {"steps", steps}}},
          {"environment",
           {{"name", "prod"},
            {"egress_allow", {"*.erp.internal", "erp.internal"}},
            {"model_endpoints", {"models.internal"}},
            {"secrets", {"erp_token"}}}},
          {"live", {{{"environment", "test"}, {"version", "v-abc"}}}}};
}

// The baseline rules by hand: field slots resolved once, then plain loops.
class HandWritten {
 public:
  explicit HandWritten(const Schema& s) {
    const Type& root = s.root();
    auto slot = [](const Type& t, const char* name) {
      const int i = t.FieldSlot(name);
      Check(i >= 0, std::string("no field ") + name);
      return static_cast<uint32_t>(i);
    };
    const Type& prom = *root.fields[slot(root, "promotion")].second;
    const Type& appr = *prom.fields[slot(prom, "approvals")].second->element;
    const Type& def = *root.fields[slot(root, "definition")].second;
    const Type& step = *def.fields[slot(def, "steps")].second->element;
    const Type& env = *root.fields[slot(root, "environment")].second;
    const Type& live = *root.fields[slot(root, "live")].second->element;
    const Type& pair = *step.fields[slot(step, "headers")].second->element;
    k_ = {slot(root, "time"), slot(root, "promotion"), slot(root, "definition"), slot(root, "environment"),
          slot(root, "live"), slot(prom, "version"), slot(prom, "from"), slot(prom, "to"), slot(prom, "requester"),
          slot(prom, "author"), slot(prom, "emergency"), slot(prom, "reason"), slot(prom, "approvals"),
          slot(appr, "user"), slot(appr, "at"), slot(appr, "version"), slot(def, "name"), slot(def, "description"),
          slot(def, "owner"), slot(def, "data_classification"), slot(def, "steps"), slot(step, "type"),
          slot(step, "url"), slot(step, "model"), slot(step, "endpoint"), slot(step, "headers"),
          slot(step, "params"), slot(step, "secrets"), slot(pair, "name"), slot(pair, "value"),
          slot(env, "name"), slot(env, "egress_allow"), slot(env, "model_endpoints"), slot(env, "secrets"),
          slot(live, "environment"), slot(live, "version")};
  }

  struct Verdict {
    const char* rule;
    bool failed;
    std::string message;
  };

  void Decide(const Value& root, std::vector<Verdict>& out) const {
    out.clear();
    const Value* f = root.items;
    const Value& p = f[k_.promotion];
    const Value& d = f[k_.definition];
    const Value& e = f[k_.environment];
    const Value* pf = p.items;
    const Value* df = d.items;
    const Value* ef = e.items;
    const std::string_view author = pf[k_.author].str(), requester = pf[k_.requester].str(),
                           version = pf[k_.version].str(), to = pf[k_.to].str();
    const Value& approvals = pf[k_.approvals];
    const Value& steps = df[k_.steps];
    const bool prod = to == "prod";
    auto approval = [&](uint32_t i, uint32_t field) -> const Value& { return approvals.items[i].items[field]; };
    auto add = [&](const char* rule, bool failed, auto message) {
      out.push_back({rule, failed, failed ? message() : std::string()});
    };
    auto any_approval = [&](auto pred) {
      for (uint32_t i = 0; i < approvals.size; ++i) {
        if (pred(i)) return true;
      }
      return false;
    };
    auto any_step = [&](auto pred) {
      for (uint32_t i = 0; i < steps.size; ++i) {
        if (pred(steps.items[i].items)) return true;
      }
      return false;
    };
    auto in_list = [](const Value& list, std::string_view s) {
      for (uint32_t i = 0; i < list.size; ++i) {
        if (list.items[i].str() == s) return true;
      }
      return false;
    };
    auto glob_any = [](const Value& list, std::string_view s) {
      for (uint32_t i = 0; i < list.size; ++i) {
        if (GlobMatch(s, list.items[i].str())) return true;
      }
      return false;
    };
    auto lower = [](std::string_view s) {
      std::string l(s);
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return l;
    };
    auto non_author = [&] {
      int n = 0;
      for (uint32_t i = 0; i < approvals.size; ++i) n += approval(i, k_.user).str() != author;
      return n;
    };
    add("no-self-approval", any_approval([&](uint32_t i) { return approval(i, k_.user).str() == author; }),
        [&] { return std::string(author) + " wrote version " + std::string(version) + " and may not approve it"; });
    add("requester-not-approver", any_approval([&](uint32_t i) { return approval(i, k_.user).str() == requester; }),
        [&] { return std::string(requester) + " requested this promotion and may not approve it"; });
    add("approvals-bound-to-version", any_approval([&](uint32_t i) { return approval(i, k_.aversion).str() != version; }),
        [&] { return "an approval is for another version than " + std::string(version); });
    const int64_t now = f[k_.time].integer;
    add("approvals-fresh", any_approval([&](uint32_t i) { return now - approval(i, k_.at).integer > 14 * 86400; }),
        [] { return std::string("an approval is older than 14 days"); });
    if (prod) {
      bool two = false;
      for (uint32_t i = 0; i < approvals.size && !two; ++i) {
        for (uint32_t j = 0; j < approvals.size && !two; ++j) {
          const std::string_view a = approval(i, k_.user).str(), b = approval(j, k_.user).str();
          two = a != b && a != author && b != author;
        }
      }
      add("prod-two-approvers", !two, [&] {
        return "approvers other than the author: " + std::to_string(non_author()) + ", required: 2 distinct";
      });
    }
    add("one-approver", non_author() < 1,
        [&] { return "approvers other than the author: " + std::to_string(non_author()) + ", required: 1"; });
    const Value& live = f[k_.live];
    bool is_live = false;
    for (uint32_t i = 0; i < live.size; ++i) {
      is_live = is_live || (live.items[i].items[k_.lenv].str() == pf[k_.from].str() &&
                            live.items[i].items[k_.lversion].str() == version);
    }
    add("promoted-from-live", !is_live, [&] {
      return "version " + std::string(version) + " is not live in " + std::string(pf[k_.from].str());
    });
    add("owner-required", df[k_.owner].str().empty(),
        [&] { return "automation " + std::string(df[k_.dname].str()) + " has no owner"; });
    static const char* kClasses[] = {"public", "internal", "confidential", "restricted", "phi"};
    const std::string_view cls = df[k_.classification].str();
    add("classification-required", std::none_of(std::begin(kClasses), std::end(kClasses), [&](const char* c) { return cls == c; }),
        [&] { return "data classification \"" + std::string(cls) + "\" is not one of public, internal, confidential, restricted, phi"; });
    add("description-required", df[k_.description].size < 10,
        [&] { return "automation " + std::string(df[k_.dname].str()) + " has no useful description"; });
    static const char* kHeaders[] = {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-auth-token"};
    auto pairs = [&](const Value* s, uint32_t which, auto pred) {
      const Value& list = s[which];
      for (uint32_t i = 0; i < list.size; ++i) {
        if (pred(list.items[i].items[k_.pname].str(), list.items[i].items[k_.pvalue].str())) return true;
      }
      return false;
    };
    auto secret_ref = [](std::string_view v) { return v.rfind("${secrets.", 0) == 0; };
    add("no-plaintext-credential-headers", any_step([&](const Value* s) {
          return pairs(s, k_.headers, [&](std::string_view n, std::string_view v) {
            const std::string l = lower(n);
            return std::any_of(std::begin(kHeaders), std::end(kHeaders), [&](const char* h) { return l == h; }) &&
                   !secret_ref(v);
          });
        }),
        [] { return std::string("a credential header holds a literal value; reference a secret as ${secrets.NAME}"); });
    add("no-plaintext-credential-params", any_step([&](const Value* s) {
          return pairs(s, k_.params, [&](std::string_view n, std::string_view v) {
            const std::string l = lower(n);
            return (GlobMatch(l, "*password*") || GlobMatch(l, "*secret*") || GlobMatch(l, "*token*") ||
                    GlobMatch(l, "*api_key*")) &&
                   !secret_ref(v);
          });
        }),
        [] { return std::string("a parameter named like a credential holds a literal value; reference a secret as ${secrets.NAME}"); });
    auto known = [](std::string_view, std::string_view v) {
      return v.rfind("AKIA", 0) == 0 || v.rfind("ghp_", 0) == 0 || v.rfind("xoxb-", 0) == 0 ||
             v.find("-----BEGIN") != std::string_view::npos;
    };
    add("no-known-credential-formats",
        any_step([&](const Value* s) { return pairs(s, k_.headers, known) || pairs(s, k_.params, known); }),
        [] { return std::string("a value looks like a cloud key, access token or private key"); });
    add("no-credentials-in-urls", any_step([&](const Value* s) {
          return s[k_.url].str().find('@') != std::string_view::npos ||
                 s[k_.endpoint].str().find('@') != std::string_view::npos;
        }),
        [] { return std::string("a step URL embeds credentials (user@host)"); });
    add("secrets-exist-in-target", any_step([&](const Value* s) {
          const Value& names = s[k_.ssecrets];
          for (uint32_t i = 0; i < names.size; ++i) {
            if (!in_list(ef[k_.esecrets], names.items[i].str())) return true;
          }
          return false;
        }),
        [&] { return "a step references a secret that " + std::string(ef[k_.ename].str()) + " does not have"; });
    if (prod) {
      add("prod-https-only",
          any_step([&](const Value* s) { return s[k_.type].str() == "http" && s[k_.url].str().rfind("https://", 0) != 0; }),
          [] { return std::string("an HTTP step in prod does not use https://"); });
      add("prod-egress-allow-list", any_step([&](const Value* s) {
            return s[k_.type].str() == "http" && !glob_any(ef[k_.egress], lower(UrlHost(s[k_.url].str())));
          }),
          [&] { return "an HTTP step calls a host outside the egress allow-list of " + std::string(ef[k_.ename].str()); });
    }
    add("llm-approved-endpoints", any_step([&](const Value* s) {
          return s[k_.type].str() == "llm" && !glob_any(ef[k_.models], lower(UrlHost(s[k_.endpoint].str())));
        }),
        [&] { return "an LLM step calls a model endpoint not approved for " + std::string(ef[k_.ename].str()); });
    add("llm-model-named", any_step([&](const Value* s) { return s[k_.type].str() == "llm" && s[k_.model].size == 0; }),
        [] { return std::string("an LLM step names no model"); });
    if (pf[k_.emergency].integer != 0) {
      add("emergency-reason", pf[k_.reason].size < 20, [&] {
        return "emergency promotion with a reason of " + std::to_string(pf[k_.reason].size) +
               " characters; at least 20 are needed";
      });
    }
  }

 private:
  struct Slots {
    uint32_t time, promotion, definition, environment, live, version, from, to, requester, author, emergency, reason,
        approvals, user, at, aversion, dname, description, owner, classification, steps, type, url, model, endpoint,
        headers, params, ssecrets, pname, pvalue, ename, egress, models, esecrets, lenv, lversion;
  } k_{};
};

struct Stats {
  double p50, p99;
};

Stats Measure(int n, const std::function<void()>& fn) {
  std::vector<double> ns(static_cast<size_t>(n));
  for (int i = 0; i < 2000; ++i) fn();  // warm caches and the allocator
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    fn();
    ns[static_cast<size_t>(i)] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], ns[ns.size() * 99 / 100]};
}

int Run() {
  auto text = ReadFile(CLOISTER_SOURCE_DIR "/policies/baseline/baseline.yaml");
  Check(text.ok(), "reading the baseline pack");
  const std::string binding =
      "apiVersion: cloister/v1\nkind: PolicyBinding\nmetadata: {name: baseline-prod}\nhook: promotion\n"
      "policies: [baseline]\nenvironments: [prod]\nlevel: hard_mandatory\n";
  auto set = PolicySet::Build({{"baseline.yaml", *text}, {"binding.yaml", binding}});
  Check(set.ok(), set.ok() ? "" : set.status().message());
  const Schema& schema = *HookSchema("promotion");
  const Json input = Input();
  auto doc = Document::Bind(schema, input);
  Check(doc.ok(), "binding the input");

  Evaluator evaluator;
  const Decision d = (*set)->Decide("promotion", "prod", *doc, evaluator);
  std::set<std::string> engine_failing;
  for (const auto& v : d.bindings[0].verdicts) {
    if (v.failed()) engine_failing.insert(v.rule->id);
  }
  HandWritten hand(schema);
  std::vector<HandWritten::Verdict> verdicts;
  hand.Decide(doc->root(), verdicts);
  std::set<std::string> hand_failing;
  for (const auto& v : verdicts) {
    if (v.failed) hand_failing.insert(v.rule);
  }
  Check(engine_failing == hand_failing && engine_failing.size() == 2, "the engine and the hand-written rules disagree");
  Check(d.bindings[0].verdicts.size() == 20 && verdicts.size() == 19, "unexpected rule count");

  constexpr int kRuns = 200000;
  const Stats engine = Measure(kRuns, [&] {
    const Decision x = (*set)->Decide("promotion", "prod", *doc, evaluator);
    if (x.allowed) std::abort();
  });
  const Stats handwritten = Measure(kRuns, [&] {
    hand.Decide(doc->root(), verdicts);
    if (verdicts.empty()) std::abort();
  });
  Json passing_input = input;
  passing_input["definition"]["steps"][3]["headers"][0]["value"] = "${secrets.erp_token}";
  passing_input["promotion"]["approvals"].push_back(
      {{"user", "carol"}, {"roles", {"approver"}}, {"at", "2026-11-18T09:40:00Z"}, {"version", "v-abc"}});
  auto passing_doc = Document::Bind(schema, passing_input);
  Check(passing_doc.ok(), "binding the passing input");
  const Stats passing = Measure(kRuns, [&] {
    const Decision x = (*set)->Decide("promotion", "prod", *passing_doc, evaluator);
    if (!x.allowed) std::abort();
  });
  const Stats bind = Measure(20000, [&] {
    auto b = Document::Bind(schema, input);
    if (!b.ok()) std::abort();
  });

  std::printf("policy_bench: baseline pack, %zu rules, prod promotion failing 2 rules (explanations built), %d runs\n",
              d.bindings[0].verdicts.size(), kRuns);
  std::printf("  hand-written C++ rules      : p50 %8.0f ns   p99 %8.0f ns\n", handwritten.p50, handwritten.p99);
  std::printf("  policy engine decision      : p50 %8.0f ns   p99 %8.0f ns   (targets p50 < 5000, p99 < 20000) %s\n",
              engine.p50, engine.p99, engine.p50 < 5000 && engine.p99 < 20000 ? "ok" : "MISSED");
  std::printf("  policy engine, all rules pass: p50 %8.0f ns   p99 %8.0f ns   (no explanations to build)\n", passing.p50,
              passing.p99);
  std::printf("  binding the JSON input once : p50 %8.0f ns   (per decision, outside the figures above)\n", bind.p50);
  const double ratio = engine.p50 / handwritten.p50;
  std::printf("ratio engine / hand-written (p50): %.2f  (target <= 10) %s\n", ratio, ratio <= 10 ? "ok" : "MISSED");
  return 0;
}

}  // namespace
}  // namespace cloister::policy

int main() { return cloister::policy::Run(); }
