#include "detector/flow_verdict.h"

#include <gtest/gtest.h>

TEST(FlowVerdictTest, Placeholder) {}
