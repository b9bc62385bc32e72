#include "appliance/core/metrics.h"

#include <cassert>
#include <cmath>
#include <charconv>

namespace cloister {
namespace {

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string RenderLabels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=\"" + Escape(v) + "\"";
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string WithLabel(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return "{" + labels + "," + extra + "}";
}

}  // namespace

void Metrics::DescribeCounter(const std::string& name, const std::string& help) {
  MutexLock lock(mu_);
  families_.try_emplace(name, Family{Type::kCounter, help, {}, {}});
}

void Metrics::DescribeGauge(const std::string& name, const std::string& help) {
  MutexLock lock(mu_);
  families_.try_emplace(name, Family{Type::kGauge, help, {}, {}});
}

void Metrics::DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  MutexLock lock(mu_);
  families_.try_emplace(name, Family{Type::kHistogram, help, std::move(buckets), {}});
}

Metrics::Family& Metrics::Get(const std::string& name, Type type) {
  auto it = families_.find(name);
  assert(it != families_.end() && it->second.type == type && "metric family not declared");
  (void)type;
  return it->second;
}

void Metrics::Increment(const std::string& name, const Labels& labels, double delta) {
  MutexLock lock(mu_);
  Get(name, Type::kCounter).series[RenderLabels(labels)].value += delta;
}

void Metrics::Set(const std::string& name, double value, const Labels& labels) {
  MutexLock lock(mu_);
  Get(name, Type::kGauge).series[RenderLabels(labels)].value = value;
}

void Metrics::Observe(const std::string& name, double value, const Labels& labels) {
  MutexLock lock(mu_);
  Family& f = Get(name, Type::kHistogram);
  Series& s = f.series[RenderLabels(labels)];
  if (s.counts.empty()) s.counts.assign(f.buckets.size(), 0);
  for (size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) {
      ++s.counts[i];
      break;
    }
  }
  s.sum += value;
  ++s.count;
}

std::string Metrics::Render() const {
  MutexLock lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != Type::kHistogram) {
        out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Number(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.counts[i];
        out += name + "_bucket" + WithLabel(labels, "le=\"" + Number(f.buckets[i]) + "\"") + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + WithLabel(labels, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
      const std::string braces = labels.empty() ? "" : "{" + labels + "}";
      out += name + "_sum" + braces + " " + Number(s.sum) + "\n";
      out += name + "_count" + braces + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace cloister
