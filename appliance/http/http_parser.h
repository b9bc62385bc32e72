// HTTP/1.x request heads and chunked bodies (RFC 9112), parsed from bytes
// a client sent. Strict wherever two parsers could disagree about where a
// request ends (request smuggling): obsolete line folding, whitespace before
// a header's colon, bare CR or LF, duplicate Content-Length, Content-Length
// together with Transfer-Encoding, and any transfer coding but "chunked" are
// refused. Pure functions of their input; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/core/status.h"

namespace cloister {

// The largest request head (request line and headers) accepted.
inline constexpr size_t kMaxHeadBytes = 16 * 1024;
// The most header lines accepted in a head or a chunked trailer.
inline constexpr size_t kMaxHeaderCount = 100;

struct RequestHead {
  std::string method;
  std::string target;     // as sent: origin-form "/path?query" (or absolute-form)
  int minor_version = 1;  // HTTP/1.<minor_version>: 0 or 1
  std::vector<std::pair<std::string, std::string>>
      headers;  // names lowercased, values trimmed, in order
  std::optional<uint64_t> content_length;
  bool chunked = false;          // Transfer-Encoding: chunked
  bool keep_alive = true;        // from the version and the Connection header
  bool expect_continue = false;  // Expect: 100-continue

  // The last value of header `name` (lowercase), or "".
  std::string Header(std::string_view name) const;
};

enum class HeadScan {
  kIncomplete,  // no blank line yet, and still under kMaxHeadBytes
  kComplete,    // *head_end is set
  kTooLarge,    // kMaxHeadBytes read without the blank line that ends the head
};

// Looks for the blank line that ends a head at the start of `data` (empty
// lines before the request line are skipped, RFC 9112 section 2.2, but
// count toward kMaxHeadBytes, so endless empty lines end in kTooLarge). On
// kComplete, *head_end is the offset just past it: the body or the next
// request starts there.
HeadScan ScanHead(std::string_view data, size_t* head_end);

// Parses a complete head as found by ScanHead. invalid_argument naming the
// fault for anything malformed; the caller answers 400 and closes.
Result<RequestHead> ParseRequestHead(std::string_view head);

// Decodes a chunked body as its bytes arrive. Chunk extensions are skipped;
// trailer fields are read and dropped.
class ChunkedDecoder {
 public:
  // Consumes bytes from the front of `in`, appending the decoded data to
  // `out` (or dropping it when `out` is null). Returns how many bytes of `in`
  // were consumed: all of them unless done() became true, in which case the
  // rest belongs to the next request. invalid_argument on a malformed chunk
  // size, a missing CRLF after chunk data, or an oversized line or trailer.
  Result<size_t> Feed(std::string_view in, std::string* out);

  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  Status EndOfLine(std::string_view line);

  State state_ = State::kSize;
  std::string line_;        // the size or trailer line being assembled
  uint64_t remaining_ = 0;  // data bytes left in the current chunk
  size_t trailer_lines_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace cloister
