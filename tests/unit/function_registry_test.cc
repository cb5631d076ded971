// HALO_REMOTE's registry: plain functions, actor factories (T* results kept by the worker) and member
// functions called on such an instance, each found by the name HALO_REMOTE recorded.
#include <gtest/gtest.h>

#include "halo/halo.h"

namespace {

class Counter {
 public:
  explicit Counter(int start) : n_(start) {}
  int Add(int d) { return n_ += d; }
  int Value() const { return n_; }
  void Reset() { n_ = 0; }

 private:
  int n_;
};
Counter* MakeCounter(int start) { return new Counter(start); }
int Twice(int x) { return 2 * x; }

HALO_REMOTE(Twice, MakeCounter, &Counter::Add, &Counter::Value, &Counter::Reset);

using halo::internal::Pack;
using halo::internal::Unpack;

TEST(FunctionRegistryTest, PlainFunctionsAreFoundByName) {
  const std::string* name = halo::internal::FunctionName(reinterpret_cast<const void*>(&Twice));
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "Twice");
  const std::string arg = Pack(21);
  EXPECT_EQ(Unpack<int>((*halo::internal::FindInvoker("Twice"))({arg})), 42);
}

TEST(FunctionRegistryTest, ActorFactoryMakesAnInstanceAndMethodsRunOnIt) {
  const std::string* name = halo::internal::FunctionName(reinterpret_cast<const void*>(&MakeCounter));
  ASSERT_NE(name, nullptr);
  const halo::internal::ActorFactory* factory = halo::internal::FindActorFactory(*name);
  ASSERT_NE(factory, nullptr);
  const std::string start = Pack(10);
  std::shared_ptr<void> counter = (*factory)({start});

  const std::string* add = halo::internal::MethodName(&Counter::Add);
  const std::string* value = halo::internal::MethodName(&Counter::Value);
  const std::string* reset = halo::internal::MethodName(&Counter::Reset);
  ASSERT_TRUE(add && value && reset);
  EXPECT_EQ(*add, "&Counter::Add");
  const std::string five = Pack(5);
  EXPECT_EQ(Unpack<int>((*halo::internal::FindMethodInvoker(*add))(counter.get(), {five})), 15);
  EXPECT_EQ(Unpack<int>((*halo::internal::FindMethodInvoker(*value))(counter.get(), {})), 15);
  (*halo::internal::FindMethodInvoker(*reset))(counter.get(), {});
  EXPECT_EQ(Unpack<int>((*halo::internal::FindMethodInvoker(*value))(counter.get(), {})), 0);
}

TEST(FunctionRegistryTest, WrongArgumentCountIsAnErrorNotACrash) {
  std::shared_ptr<void> counter = (*halo::internal::FindActorFactory("MakeCounter"))({Pack(1)});
  EXPECT_THROW((*halo::internal::FindMethodInvoker("&Counter::Add"))(counter.get(), {}), std::invalid_argument);
  EXPECT_THROW((*halo::internal::FindActorFactory("MakeCounter"))({}), std::invalid_argument);
  EXPECT_EQ(halo::internal::FindActorFactory("Twice"), nullptr);
}

}  // namespace
