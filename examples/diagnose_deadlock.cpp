// diagnose_deadlock — the documents' Go deadlock, and a lock-order cycle, diagnosed.
//
//     ch := make(chan int)
//     <-ch          // fatal error: all goroutines are asleep - deadlock!
//
// In corio, block_on throws corio::deadlock_error instead of hanging: it names the wait
// cycle and carries the task dump (what every task waits on, where, and its async backtrace).
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::task<int> receive(corio::mpsc::receiver<int>& rx) {
    auto v = co_await rx.recv();  // nobody will ever send: the only sender is ours
    co_return v ? *v : -1;
}

corio::task<> go_example() {
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    std::printf("received %d\n", co_await receive(rx));
}

corio::task<> lock_order(corio::mutex<int>& first, corio::mutex<int>& second) {
    auto a = co_await first.lock();
    co_await corio::sleep(10ms);  // let the other task take its first lock
    auto b = co_await second.lock();
}

corio::task<> two_mutexes() {
    corio::mutex<int> x, y;
    auto t1 = corio::spawn(lock_order(x, y), {.name = "x-then-y"});
    auto t2 = corio::spawn(lock_order(y, x), {.name = "y-then-x"});
    co_await t1;
    co_await t2;
}

int main() {
    corio::runtime_options opts;
    opts.report_leaked_tasks = false;  // the deadlocked tasks are cancelled at exit anyway
    for (auto* example : {&go_example, &two_mutexes}) {
        corio::runtime rt{opts};
        try {
            rt.block_on(example());
        } catch (const corio::deadlock_error& e) {
            std::printf("%s\n\n%s\n", e.what(), e.dump().c_str());
        }
    }
}
