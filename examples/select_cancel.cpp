// select_cancel — the documents' cancel example: a worker waits for work or cancellation;
// cancelling the parent token stops every child that watches it.
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::task<int> watch_for(corio::cancellation_token token, int id) {
    int ticks = 0;
    corio::interval every{20ms};
    for (;;) {
        auto r = co_await corio::select(token.cancelled(), every.tick());
        if (r.index() == 0) {
            std::printf("worker %d: cancelled after %d ticks\n", id, ticks);
            co_return ticks;
        }
        ++ticks;
    }
}

corio::task<> async_main() {
    corio::cancellation_token token;
    auto a = corio::spawn(watch_for(token.child_token(), 1));
    auto b = corio::spawn(watch_for(token.child_token().child_token(), 2));  // a grandchild
    co_await corio::sleep(110ms);
    std::printf("cancelling the parent token\n");
    token.cancel();
    int total = co_await a + co_await b;
    std::printf("both workers stopped (%d ticks in all)\n", total);
}

int main() {
    corio::run(async_main());
}
