// semaphore_jobs — 100 jobs, at most 20 running at any moment.
#include <corio/corio.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

corio::task<> job(corio::semaphore& limit, std::atomic<int>& running, std::atomic<int>& peak) {
    auto permit = co_await limit.acquire();  // waits while 20 jobs hold a permit
    int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    co_await corio::sleep(10ms);  // the work
    --running;
}  // the permit is released here

corio::task<> async_main() {
    corio::semaphore limit{20};
    std::atomic<int> running{0}, peak{0};
    std::vector<corio::join_handle<void>> jobs;
    auto start = corio::clock::now();
    for (int i = 0; i < 100; ++i) jobs.push_back(corio::spawn(job(limit, running, peak)));
    for (auto& j : jobs) co_await j;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(corio::clock::now() - start);
    // 100 jobs of 10 ms, 20 at a time: about 5 rounds, 50 ms.
    std::printf("100 jobs done in %lld ms, at most %d at once\n",
                static_cast<long long>(ms.count()), peak.load());
}

int main() {
    corio::run(async_main());
}
