// join_sum — tokio's join!: run two tasks concurrently in the calling task, sum the results.
//
//     let (a, b) = tokio::join!(task1(), task2());
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::task<int> task1() {
    co_await corio::sleep(50ms);
    co_return 1;
}

corio::task<int> task2() {
    co_await corio::sleep(50ms);
    co_return 2;
}

corio::task<> async_main() {
    auto start = corio::clock::now();
    auto [a, b] = co_await corio::join(task1(), task2());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(corio::clock::now() - start);
    // Both slept 50 ms at the same time: about 50 ms in all, not 100.
    std::printf("%d + %d = %d in %lld ms\n", a, b, a + b, static_cast<long long>(ms.count()));
}

int main() {
    corio::run(async_main());
}
