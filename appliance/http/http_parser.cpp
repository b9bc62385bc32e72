#include "appliance/http/http_parser.h"

#include <algorithm>

namespace cloister {
namespace {

constexpr std::string_view kCrlf = "\r\n";

size_t SkipEmptyLines(std::string_view data) {
  size_t pos = 0;
  while (data.substr(pos, 2) == kCrlf) pos += 2;
  return pos;
}

bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return IsTchar(static_cast<unsigned char>(c)); });
}

// Field values: visible characters, spaces, tabs and obs-text; no CR, LF,
// NUL or other controls.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
bool ListHas(std::string_view value, std::string_view token) {
  const std::string lower = Lower(value);
  size_t start = 0;
  while (start <= lower.size()) {
    const size_t comma = std::min(lower.find(',', start), lower.size());
    if (Trim(std::string_view(lower).substr(start, comma - start)) == token) return true;
    start = comma + 1;
  }
  return false;
}

Status Malformed(const std::string& what) {
  return Status::InvalidArgument("malformed request head: " + what);
}

Status ParseRequestLine(std::string_view line, RequestHead& head) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Malformed("the request line is not \"METHOD target HTTP/1.x\"");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Malformed("the method is not a token");
  if (target.empty() ||
      !std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Malformed("the request target is empty or holds spaces or control characters");
  }
  if (version == "HTTP/1.1") {
    head.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head.minor_version = 0;
  } else {
    return Malformed("unsupported protocol version");
  }
  head.method = std::string(method);
  head.target = std::string(target);
  return Status::Ok();
}

Result<uint64_t> ParseContentLength(std::string_view value) {
  if (value.empty() || value.size() > 18 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Malformed("Content-Length is not a decimal number");
  }
  uint64_t n = 0;
  for (char c : value) n = n * 10 + static_cast<uint64_t>(c - '0');
  return n;
}

// Checks one header line and splits it into a lowercased name and a trimmed value.
Status ParseHeaderLine(std::string_view line, std::pair<std::string, std::string>& out) {
  if (line.front() == ' ' || line.front() == '\t') return Malformed("obsolete line folding");
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Malformed("a header line without a colon");
  const std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return Malformed("a header name that is not a token");
  const std::string_view value = Trim(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Malformed("control characters in header " + std::string(name));
  out = {Lower(name), std::string(value)};
  return Status::Ok();
}

// Derives the framing fields from the parsed headers.
Status ApplyHeaders(RequestHead& head) {
  int lengths = 0, encodings = 0, hosts = 0;
  bool close = false, keep_alive = false;
  for (const auto& [name, value] : head.headers) {
    if (name == "content-length") {
      if (++lengths > 1) return Malformed("more than one Content-Length");
      CL_ASSIGN_OR_RETURN(uint64_t n, ParseContentLength(value));
      head.content_length = n;
    } else if (name == "transfer-encoding") {
      if (++encodings > 1) return Malformed("more than one Transfer-Encoding");
      if (Lower(value) != "chunked")
        return Malformed("unsupported Transfer-Encoding \"" + value + "\"");
      head.chunked = true;
    } else if (name == "host") {
      if (++hosts > 1) return Malformed("more than one Host");
    } else if (name == "connection") {
      close |= ListHas(value, "close");
      keep_alive |= ListHas(value, "keep-alive");
    } else if (name == "expect") {
      head.expect_continue = Lower(value) == "100-continue";
    }
  }
  if (head.chunked && head.content_length)
    return Malformed("both Content-Length and Transfer-Encoding");
  if (head.chunked && head.minor_version == 0)
    return Malformed("Transfer-Encoding in an HTTP/1.0 request");
  if (head.minor_version == 1 && hosts == 0) return Malformed("no Host header");
  head.keep_alive = !close && (head.minor_version == 1 || keep_alive);
  return Status::Ok();
}

}  // namespace

std::string RequestHead::Header(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return "";
}

