// Masks secret values in what a run keeps (step outputs, error messages):
// a service that echoes a header back must not put the secret into history.
// Pure.
#pragma once

#include <map>
#include <string>

#include "appliance/core/json.h"

namespace cloister::runtime {

// What a masked value reads as.
inline constexpr char kMasked[] = "[secret]";

// `text` with every occurrence of each secret value replaced by kMasked.
// Values shorter than 3 bytes are not masked (they would mask ordinary text;
// docs/runtime.md says so).
std::string MaskSecrets(std::string text, const std::map<std::string, std::string>& secrets);
// The same for every string and object key in `value`.
Json MaskSecrets(const Json& value, const std::map<std::string, std::string>& secrets);

}  // namespace cloister::runtime
