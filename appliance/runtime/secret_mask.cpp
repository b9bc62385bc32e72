#include "appliance/runtime/secret_mask.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace cloister::runtime {

std::string MaskSecrets(std::string text, const std::map<std::string, std::string>& secrets) {
  // Every match of every secret in the original text, overlapping ones
  // merged: masking one secret first must not leave the rest of another.
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end)
  for (const auto& [name, value] : secrets) {
    if (value.size() < 3) continue;
    for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + 1)) {
      spans.emplace_back(at, at + value.size());
    }
  }
  if (spans.empty()) return text;
  std::sort(spans.begin(), spans.end());
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < spans.size();) {
    const size_t begin = spans[i].first;
    size_t end = spans[i].second;
    for (++i; i < spans.size() && spans[i].first < end; ++i) end = std::max(end, spans[i].second);
    out.append(text, copied, begin - copied).append(kMasked);
    copied = end;
  }
  return out.append(text, copied, std::string::npos);
}

Json MaskSecrets(const Json& value, const std::map<std::string, std::string>& secrets) {
  if (secrets.empty()) return value;
  if (value.is_string()) return MaskSecrets(value.get<std::string>(), secrets);
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& item : value) out.push_back(MaskSecrets(item, secrets));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) out[MaskSecrets(k, secrets)] = MaskSecrets(v, secrets);
    return out;
  }
  return value;
}

}  // namespace cloister::runtime
