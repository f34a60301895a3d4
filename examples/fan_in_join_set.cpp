// fan_in_join_set — fan-out to many tasks, fan-in their results in the order they finish.
#include <corio/corio.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// Stands in for a fetch: takes longer for longer "urls".
corio::task<std::size_t> fetch_len(std::string url) {
    co_await corio::sleep(std::chrono::milliseconds(10 * url.size()));
    co_return url.size();
}

corio::task<> async_main() {
    std::vector<std::string> urls = {"example.com/long/page", "a.io", "example.org/x", "b.dev"};
    corio::join_set<std::size_t> set;
    for (auto& url : urls) set.spawn(fetch_len(url));

    std::size_t total = 0;
    while (auto len = co_await set.join_next()) {  // completion order, not spawn order
        std::printf("finished: %zu bytes\n", *len);
        total += *len;
    }
    std::printf("total %zu bytes from %zu fetches\n", total, urls.size());
}

int main() {
    corio::run(async_main());
}
