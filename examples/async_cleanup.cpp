// async_cleanup — the documents' pitfall "async in destructors": a C++ destructor cannot
// co_await. When a corio task is cancelled its destructors still run (synchronously), and
// any later co_await in it throws corio::cancelled_error again. Cleanup that needs to await
// (say goodbye to a peer, flush a log) goes into a task of its own, spawned from the
// destructor or the cancellation handler.
#include <corio/corio.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

struct session {
    std::string name;
    ~session() {
        std::printf("~session(%s): destructor runs on cancellation\n", name.c_str());
        // co_await is impossible here; hand the async part to a task of its own.
        corio::spawn(
            [](std::string who) -> corio::task<> {
                co_await corio::sleep(5ms);  // e.g. send a goodbye message
                std::printf("goodbye sent for %s by a cleanup task\n", who.c_str());
            },
            name);
    }
};

corio::task<> handler() {
    session s{"client-7"};
    bool cancelled = false;
    try {
        co_await corio::sleep(1h);
    } catch (const corio::cancelled_error&) {
        // C++ forbids co_await inside a catch block (like inside a destructor).
        std::printf("handler cancelled\n");
        cancelled = true;
    }
    if (cancelled) {
        try {
            co_await corio::sleep(1ms);  // awaiting again after cancellation...
        } catch (const corio::cancelled_error&) {
            std::printf("...throws cancelled_error again: cancellation is sticky\n");
        }
        throw corio::cancelled_error();
    }
}

corio::task<> async_main() {
    auto h = corio::spawn(handler());
    co_await corio::sleep(10ms);
    h.abort();
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        std::printf("join: the handler ended cancelled\n");
    }
    co_await corio::sleep(20ms);  // let the cleanup task finish
}

int main() {
    corio::run(async_main());
}
