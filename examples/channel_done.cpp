// channel_done — Go's `ch <- "done"`: a task signals completion over a channel.
//
//     ch := make(chan string)
//     go func() { time.Sleep(100 * time.Millisecond); ch <- "done" }()
//     fmt.Println(<-ch)
#include <corio/corio.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

corio::task<> worker(corio::mpsc::sender<std::string> ch) {
    co_await corio::sleep(100ms);
    co_await ch.send("done");
}

corio::task<> async_main() {
    auto [tx, rx] = corio::mpsc::channel<std::string>(1);
    corio::spawn(worker(std::move(tx)));
    auto msg = co_await rx.recv();  // std::nullopt if the worker went away without sending
    std::printf("%s\n", msg ? msg->c_str() : "(channel closed)");
}

int main() {
    corio::run(async_main());
}
