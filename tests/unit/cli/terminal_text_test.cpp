#include "appliance/cli/terminal_text.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

namespace cloister {
namespace {

// True when `text` holds no byte a terminal would act on: no C0 control
// other than the allowed ones, no DEL, no C1 control (raw or UTF-8 encoded).
bool Inert(const std::string& text, const std::string& allowed = "") {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 || c == 0x7F) && allowed.find(static_cast<char>(c)) == std::string::npos)
      return false;
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return false;
    }
  }
  return true;
}

TEST(TerminalTextTest, KeepsPlainAndInternationalText) {
  EXPECT_EQ(TerminalSafe("deploy-bot v2: ok (100%)"), "deploy-bot v2: ok (100%)");
  EXPECT_EQ(TerminalSafe("Zürich \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x94\x92"),
            "Zürich \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x94\x92");
  EXPECT_EQ(TerminalSafe(""), "");
  EXPECT_EQ(TerminalSafe("back\\slash"), "back\\slash");
}

TEST(TerminalTextTest, EscapesAnsiSequencesCarriageReturnsAndForgedLines) {
  EXPECT_EQ(TerminalSafe("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(TerminalSafe("ok\rREVOKED"), "ok\\x0dREVOKED");
  EXPECT_EQ(TerminalSafe("name\nforged line"), "name\\x0aforged line");
  EXPECT_EQ(TerminalSafe("a\tb"), "a\\x09b");
  EXPECT_EQ(TerminalSafe(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(TerminalSafe("del\x7f"), "del\\x7f");
  EXPECT_EQ(TerminalSafe("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07");  // window title
}

TEST(TerminalTextTest, EscapesEveryC0ControlAndDel) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string out = TerminalSafe(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(out.size(), 4u) << c;
    EXPECT_TRUE(Inert(out)) << c;
  }
  EXPECT_EQ(TerminalSafe("\x7f"), "\\x7f");
}

TEST(TerminalTextTest, EscapesC1ControlsEncodedInUtf8) {
  EXPECT_EQ(TerminalSafe("\xC2\x9B"
                         "2J"),
            "\\u{9b}2J");                          // CSI
  EXPECT_EQ(TerminalSafe("\xC2\x85"), "\\u{85}");  // NEL
  for (int c = 0x80; c <= 0x9F; ++c) {
    const std::string encoded = {static_cast<char>(0xC2), static_cast<char>(c)};
    EXPECT_TRUE(Inert(TerminalSafe(encoded))) << c;
  }
  EXPECT_EQ(TerminalSafe("\xC2\xA0"), "\xC2\xA0");  // no-break space is text
}

TEST(TerminalTextTest, EscapesLineSeparatorsAndDirectionOverrides) {
  EXPECT_EQ(TerminalSafe("a\xE2\x80\xA8"
                         "b"),
            "a\\u{2028}b");
  EXPECT_EQ(TerminalSafe("\xE2\x80\xAEtxt.exe"), "\\u{202e}txt.exe");
  EXPECT_EQ(TerminalSafe("\xE2\x81\xA6x"), "\\u{2066}x");
}

TEST(TerminalTextTest, EscapesEachByteOfMalformedUtf8) {
  EXPECT_EQ(TerminalSafe("\x9b"
                         "2J"),
            "\\x9b2J");                                                 // a raw 8-bit CSI
  EXPECT_EQ(TerminalSafe("\xC0\x9B"), "\\xc0\\x9b");                    // overlong ESC-like form
  EXPECT_EQ(TerminalSafe("\xE0\x80\x9B"), "\\xe0\\x80\\x9b");           // overlong
  EXPECT_EQ(TerminalSafe("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(TerminalSafe("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(TerminalSafe("\xFF\xFE"), "\\xff\\xfe");
  EXPECT_EQ(TerminalSafe("cut \xE2\x82"), "cut \\xe2\\x82");  // cut short at the end
  EXPECT_EQ(TerminalSafe("\xE2\x1b[2J"), "\\xe2\\x1b[2J");    // cut short by an ESC
}

TEST(TerminalTextTest, LinesKeepNewlinesAndTabsOnly) {
  EXPECT_EQ(TerminalSafeLines("a: 1\n\tb: 2\n"), "a: 1\n\tb: 2\n");
  EXPECT_EQ(TerminalSafeLines("x\r\n\x1b[1A\xC2\x9B"), "x\\x0d\n\\x1b[1A\\u{9b}");
}

TEST(TerminalTextTest, JsonStringsAndKeysAreEscapedAtEveryDepth) {
  const Json in = {{"name", "t\x1b[2J"},
                   {"n", 3},
                   {"items", {{{"comment", "ok\r\nforged line"}}, "x\x7f"}},
                   {"k\x1b", true}};
  const Json out = TerminalSafeJson(in);
  EXPECT_EQ(out["name"], "t\\x1b[2J");
  EXPECT_EQ(out["n"], 3);
  EXPECT_EQ(out["items"][0]["comment"], "ok\\x0d\\x0aforged line");
  EXPECT_EQ(out["items"][1], "x\\x7f");
  EXPECT_TRUE(out.contains("k\\x1b"));
  EXPECT_TRUE(Inert(out.dump()));
}

TEST(TerminalTextTest, JsonOutputIsValidAsciiJsonWhateverTheStrings) {
  const Json in = {{"a", "\x1b[2J\r\nforged line\x7f \xC2\x9B Zürich"},
                   {"bad", std::string("\xFF\xC0", 2)}};
  std::string out;
  ASSERT_NO_THROW(out = TerminalJson(in));
  EXPECT_TRUE(Inert(out, "\n"));
  for (const char c : out) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  const Json back = Json::parse(out);
  EXPECT_EQ(back["a"], in["a"]);                       // nothing lost for valid text
  EXPECT_EQ(back["bad"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD for each bad byte
}

// The stream filter: what is written to std::cout in pieces, a UTF-8
// sequence split between two writes included, comes out escaped.
TEST(TerminalTextTest, FilterEscapesWhatReachesTheStreams) {
  std::FILE* capture = std::tmpfile();
  ASSERT_NE(capture, nullptr);
  std::cout.flush();
  const int saved = dup(STDOUT_FILENO);
  ASSERT_GE(dup2(fileno(capture), STDOUT_FILENO), 0);
  {
    const auto filter = InstallTerminalFilter();
    std::cout << "line one\n"
              << "\x1b[2J"
              << "\rX"
              << "\xE2\x82"
              << "\xAC"
              << "\xC2"
              << "\x9B"
              << "\xF0" << std::flush;
  }
  std::cout.flush();
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  std::rewind(capture);
  std::string got;
  char buf[256];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, capture)) > 0;) got.append(buf, n);
  std::fclose(capture);
  EXPECT_EQ(got, "line one\n\\x1b[2J\\x0dX\xE2\x82\xAC\\u{9b}\\xf0");
}

}  // namespace
}  // namespace cloister
