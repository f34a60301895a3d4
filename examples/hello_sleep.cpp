// hello_sleep — the first corio program: a lazy task, a timer, and the runtime that runs them.
//
//     $ ./hello_sleep
//     Hello
//     World            (half a second later)
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::task<> say_hello() {  // lazy: nothing runs until awaited or spawned
    std::puts("Hello");
    co_await corio::sleep(500ms);  // parks the task, never the thread
    std::puts("World");
}

int main() {
    corio::run(say_hello());
}  // default multi-thread runtime; returns the task's value
