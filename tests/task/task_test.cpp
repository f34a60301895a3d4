#include <gtest/gtest.h>

#include <corio/corio.hpp>

using namespace std::chrono_literals;

namespace {
corio::task<int> answer() { co_return 42; }
corio::task<int> twice() {
    int a = co_await answer();
    co_return a * 2;
}
}  // namespace

TEST(task, value_through_await) {
    corio::runtime rt{{.workers = 2}};
    EXPECT_EQ(rt.block_on(twice()), 84);
}

TEST(task, current_thread) {
    auto rt = corio::runtime::current_thread();
    EXPECT_EQ(rt.block_on(twice()), 84);
}
