// fan_out — spawn five tasks that run concurrently, then await every join_handle (fan-in).
//
// Each task sleeps a different time, so they finish in reverse order; the results are still
// collected in spawn order, and the whole run takes as long as the slowest task, not the sum.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

corio::task<int> work(int i) {
    co_await corio::sleep((6 - i) * 20ms);  // task 1 sleeps 100 ms, task 5 sleeps 20 ms
    std::printf("  task %d finished\n", i);
    co_return i* i;
}

corio::task<> fan_out() {
    const auto start = corio::clock::now();

    std::vector<corio::join_handle<int>> handles;
    for (int i = 1; i <= 5; ++i) handles.push_back(corio::spawn(work(i)));  // runs on any worker

    int total = 0;
    for (std::size_t i = 0; i < handles.size(); ++i) {
        int value = co_await handles[i];  // a task's exception would be rethrown here
        std::printf("task %zu returned %d\n", i + 1, value);
        total += value;
    }

    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(corio::clock::now() - start);
    std::printf("total %d in %lld ms (the five sleeps add up to 300 ms)\n", total,
                static_cast<long long>(elapsed.count()));
}

int main() {
    corio::run(fan_out());
}
