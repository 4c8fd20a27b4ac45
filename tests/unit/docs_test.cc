// The fixed sets the exporter exports are documented: every factor in docs/risks.md (with an
// anchor), every blocker and action in docs/gate.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "assess/assessment.h"
#include "assess/gate.h"

namespace redis_ha {
namespace {

std::string Read(const std::string& rel) {
  std::ifstream in(std::string(SOURCE_DIR) + "/" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(DocsTest, EveryFactorIsDocumentedWithItsLevelAndAnchor) {
  const std::string doc = Read("docs/risks.md");
  ASSERT_FALSE(doc.empty());
  auto check = [&](const assess::FactorInfo& f) {
    EXPECT_NE(doc.find("<a id=\"" + std::string(f.name) + "\">"), std::string::npos) << f.name;
    std::string heading = "### `" + std::string(f.name) + "` (level " +
                          std::to_string(static_cast<int>(f.level));
    EXPECT_NE(doc.find(heading), std::string::npos) << heading;
  };
  for (const auto& f : assess::SplitBrainFactors()) check(f);
  for (const auto& f : assess::EmptyPrimaryFactors()) check(f);
}

TEST(DocsTest, EveryBlockerAndActionIsDocumented) {
  const std::string doc = Read("docs/gate.md");
  ASSERT_FALSE(doc.empty());
  for (size_t i = 0; i < assess::kBlockerCount; ++i) {
    std::string name = assess::BlockerName(static_cast<assess::Blocker>(i));
    const std::string row = "| <a id=\"" + name + "\"></a>`" + name + "` | ";
    const auto at = doc.find(row);
    ASSERT_NE(at, std::string::npos) << name;
    // The "actions" column is what BlockerApplies says.
    const auto from = at + row.size();
    const std::string actions = doc.substr(from, doc.find(" |", from) - from);
    for (auto a : assess::kActions) {
      const bool listed =
          actions == "all" || ("," + actions + ",").find(std::string(",") + assess::ActionName(a) + ",") !=
                                  std::string::npos ||
          (", " + actions + ",").find(std::string(", ") + assess::ActionName(a) + ",") !=
              std::string::npos;
      EXPECT_EQ(listed, assess::BlockerApplies(a, static_cast<assess::Blocker>(i)))
          << name << " / " << assess::ActionName(a) << " (column: " << actions << ")";
    }
  }
  for (auto a : assess::kActions) {
    EXPECT_NE(doc.find("| `" + std::string(assess::ActionName(a)) + "` |"), std::string::npos);
  }
}

}  // namespace
}  // namespace redis_ha
