// Making text from the appliance or from stored data safe to print on a
// terminal. Every value cloisterctl prints that it did not write itself
// (names, reasons, comments, messages, server errors, table cells, file
// contents) goes through these functions, so no value can move the cursor,
// clear the screen, set the window title or start a line of its own.
//
// What is escaped, and how:
//   - C0 controls U+0000..U+001F (ESC, CR, LF, TAB included) and DEL: "\xNN"
//   - C1 controls U+0080..U+009F: "\u{NN}"
//   - characters that reorder or break lines without being controls
//     (U+200E, U+200F, U+2028, U+2029, U+202A..U+202E, U+2066..U+2069): "\u{NNNN}"
//   - each byte that is not part of well-formed UTF-8 (overlong forms,
//     surrogates, beyond U+10FFFF, cut short): "\xNN"
// Everything else (printable ASCII, other well-formed UTF-8) is kept.
//
// All functions are pure and thread-safe, except InstallTerminalFilter.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/json.h"

namespace cloister {

// One value printed inside a line: every control escaped, newlines and tabs too.
std::string TerminalSafe(std::string_view value);

// A document printed as lines (a policy's YAML, a stored definition):
// newlines and tabs are kept, everything else escaped as TerminalSafe does.
std::string TerminalSafeLines(std::string_view text);

// A copy of `value` whose strings and object keys are all TerminalSafe; the
// form of an API answer that text output reads from.
Json TerminalSafeJson(const Json& value);

// `value` as indented JSON for --json output: valid JSON whatever the
// strings hold (controls and every non-ASCII character as \uXXXX, invalid
// UTF-8 replaced by U+FFFD), never throws.
std::string TerminalJson(const Json& value);

// Puts a filter in front of std::cout and std::cerr that treats everything
// written as TerminalSafeLines does: a second line of defence, so text that
// reaches a stream without going through TerminalSafe still cannot carry
// ESC, CR or other controls. The returned object restores the streams when
// destroyed. Call once, from main, before anything is printed.
class TerminalFilter;
struct TerminalFilterDeleter {
  void operator()(TerminalFilter* filter) const;
};
std::unique_ptr<TerminalFilter, TerminalFilterDeleter> InstallTerminalFilter();

}  // namespace cloister
