// diagnose_blocking — the documents' pitfall "std::thread::sleep inside async": a task that
// blocks its worker thread stalls every task queued behind it. corio's watchdog notices a
// worker stuck in one poll for longer than runtime_options::blocked_worker_threshold and
// names the task; the fix is spawn_blocking.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;

corio::task<> bad_handler() {
    std::this_thread::sleep_for(300ms);  // blocks the worker: nothing else runs on it
    co_return;
}

corio::task<> good_handler() {
    co_await corio::spawn_blocking([] { std::this_thread::sleep_for(300ms); });  // off the workers
}

// Runs `t` as a named task, so the report can name it.
corio::task<> run_named(corio::task<> t, const char* name) {
    co_await corio::spawn(std::move(t), {.name = name});
}

int main() {
    corio::runtime_options opts;
    opts.workers = 1;
    opts.on_blocked_worker = [](const corio::blocked_worker_report& r) {
        std::printf("watchdog: %s\n", r.to_string().c_str());
    };
    corio::runtime rt{opts};
    std::printf("running bad_handler (sleeps on the worker)...\n");
    rt.block_on(run_named(bad_handler(), "bad_handler"));
    std::printf("running good_handler (spawn_blocking)... no report expected\n");
    rt.block_on(run_named(good_handler(), "good_handler"));
    std::printf("done\n");
}
