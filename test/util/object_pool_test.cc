#include "util/object_pool.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace tw::util {
namespace {

// Counts constructions and destructions, and can refuse to be built.
struct Tracked {
  static inline int alive = 0;
  std::string name;
  explicit Tracked(std::string n, bool fail = false) : name(std::move(n)) {
    if (fail) throw std::runtime_error("refused");
    ++alive;
  }
  ~Tracked() { --alive; }
};

TEST(ObjectPoolTest, ObjectsStayPutAndSlotsAreReused) {
  ObjectPool<Tracked, 4> pool;
  std::vector<ObjectPool<Tracked, 4>::Ptr> held;
  std::vector<const Tracked*> where;
  for (int i = 0; i < 10; ++i) {
    held.push_back(pool.Make("flow " + std::to_string(i)));
    where.push_back(held.back().get());
  }
  EXPECT_EQ(Tracked::alive, 10);
  EXPECT_EQ(pool.live(), 10u);
  EXPECT_EQ(pool.capacity(), 12u);  // three chunks of four
  for (int i = 0; i < 10; ++i) {    // growing the pool moved nothing
    EXPECT_EQ(held[size_t(i)].get(), where[size_t(i)]);
    EXPECT_EQ(held[size_t(i)]->name, "flow " + std::to_string(i));
  }
  held[3].reset();
  held[7].reset();
  EXPECT_EQ(Tracked::alive, 8);
  EXPECT_EQ(pool.live(), 8u);
  // The freed slots are taken before the pool grows, the last freed first.
  auto a = pool.Make("a");
  auto b = pool.Make("b");
  EXPECT_EQ(a.get(), where[7]);
  EXPECT_EQ(b.get(), where[3]);
  EXPECT_EQ(pool.capacity(), 12u);
  held.clear();
  a.reset();
  b.reset();
  EXPECT_EQ(Tracked::alive, 0);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(ObjectPoolTest, AConstructorThatThrowsGivesItsSlotBack) {
  ObjectPool<Tracked, 2> pool;
  auto a = pool.Make("a");
  EXPECT_THROW(pool.Make("b", /*fail=*/true), std::runtime_error);
  EXPECT_EQ(pool.live(), 1u);
  auto c = pool.Make("c");
  EXPECT_EQ(pool.capacity(), 2u);  // c took the slot b could not use
  EXPECT_EQ(c->name, "c");
  EXPECT_EQ(Tracked::alive, 2);
}

TEST(ObjectPoolTest, MovingAPointerKeepsItsObject) {
  ObjectPool<Tracked> pool;
  ObjectPool<Tracked>::Ptr empty;
  EXPECT_EQ(empty, nullptr);
  auto a = pool.Make("moved");
  const Tracked* at = a.get();
  empty = std::move(a);
  EXPECT_EQ(empty.get(), at);
  EXPECT_EQ(empty->name, "moved");
  empty.reset();
  EXPECT_EQ(pool.live(), 0u);
}

}  // namespace
}  // namespace tw::util
