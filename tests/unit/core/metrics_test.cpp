#include "appliance/core/metrics.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(MetricsTest, RendersPrometheusTextFormat) {
  Metrics m;
  m.DescribeCounter("req_total", "Requests.");
  m.DescribeGauge("sealed", "Sealed.");
  m.DescribeHistogram("lat", "Latency.", {0.1, 1});
  m.Increment("req_total", {{"route", "/a\"b"}, {"status", "200"}});
  m.Increment("req_total", {{"route", "/a\"b"}, {"status", "200"}}, 2);
  m.Set("sealed", 1);
  m.Observe("lat", 0.05);
  m.Observe("lat", 0.5);
  m.Observe("lat", 5);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE req_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("req_total{route=\"/a\\\"b\",status=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sealed 1\n"), std::string::npos);
  EXPECT_NE(text.find("lat_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_sum 5.55\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace cloister
