#include "appliance/cli/terminal_text.h"

#include <cstdint>
#include <iostream>
#include <streambuf>

namespace cloister {
namespace {

enum class Utf8 { kComplete, kIncomplete, kInvalid };

// The UTF-8 sequence at the start of non-empty `s` (RFC 3629: no overlong
// forms, no surrogates, nothing beyond U+10FFFF). kIncomplete when `s` ends
// inside a sequence that could still be well-formed.
Utf8 DecodeUtf8(std::string_view s, size_t* length, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    *length = 1;
    *code_point = lead;
    return Utf8::kComplete;
  }
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    cp = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    cp = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return Utf8::kInvalid;
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= s.size()) return Utf8::kIncomplete;
    const unsigned char b = byte(i);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return Utf8::kInvalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  *length = need;
  *code_point = cp;
  return Utf8::kComplete;
}

// Marks that change the direction or the lines of what follows them.
bool IsLayoutMark(uint32_t cp) {
  return cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void AppendHexByte(unsigned char b, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[b >> 4];
  out += kDigits[b & 0x0F];
}

void AppendCodePoint(uint32_t cp, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), kDigits[cp & 0x0F]);
    cp >>= 4;
  } while (cp != 0);
  out += "\\u{" + digits + "}";
}

// Escapes a byte stream that may arrive in pieces: a sequence cut between
// two pieces waits in pending_ for the rest.
class Escaper {
 public:
  explicit Escaper(bool keep_lines) : keep_lines_(keep_lines) {}

  void Put(char c, std::string& out) {
    pending_ += c;
    Drain(out, false);
  }
  // The end of the input: whatever is pending can no longer be completed.
  void Finish(std::string& out) { Drain(out, true); }

 private:
  void Drain(std::string& out, bool at_end) {
    while (!pending_.empty()) {
      size_t length = 0;
      uint32_t cp = 0;
      const Utf8 state = DecodeUtf8(pending_, &length, &cp);
      if (state == Utf8::kIncomplete && !at_end) return;
      if (state != Utf8::kComplete) {
        // Only the lead byte is escaped; what follows it is read afresh.
        AppendHexByte(static_cast<unsigned char>(pending_[0]), out);
        pending_.erase(0, 1);
        continue;
      }
      Emit(cp, std::string_view(pending_).substr(0, length), out);
      pending_.erase(0, length);
    }
  }

  void Emit(uint32_t cp, std::string_view bytes, std::string& out) const {
    if (cp < 0x20 || cp == 0x7F) {
      if (keep_lines_ && (cp == '\n' || cp == '\t')) {
        out += static_cast<char>(cp);
      } else {
        AppendHexByte(static_cast<unsigned char>(cp), out);
      }
    } else if ((cp >= 0x80 && cp <= 0x9F) || IsLayoutMark(cp)) {
      AppendCodePoint(cp, out);
    } else {
      out.append(bytes);
    }
  }

  const bool keep_lines_;
  std::string pending_;
};

std::string Escape(std::string_view text, bool keep_lines) {
  Escaper escaper(keep_lines);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) escaper.Put(c, out);
  escaper.Finish(out);
  return out;
}

// A stream buffer that escapes what is written to it and passes the result
// on to the buffer it replaced.
class FilterBuf : public std::streambuf {
 public:
  explicit FilterBuf(std::ostream& stream) : stream_(stream), escaper_(true) {
    target_ = stream_.rdbuf(this);
  }
  ~FilterBuf() override {
    std::string out;
    escaper_.Finish(out);
    if (!out.empty()) target_->sputn(out.data(), static_cast<std::streamsize>(out.size()));
    target_->pubsync();
    stream_.rdbuf(target_);
  }
  FilterBuf(const FilterBuf&) = delete;
  FilterBuf& operator=(const FilterBuf&) = delete;

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::string out;
    for (std::streamsize i = 0; i < n; ++i) escaper_.Put(s[i], out);
    const auto size = static_cast<std::streamsize>(out.size());
    return target_->sputn(out.data(), size) == size ? n : 0;
  }
  int sync() override { return target_->pubsync(); }

 private:
  std::ostream& stream_;
  std::streambuf* target_ = nullptr;
  Escaper escaper_;
};

}  // namespace

class TerminalFilter {
 public:
  TerminalFilter() : out_(std::cout), err_(std::cerr) {}

 private:
  FilterBuf out_, err_;
};

void TerminalFilterDeleter::operator()(TerminalFilter* filter) const { delete filter; }

std::unique_ptr<TerminalFilter, TerminalFilterDeleter> InstallTerminalFilter() {
  return std::unique_ptr<TerminalFilter, TerminalFilterDeleter>(new TerminalFilter());
}

std::string TerminalSafe(std::string_view value) { return Escape(value, false); }

std::string TerminalSafeLines(std::string_view text) { return Escape(text, true); }

Json TerminalSafeJson(const Json& value) {
  if (value.is_string()) return TerminalSafe(value.get_ref<const std::string&>());
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& item : value) out.push_back(TerminalSafeJson(item));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) out[TerminalSafe(key)] = TerminalSafeJson(item);
    return out;
  }
  return value;
}

std::string TerminalJson(const Json& value) {
  return value.dump(2, ' ', true, Json::error_handler_t::replace);
}

}  // namespace cloister
