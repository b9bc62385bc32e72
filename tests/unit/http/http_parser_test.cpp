#include "appliance/http/http_parser.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

Result<RequestHead> Parse(const std::string& head) { return ParseRequestHead(head); }

TEST(HttpParserTest, ParsesARequestHead) {
  auto h = Parse(
      "POST /v1/sys/unseal?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type:  application/json \r\n"
      "Content-Length: 12\r\nX-Request-Id: r1\r\n\r\n");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->target, "/v1/sys/unseal?x=1");
  EXPECT_EQ(h->minor_version, 1);
  EXPECT_EQ(h->Header("content-type"), "application/json");
  EXPECT_EQ(h->Header("x-request-id"), "r1");
  EXPECT_EQ(h->content_length, 12u);
  EXPECT_FALSE(h->chunked);
  EXPECT_TRUE(h->keep_alive);
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnection) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")->keep_alive);
  EXPECT_FALSE(
      Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n")->keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n")->keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")->keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")->expect_continue);
}

TEST(HttpParserTest, SkipsEmptyLinesBeforeTheRequestLine) {
  auto h = Parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->target, "/");
}

TEST(HttpParserTest, RefusesMalformedRequestLines) {
  for (const char* head :
       {"GET\r\n\r\n", "GET /\r\n\r\n", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / http/1.1\r\nHost: a\r\n\r\n", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\tx HTTP/1.1\r\nHost: a\r\n\r\n", "\r\n\r\n"}) {
    EXPECT_FALSE(Parse(head).ok()) << head;
  }
}

TEST(HttpParserTest, RefusesHeaderFolding) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  continued\r\n\r\n").ok());
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tcontinued\r\n\r\n").ok());
}

TEST(HttpParserTest, RefusesMalformedHeaderLines) {
  for (const char* head :
       {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n",  // space before the colon
        "GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nX-B: c\r\n\r\n",  // bare LF
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rX-B: c\r\n\r\n",  // bare CR
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n"}) {
    EXPECT_FALSE(Parse(head).ok()) << head;
  }
  using namespace std::string_literals;
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n"s).ok());
}

TEST(HttpParserTest, RefusesAmbiguousBodyFraming) {
  // Request smuggling: two parsers could pick different lengths.
  for (const char* head : {
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
           "chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
       }) {
    EXPECT_FALSE(Parse(head).ok()) << head;
  }
  auto chunked = Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_TRUE(chunked.ok());
  EXPECT_TRUE(chunked->chunked);
}

TEST(HttpParserTest, RequiresOneHostInHttp11) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\n\r\n").ok());
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").ok());
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\n\r\n").ok());
}

TEST(HttpParserTest, RefusesTooManyHeaders) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 0; i < kMaxHeaderCount; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_FALSE(Parse(head + "\r\n").ok());
}

TEST(HttpParserTest, ScanFindsTheEndOfTheHeadAndKeepsWhatFollows) {
  const std::string data = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
  size_t end = 0;
  ASSERT_EQ(ScanHead(data, &end), HeadScan::kComplete);
  EXPECT_EQ(data.substr(end), "GET /next");
  EXPECT_EQ(ScanHead("GET / HTTP/1.1\r\nHost: a\r\n", &end), HeadScan::kIncomplete);
  EXPECT_EQ(ScanHead("", &end), HeadScan::kIncomplete);
}

TEST(HttpParserTest, ScanRefusesAnOversizedHead) {
  std::string data = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(kMaxHeadBytes, 'a');
  size_t end = 0;
  EXPECT_EQ(ScanHead(data, &end), HeadScan::kTooLarge);
  EXPECT_EQ(ScanHead(data + "\r\n\r\n", &end), HeadScan::kTooLarge);
  EXPECT_FALSE(Parse(data + "\r\n\r\n").ok());
}

TEST(HttpParserTest, EndlessEmptyLinesBeforeTheRequestLineAreAnOversizedHead) {
  size_t end = 0;
  std::string blank_lines;
  while (blank_lines.size() < kMaxHeadBytes) blank_lines += "\r\n";
  EXPECT_EQ(ScanHead(blank_lines, &end), HeadScan::kTooLarge);
  EXPECT_EQ(ScanHead(blank_lines + blank_lines, &end), HeadScan::kTooLarge);
  // Empty lines and the head after them are measured together.
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const size_t fits = (kMaxHeadBytes - head.size()) / 2;  // empty lines that still fit
  EXPECT_EQ(ScanHead(blank_lines.substr(0, 2 * fits) + head, &end), HeadScan::kComplete);
  EXPECT_EQ(ScanHead(blank_lines.substr(0, 2 * (fits + 1)) + head, &end), HeadScan::kTooLarge);
  ASSERT_EQ(ScanHead("\r\n\r\n" + head, &end), HeadScan::kComplete);
  EXPECT_EQ(end, head.size() + 4);
}

std::string Decode(const std::string& wire, Status* status = nullptr, size_t* used = nullptr,
                   bool* done = nullptr) {
  ChunkedDecoder decoder;
  std::string out;
  auto r = decoder.Feed(wire, &out);
  if (status) *status = r.status();
  if (used && r.ok()) *used = *r;
  if (done) *done = decoder.done();
  return out;
}

TEST(HttpParserTest, DecodesChunkedBodies) {
  size_t used = 0;
  bool done = false;
  Status st;
  const std::string wire = "5;ext=1\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
  EXPECT_EQ(Decode(wire, &st, &used, &done), "hello, chunked!");
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(done);
  EXPECT_EQ(wire.substr(used), "NEXT");
}

TEST(HttpParserTest, DecodesChunkedBodiesByteByByte) {
  const std::string wire = "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
  ChunkedDecoder decoder;
  std::string out;
  for (char c : wire) {
    ASSERT_FALSE(decoder.done());
    auto used = decoder.Feed(std::string_view(&c, 1), &out);
    ASSERT_TRUE(used.ok()) << used.status().ToString();
    EXPECT_EQ(*used, 1u);
  }
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(out, "abcd");
}

TEST(HttpParserTest, RefusesBadChunkSizes) {
  for (const char* wire :
       {"\r\n", "g\r\n", "-1\r\n", "0x5\r\nhello\r\n", " 5\r\nhello\r\n", "5 \r\nhello\r\n",
        "ffffffffffffffffff\r\n", "5\nhello\r\n", "5\r\nhelloXX\r\n", "5\r\nhello\n0\r\n\r\n",
        "0\r\nbad trailer\r\n\r\n", "0\r\n folded: x\r\n\r\n"}) {
    Status st;
    Decode(wire, &st);
    EXPECT_FALSE(st.ok()) << wire;
  }
  Status st;
  Decode(std::string(5000, '1'), &st);  // an endless size line
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace cloister
