// libFuzzer target for the HTTP request parser: request heads and chunked
// bodies come straight from unauthenticated clients.
#include <cstddef>
#include <cstdint>
#include <string>

#include "appliance/http/http_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t head_end = 0;
  if (cloister::ScanHead(input, &head_end) == cloister::HeadScan::kComplete) {
    auto head = cloister::ParseRequestHead(std::string_view(input).substr(0, head_end));
    if (head.ok() && head->content_length && head->chunked)
      __builtin_trap();  // smuggling must be refused
  }
  (void)cloister::ParseRequestHead(input);
  // The same bytes as a chunked body, fed in two pieces.
  cloister::ChunkedDecoder decoder;
  std::string out;
  auto first = decoder.Feed(std::string_view(input).substr(0, size / 2), &out);
  if (first.ok() && !decoder.done())
    (void)decoder.Feed(std::string_view(input).substr(*first), &out);
  return 0;
}
