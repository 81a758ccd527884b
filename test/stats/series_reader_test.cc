#include "stats/series_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace tw::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Reads text with the given column; returns the values, or sets *error.
bool Read(const std::string& text, const std::string& column, std::vector<double>* out,
          std::string* error) {
  std::istringstream in(text);
  return ReadSeries(in, {.column = column}, out, error);
}

TEST(ReadSeriesTest, OneNumberPerLine) {
  std::vector<double> v;
  std::string error;
  ASSERT_TRUE(Read("1\r\n  2.5 \r\n1e3\n-2.5\n+4\n.5\n7", "", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(1, 2.5, 1000, -2.5, 4, 0.5, 7));
}

TEST(ReadSeriesTest, SkipsBlankAndCommentLines) {
  std::vector<double> v;
  std::string error;
  ASSERT_TRUE(Read("# bins of 1 s\n\n   \n3\n  # more\n4\n\n", "", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(3, 4));
}

TEST(ReadSeriesTest, EmptyInputIsAnEmptySeries) {
  std::vector<double> v = {1};
  std::string error;
  ASSERT_TRUE(Read("", "", &v, &error));
  EXPECT_THAT(v, IsEmpty());
}

TEST(ReadSeriesTest, HeaderOnlyAsFirstNonCommentLine) {
  std::vector<double> v;
  std::string error;
  ASSERT_TRUE(Read("# comment\nrate_bps\r\n10\n20\n", "", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(10, 20));

  EXPECT_FALSE(Read("10\nrate_bps\n20\n", "", &v, &error));
  EXPECT_THAT(error, StartsWith("line 2: "));
  EXPECT_THAT(error, HasSubstr("rate_bps"));
}

TEST(ReadSeriesTest, CsvColumnByIndexAndByName) {
  const std::string csv = "time,bytes,bps\n0,125,1000\n1, 250 ,\"2000\"\n2,375,3e3\n";
  std::vector<double> v;
  std::string error;
  ASSERT_TRUE(Read(csv, "2", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(1000, 2000, 3000));
  ASSERT_TRUE(Read(csv, "bytes", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(125, 250, 375));
  ASSERT_TRUE(Read(csv, "0", &v, &error)) << error;
  EXPECT_THAT(v, ElementsAre(0, 1, 2));
}

TEST(ReadSeriesTest, RejectsNonFiniteValues) {
  std::vector<double> v;
  std::string error;
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "Infinity", "1e999"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Read(std::string("1\n2\n") + bad + "\n", "", &v, &error));
    EXPECT_THAT(error, StartsWith("line 3: "));
  }
  EXPECT_FALSE(Read("nan\n1\n", "", &v, &error));  // not a header either
  EXPECT_THAT(error, StartsWith("line 1: "));
}

TEST(ReadSeriesTest, RejectsMalformedFieldsNamingTheLine) {
  std::vector<double> v;
  std::string error;
  EXPECT_FALSE(Read("1\n2\n12abc\n", "", &v, &error));
  EXPECT_THAT(error, StartsWith("line 3: not a number"));
  EXPECT_FALSE(Read("a,b\n1,2\n3,\n", "1", &v, &error));
  EXPECT_EQ(error, "line 3: empty field");
  EXPECT_FALSE(Read("1,2\n", "", &v, &error));
  EXPECT_THAT(error, StartsWith("line 1: 2 fields"));
  EXPECT_FALSE(Read("1,2\n3\n", "1", &v, &error));
  EXPECT_THAT(error, StartsWith("line 2: 1 fields, column 1"));
  EXPECT_FALSE(Read("# c\ntime,bps\n1,2\n", "rate", &v, &error));
  EXPECT_THAT(error, StartsWith("line 2: no column named 'rate'"));
  EXPECT_FALSE(Read("1\n+-2\n", "", &v, &error));
  EXPECT_THAT(error, StartsWith("line 2: "));
}

TEST(ReadSeriesTest, MissingValuesBecomeNanWhenAllowed) {
  SeriesReadOptions opts{"rate", true};
  std::istringstream in("time,rate\n1,2\n2,\n3,NaN\n4,na\n5,null\n6,7\n");
  std::vector<double> v;
  std::string error;
  ASSERT_TRUE(ReadSeries(in, opts, &v, &error)) << error;
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0], 2);
  for (size_t i = 1; i < 5; ++i) EXPECT_TRUE(std::isnan(v[i])) << i;
  EXPECT_EQ(v[5], 7);
  std::istringstream inf("1\ninf\n");
  EXPECT_FALSE(ReadSeries(inf, opts = {"", true}, &v, &error));  // still not a finite number
  EXPECT_THAT(error, StartsWith("line 2: not a finite number"));
}

TEST(ReadSeriesTest, FailureLeavesOutputUntouched) {
  std::vector<double> v = {42};
  std::string error;
  EXPECT_FALSE(Read("1\n2\nx\n", "", &v, &error));
  EXPECT_THAT(v, ElementsAre(42));
}

}  // namespace
}  // namespace tw::stats
