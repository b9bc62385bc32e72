// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format (version 0.0.4).
//
// Thread-safe: every method may be called from any thread. Families are
// declared once (Describe*) before use; recording into an undeclared family
// is a programming error.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/mutex.h"

namespace cloister {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  void DescribeCounter(const std::string& name, const std::string& help);
  void DescribeGauge(const std::string& name, const std::string& help);
  void DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void Increment(const std::string& name, const Labels& labels = {}, double delta = 1);
  void Set(const std::string& name, double value, const Labels& labels = {});
  void Observe(const std::string& name, double value, const Labels& labels = {});

  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    double value = 0;             // counter or gauge
    std::vector<uint64_t> counts;  // histogram, per bucket (not cumulative)
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, Series> series;  // by rendered label set
  };

  Family& Get(const std::string& name, Type type) CL_REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family> families_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister
