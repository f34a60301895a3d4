// counter_generator — a synchronous generator (a range) and an async one (it sleeps).
//
// corio::generator<T> is a lazy std::ranges input range: the body runs up to each co_yield
// as the loop asks for the next value. corio::async_generator<T> can also co_await (here a
// sleep): the consuming task pulls it with `while (auto v = co_await g.next())` and parks,
// not the thread, while the generator waits.
#include <corio/corio.hpp>
#include <corio/gen/async_generator.hpp>
#include <corio/gen/generator.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

corio::generator<int> counter() {
    for (int i = 0; i < 3; ++i) co_yield i;
}

corio::async_generator<std::string> ticks(int n, std::chrono::milliseconds every) {
    for (int i = 1; i <= n; ++i) {
        co_await corio::sleep(every);  // parks the consuming task
        co_yield "tick " + std::to_string(i);
    }
}

corio::task<> async_main() {
    const auto start = corio::clock::now();
    auto g = ticks(3, 50ms);
    while (auto line = co_await g.next()) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(corio::clock::now() - start);
        std::printf("%s at %lld ms\n", line->c_str(), static_cast<long long>(ms.count()));
    }
    std::puts("ticks done");
}

int main() {
    for (int v : counter()) std::cout << v << '\n';  // a std::ranges input range
    std::cout.flush();
    corio::run(async_main());
}
