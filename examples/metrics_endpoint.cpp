// metrics_endpoint — a runtime serving its own metrics and task dump over HTTP.
//
//     ./metrics_endpoint 127.0.0.1:9090 &
//     curl http://127.0.0.1:9090/metrics     # Prometheus text
//     curl http://127.0.0.1:9090/dump        # every task: state, what it waits on, where
//
// With --self-test it scrapes itself once with a corio TCP client and exits.
#include <corio/corio.hpp>

#include <cstdio>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

corio::task<> worker(corio::mpsc::receiver<int> rx) {
    while (auto job = co_await rx.recv()) co_await corio::sleep(std::chrono::milliseconds(*job));
}

corio::task<std::string> http_get(std::string address, std::string path) {
    auto s = co_await corio::net::tcp_stream::connect(address);
    co_await s.write_all("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string body;
    char buf[4096];
    while (std::size_t n = co_await s.read(std::span<char>(buf))) body.append(buf, n);
    co_return body;
}

corio::task<> async_main(std::string address, bool self_test) {
    auto [tx, rx] = corio::mpsc::channel<int>(16);
    auto w = corio::spawn(worker(std::move(rx)), {.name = "worker"});
    for (int i = 0; i < 5; ++i) co_await tx.send(10);
    std::printf("serving metrics on http://%s/metrics and /dump\n", address.c_str());
    if (self_test) {
        std::string metrics = co_await http_get(address, "/metrics");
        std::string dump = co_await http_get(address, "/dump");
        for (std::string_view sample :
             {"\ncorio_tasks_live ", "\ncorio_worker_polls_total{worker=\"0\"} "}) {
            auto at = metrics.find(sample);
            std::printf("%s\n",
                        at == std::string::npos
                            ? "missing!"
                            : metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1).c_str());
        }
        auto at = dump.find("task ");
        std::printf("dump: %s\n", dump.substr(at, dump.find('\n', at) - at).c_str());
    } else {
        co_await corio::sleep(std::chrono::hours(24));
    }
    { auto done = std::move(tx); }
    co_await w;
}

int main(int argc, char** argv) {
    corio::runtime_options opts;
    opts.metrics_address = argc > 1 ? argv[1] : "127.0.0.1:9090";
    bool self_test = argc > 2 && std::string_view(argv[2]) == "--self-test";
    try {
        corio::runtime rt{opts};
        rt.block_on(async_main(rt.metrics_address(), self_test));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "metrics_endpoint: %s\n", e.what());
        return 1;
    }
}
