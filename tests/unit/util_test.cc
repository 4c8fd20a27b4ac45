// Durations, escaping and the JSON writer.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "util/duration.h"
#include "util/event_fd.h"
#include "util/json.h"
#include "util/key_table.h"
#include "util/text.h"
#include "util/unique_fd.h"

namespace redis_ha {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesPrometheusDurations) {
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("1s"), milliseconds(1000));
  EXPECT_EQ(ParseDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(ParseDuration("2h"), milliseconds(7200000));
  EXPECT_EQ(ParseDuration("1d"), milliseconds(86400000));
  EXPECT_EQ(ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(ParseDuration("1s500ms"), milliseconds(1500));
}

TEST(DurationTest, RejectsEverythingElse) {
  for (const char* bad : {"", "1", "-1s", "1.5s", "s", "1x", "1s1m", "1s1s", "ms",
                          "99999999999999999999s", "1 s", "1S"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationTest, FormatsShortest) {
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatDuration(milliseconds(60000)), "1m");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  for (int64_t ms : {1, 999, 1000, 61001, 3600000, 90061001}) {
    EXPECT_EQ(ParseDuration(FormatDuration(milliseconds(ms))), milliseconds(ms));
  }
}

TEST(TextTest, JsonEscapesControlQuotesScriptAndBadUtf8) {
  EXPECT_EQ(text::JsonString("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(text::EscapeJsonString(std::string("\x01", 1)), "\\u0001");
  EXPECT_EQ(text::EscapeJsonString("</script>"), "\\u003c/script>");
  EXPECT_EQ(text::EscapeJsonString("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(text::EscapeJsonString("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(text::EscapeJsonString("\xC3"), "\xEF\xBF\xBD");
}

TEST(TextTest, Utf8IsStrict) {
  EXPECT_TRUE(text::IsValidUtf8("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  for (const char* bad : {"\xED\xA0\x80", "\xE0\x9F\xBF", "\xF0\x80\x80\x80",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC0\xAF", "\x80"}) {
    EXPECT_FALSE(text::IsValidUtf8(bad)) << bad;
    EXPECT_TRUE(text::IsValidUtf8(text::ToValidUtf8(bad)));
    EXPECT_EQ(text::EscapeJsonString(bad).find(bad), std::string::npos);
  }
  EXPECT_EQ(text::ToValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
}

TEST(TextTest, HtmlEscapes) {
  EXPECT_EQ(text::EscapeHtml("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
}

TEST(JsonWriterTest, WritesNestedDocuments) {
  JsonWriter w;
  w.BeginObject().Field("a", 1).Field("b", "x").Key("c").BeginArray();
  w.Int(1).Null().Bool(true).BeginObject().EndObject().EndArray();
  w.Field("d", std::optional<int64_t>()).Field("e", std::optional<bool>(false));
  w.Field("f", 0.5).EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":"x","c":[1,null,true,{}],"d":null,"e":false,"f":0.5})");
}

TEST(JsonWriterTest, NanIsNull) {
  JsonWriter w;
  w.BeginArray().Number(std::numeric_limits<double>::quiet_NaN()).EndArray();
  EXPECT_EQ(w.str(), "[null]");
}

TEST(EventFdTest, NotifyMakesItReadableUntilDrained) {
  EventFd e;
  ASSERT_GE(e.fd(), 0);
  auto readable = [&] {
    pollfd p{e.fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
  };
  EXPECT_FALSE(readable());
  e.Notify();
  e.Notify();
  EXPECT_TRUE(readable());
  e.Drain();
  EXPECT_FALSE(readable());
}

TEST(UniqueFdTest, ClosesWhatItOwnsOnceAndMovesOwnership) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  auto open = [](int fd) { return ::fcntl(fd, F_GETFD) != -1; };
  {
    UniqueFd read_end(ends[0]);
    UniqueFd moved(std::move(read_end));
    EXPECT_FALSE(read_end);
    EXPECT_EQ(moved.get(), ends[0]);
    UniqueFd other(ends[1]);
    other = std::move(moved);  // closes ends[1], takes ends[0]
    EXPECT_FALSE(open(ends[1]));
    EXPECT_TRUE(open(ends[0]));
  }
  EXPECT_FALSE(open(ends[0]));
  EXPECT_FALSE(UniqueFd());
}

TEST(KeyTableTest, FindsEveryKeyAndNothingElse) {
  static constexpr auto kKeys = std::to_array<std::string_view>(
      {"name", "ip", "port", "runid", "flags", "down-after-milliseconds", "a", "ab", "abc",
       "master_repl_offset", "master_replid", "master_replid2", "", "db0"});
  static constexpr KeyTable<kKeys.size()> kTable(kKeys);
  static_assert(kTable.Find("runid") == 3);  // usable at compile time
  for (size_t i = 0; i < kKeys.size(); ++i) {
    EXPECT_EQ(kTable.Find(kKeys[i]), i) << kKeys[i];
    EXPECT_EQ(kTable.key(i), kKeys[i]);
  }
  for (std::string_view miss : {"nam", "names", "Name", "b", "abcd", "master_replid3", "db",
                                "db00", "port ", " port", "down-after-millisecond"}) {
    EXPECT_EQ(kTable.Find(miss), kTable.kNotFound) << miss;
  }
  // Keys that differ only after an embedded NUL are still different keys.
  EXPECT_EQ(kTable.Find(std::string_view("ip\0x", 4)), kTable.kNotFound);
}


}  // namespace
}  // namespace redis_ha