HeadScan ScanHead(std::string_view data, size_t* head_end) {
  // Empty lines before the request line count toward the limit: a client
  // sending nothing but CRLFs reaches it like any other oversized head.
  const size_t start = SkipEmptyLines(data);
  const size_t blank = data.find("\r\n\r\n", start);
  if (blank != std::string_view::npos && blank + 4 <= kMaxHeadBytes) {
    *head_end = blank + 4;
    return HeadScan::kComplete;
  }
  return data.size() >= kMaxHeadBytes ? HeadScan::kTooLarge : HeadScan::kIncomplete;
}

Result<RequestHead> ParseRequestHead(std::string_view head) {
  head.remove_prefix(SkipEmptyLines(head));
  if (head.size() > kMaxHeadBytes)
    return Malformed("larger than " + std::to_string(kMaxHeadBytes) + " bytes");
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n")
    return Malformed("not ended by a blank line");
  head.remove_suffix(2);  // every line, the last one included, now ends in CRLF
  RequestHead out;
  bool first = true;
  while (!head.empty()) {
    const size_t eol = head.find(kCrlf);
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    // A CR or LF inside a line is a bare one: refused rather than guessed at.
    if (line.find_first_of("\r\n") != std::string_view::npos) return Malformed("a bare CR or LF");
    if (first) {
      CL_RETURN_IF_ERROR(ParseRequestLine(line, out));
      first = false;
      continue;
    }
    if (out.headers.size() == kMaxHeaderCount)
      return Malformed("more than " + std::to_string(kMaxHeaderCount) + " headers");
    std::pair<std::string, std::string> field;
    CL_RETURN_IF_ERROR(ParseHeaderLine(line, field));
    out.headers.push_back(std::move(field));
  }
  if (first) return Malformed("no request line");
  CL_RETURN_IF_ERROR(ApplyHeaders(out));
  return out;
}

Result<size_t> ChunkedDecoder::Feed(std::string_view in, std::string* out) {
  constexpr size_t kMaxLine = 4096;
  size_t used = 0;
  while (used < in.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - used));
      if (out) out->append(in.data() + used, n);
      used += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    // kSize, kDataEnd and kTrailer consume whole lines.
    const char c = in[used++];
    line_ += c;
    if (line_.size() > kMaxLine)
      return Status::InvalidArgument("malformed chunked body: a line over 4 KiB");
    if (c != '\n') continue;
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
      return Status::InvalidArgument("malformed chunked body: a bare LF");
    }
    const std::string line = line_.substr(0, line_.size() - 2);
    line_.clear();
    CL_RETURN_IF_ERROR(EndOfLine(line));
  }
  return used;
}

Status ChunkedDecoder::EndOfLine(std::string_view line) {
  if (state_ == State::kDataEnd) {
    if (!line.empty())
      return Status::InvalidArgument("malformed chunked body: chunk data longer than its size");
    state_ = State::kSize;
    return Status::Ok();
  }
  if (state_ == State::kTrailer) {
    if (line.empty()) {
      state_ = State::kDone;
      return Status::Ok();
    }
    trailer_bytes_ += line.size();
    std::pair<std::string, std::string> field;
    if (++trailer_lines_ > kMaxHeaderCount || trailer_bytes_ > kMaxHeadBytes) {
      return Status::InvalidArgument("malformed chunked body: trailer too large");
    }
    return ParseHeaderLine(line, field);
  }
  // The size line: hex digits, then optionally ";extension".
  const std::string_view size = line.substr(0, line.find(';'));
  if (size.empty() || size.size() > 15)
    return Status::InvalidArgument("malformed chunked body: bad chunk size");
  uint64_t n = 0;
  for (char c : size) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return Status::InvalidArgument("malformed chunked body: bad chunk size");
    }
    n = n * 16 + static_cast<uint64_t>(digit);
  }
  remaining_ = n;
  state_ = n == 0 ? State::kTrailer : State::kData;
  return Status::Ok();
}

}  // namespace cloister
