// corio-bench: the workloads of shared/anchors/WORKLOADS.md, with the anchors' command line
// and RESULT lines, so ../shared/anchors/run.sh measures corio beside tokio, Go and Asio.
//
//   corio-bench <workload> <N>         spawn_park | spawn_join | yield | pingpong |
//                                      chan_1p1c | chan_4p1c | timers
//   corio-bench http <threads> <port>  prints LISTENING, then serves until killed
//   corio-bench table                  the documents' table for corio, smaller N, one run
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <corio/corio.hpp>
#include <corio/net/tcp.hpp>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

constexpr unsigned kWorkers = 2;  // = cores of the measuring machine, as the anchors use

// The drivers spawn up to a million tasks in one poll on purpose; the blocked-worker
// watchdog would (rightly) report that, so it is off here.
corio::runtime_options bench_options(unsigned workers) {
    corio::runtime_options o;
    o.workers = workers;
    o.blocked_worker_threshold = std::chrono::milliseconds(0);
    return o;
}

long status_kb(const char* key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    std::size_t kl = std::strlen(key);
    while (std::getline(f, line))
        if (line.compare(0, kl, key) == 0) return std::atol(line.c_str() + kl);
    return 0;
}
long rss_kb() {
    return status_kb("VmRSS:");
}
long hwm_kb() {
    return status_kb("VmHWM:");
}

struct result {
    double ns_per_op = 0;
    std::string extra;
};

void report(const char* workload, std::size_t n, clk::duration d, const std::string& extra = "") {
    double ns = std::chrono::duration<double, std::nano>(d).count();
    std::printf(
        "RESULT workload=%s runtime=corio n=%zu ns_per_op=%.2f ops_per_s=%.0f wall_ms=%.3f "
        "peak_rss_kb=%ld%s\n",
        workload, n, ns / double(n), double(n) * 1e9 / ns, ns / 1e6, hwm_kb(), extra.c_str());
    std::fflush(stdout);
}

// ---------------------------------------------------------------- W1 spawn_park
struct park_state {
    corio::semaphore gate{0};
    std::atomic<std::size_t> started{0};
};

corio::task<> parker(park_state* st) {
    st->started.fetch_add(1, std::memory_order_relaxed);
    (co_await st->gate.acquire()).forget();
}

corio::task<double> spawn_park_driver(std::size_t n, bool print) {
    long base = rss_kb();
    auto t0 = clk::now();
    park_state st;
    std::vector<corio::join_handle<void>> hs;
    hs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) hs.push_back(corio::spawn(parker(&st)));
    while (st.started.load(std::memory_order_acquire) < n) co_await corio::sleep(1ms);
    long parked = rss_kb();
    st.gate.add_permits(n);
    for (auto& h : hs) co_await h;
    auto d = clk::now() - t0;
    double bpt = double(parked - base) * 1024.0 / double(n);
    if (print) {
        char buf[200];
        std::snprintf(buf, sizeof buf, " base_rss_kb=%ld parked_rss_kb=%ld bytes_per_task=%.1f",
                      base, parked, bpt);
        report("spawn_park_1m", n, d, buf);
    }
    co_return bpt;
}

// ---------------------------------------------------------------- W2 spawn_join
corio::task<std::uint64_t> ret(std::uint64_t i) {
    co_return i;
}

corio::task<clk::duration> spawn_join_driver(std::size_t n) {
    auto t0 = clk::now();
    std::vector<corio::join_handle<std::uint64_t>> hs;
    hs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) hs.push_back(corio::spawn(ret(i)));
    std::uint64_t sum = 0;
    for (auto& h : hs) sum += co_await h;
    auto d = clk::now() - t0;
    if (sum != std::uint64_t(n) * (n - 1) / 2) std::abort();
    co_return d;
}

// ---------------------------------------------------------------- W3 yield
corio::task<clk::duration> yield_driver(std::size_t n) {
    auto t0 = clk::now();
    for (std::size_t i = 0; i < n; ++i) co_await corio::yield_now();
    co_return clk::now() - t0;
}

// ---------------------------------------------------------------- W4 pingpong
corio::task<> echo(corio::mpsc::receiver<std::uint64_t> rx, corio::mpsc::sender<std::uint64_t> tx) {
    while (auto v = co_await rx.recv()) co_await tx.send(*v + 1);
}

corio::task<clk::duration> pingpong_driver(std::size_t n) {
    auto [tx1, rx1] = corio::mpsc::channel<std::uint64_t>(1);
    auto [tx2, rx2] = corio::mpsc::channel<std::uint64_t>(1);
    auto echo_task = corio::spawn(echo(std::move(rx1), std::move(tx2)));
    auto t0 = clk::now();
    std::uint64_t acc = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        co_await tx1.send(i);
        acc += *co_await rx2.recv() - i;
    }
    auto d = clk::now() - t0;
    { auto drop = std::move(tx1); }
    co_await echo_task;
    if (acc != n) std::abort();
    co_return d;
}

// ---------------------------------------------------------------- W5 channel throughput
corio::task<> producer(corio::mpsc::sender<std::uint64_t> tx, std::uint64_t base,
                       std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) co_await tx.send(base + i);
}

struct chan_result {
    clk::duration d;
    std::uint64_t sum;
    std::size_t count;
};

corio::task<chan_result> consumer(corio::mpsc::receiver<std::uint64_t> rx) {
    std::uint64_t sum = 0;
    std::size_t count = 0;
    while (auto v = co_await rx.recv()) {
        sum += *v;
        ++count;
    }
    co_return chan_result{{}, sum, count};
}

corio::task<chan_result> channel_driver(std::size_t n, std::size_t producers) {
    auto t0 = clk::now();
    auto [tx, rx] = corio::mpsc::channel<std::uint64_t>(1024);
    std::size_t per = n / producers;
    for (std::size_t p = 0; p < producers; ++p) corio::spawn(producer(tx, p * per, per));
    { auto drop = std::move(tx); }
    auto r = co_await corio::spawn(consumer(std::move(rx)));
    r.d = clk::now() - t0;
    co_return r;
}

// ---------------------------------------------------------------- W6 timers
corio::task<> sleeper(std::uint64_t ms) {
    co_await corio::sleep(std::chrono::milliseconds(ms));
}

struct timers_result {
    double wall_ms;
    long base_kb;
};

corio::task<timers_result> timers_driver(std::size_t n) {
    long base = rss_kb();
    auto t0 = clk::now();
    std::uint64_t x = 0x2545F4914F6CDD1DULL;
    std::vector<corio::join_handle<void>> hs;
    hs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hs.push_back(corio::spawn(sleeper(1 + x % 100)));
    }
    for (auto& h : hs) co_await h;
    co_return timers_result{std::chrono::duration<double, std::milli>(clk::now() - t0).count(),
                            base};
}

// ---------------------------------------------------------------- W7 http
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

corio::task<> serve_conn(corio::net::tcp_stream s) {
    s.set_nodelay(true);
    std::array<char, 8192> buf;
    std::size_t filled = 0;
    std::string out;
    for (;;) {
        std::size_t r;
        try {
            r = co_await s.read(std::span<char>(buf.data() + filled, buf.size() - filled));
        } catch (const std::system_error&) {
            co_return;
        }
        if (r == 0) co_return;
        filled += r;
        std::size_t count = 0, consumed = 0;
        for (std::size_t i = 0; i + 4 <= filled;) {
            if (std::memcmp(buf.data() + i, "\r\n\r\n", 4) == 0) {
                ++count;
                i += 4;
                consumed = i;
            } else {
                ++i;
            }
        }
        std::memmove(buf.data(), buf.data() + consumed, filled - consumed);
        filled -= consumed;
        if (filled == buf.size()) co_return;  // request too large
        try {
            if (count == 1) {
                co_await s.write_all(kResponse);
            } else if (count > 1) {
                out.clear();
                for (std::size_t i = 0; i < count; ++i) out.append(kResponse);
                co_await s.write_all(out);
            }
        } catch (const std::system_error&) {
            co_return;
        }
    }
}

corio::task<> http_server(std::uint16_t port) {
    auto listener = corio::net::tcp_listener::bind(corio::net::socket_address::loopback_v4(port));
    std::printf("LISTENING port=%u\n", unsigned(port));
    std::fflush(stdout);
    for (;;) {
        try {
            auto [s, peer] = co_await listener.accept();
            corio::spawn(serve_conn(std::move(s)));
        } catch (const std::system_error& e) {
            std::fprintf(stderr, "accept: %s\n", e.what());
        }
    }
}

// ---------------------------------------------------------------- the documents' table
void table() {
    std::printf("corio — the documents' performance table (one run each, this machine)\n\n");
    std::printf("| measure | workload | corio |\n|---|---|---|\n");
    {
        corio::runtime rt{bench_options(kWorkers)};
        std::size_t n = 1'000'000;
        auto t0 = clk::now();
        double bpt = rt.block_on(spawn_park_driver(n, false));
        double ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count() / double(n);
        std::printf("| memory per task | 1M tasks parked at once (W1) | %.0f bytes |\n", bpt);
        std::printf("| 1M tasks | spawn, park, wake, join (W1) | %.0f ns/task, %.0f ms total |\n",
                    ns, ns * double(n) / 1e6);
    }
    {
        corio::runtime rt{bench_options(kWorkers)};
        std::size_t n = 1'000'000;
        double ns =
            std::chrono::duration<double, std::nano>(rt.block_on(spawn_join_driver(n))).count();
        std::printf("| spawn cost | spawn + join a trivial task (W2) | %.0f ns/task |\n",
                    ns / double(n));
    }
    {
        auto rt = corio::runtime::current_thread();
        std::size_t n = 10'000'000;
        double ns = std::chrono::duration<double, std::nano>(rt.block_on(yield_driver(n))).count();
        std::printf("| context switch | yield_now through the run queue (W3) | %.1f ns |\n",
                    ns / double(n));
    }
    {
        corio::runtime rt{bench_options(kWorkers)};
        auto r = rt.block_on(timers_driver(100'000));
        std::printf(
            "| timers | 100k tasks sleep 1-100 ms (W6) | %.1f ms wall, %.1f ms overhead |\n",
            r.wall_ms, r.wall_ms - 100.0);
    }
    std::printf("\nPeers and ratios: docs/BENCHMARKS.md (bench/compare.sh).\n");
}

std::size_t arg_n(int argc, char** argv, int i, std::size_t def) {
    return argc > i ? std::size_t(std::strtoull(argv[i], nullptr, 10)) : def;
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view w = argc > 1 ? argv[1] : "";
    if (w == "spawn_park") {
        corio::runtime rt{bench_options(kWorkers)};
        rt.block_on(spawn_park_driver(arg_n(argc, argv, 2, 1'000'000), true));
    } else if (w == "spawn_join") {
        std::size_t n = arg_n(argc, argv, 2, 1'000'000);
        corio::runtime rt{bench_options(kWorkers)};
        report("spawn_join_1m", n, rt.block_on(spawn_join_driver(n)));
    } else if (w == "yield") {
        std::size_t n = arg_n(argc, argv, 2, 10'000'000);
        auto rt = corio::runtime::current_thread();
        report("yield", n, rt.block_on(yield_driver(n)));
    } else if (w == "pingpong") {
        std::size_t n = arg_n(argc, argv, 2, 1'000'000);
        auto rt = corio::runtime::current_thread();
        report("pingpong", n, rt.block_on(pingpong_driver(n)));
    } else if (w == "chan_1p1c" || w == "chan_4p1c") {
        std::size_t n = arg_n(argc, argv, 2, 10'000'000);
        std::size_t producers = w == "chan_1p1c" ? 1 : 4;
        corio::runtime rt{bench_options(kWorkers)};
        auto r = rt.block_on(channel_driver(n, producers));
        std::size_t total = n / producers * producers;
        if (r.count != total || r.sum != std::uint64_t(total) * (total - 1) / 2) std::abort();
        report(w == "chan_1p1c" ? "chan_1p1c" : "chan_4p1c", total, r.d);
    } else if (w == "timers") {
        std::size_t n = arg_n(argc, argv, 2, 100'000);
        corio::runtime rt{bench_options(kWorkers)};
        auto r = rt.block_on(timers_driver(n));
        long hwm = hwm_kb();
        std::printf(
            "RESULT workload=timers runtime=corio n=%zu wall_ms=%.3f overhead_ms=%.3f "
            "peak_rss_kb=%ld bytes_per_task=%.1f\n",
            n, r.wall_ms, r.wall_ms - 100.0, hwm, double(hwm - r.base_kb) * 1024.0 / double(n));
    } else if (w == "http") {
        unsigned threads = unsigned(arg_n(argc, argv, 2, 1));
        auto port = std::uint16_t(arg_n(argc, argv, 3, 18080));
        if (threads <= 1) {
            auto rt = corio::runtime::current_thread();
            rt.block_on(http_server(port));
        } else {
            corio::runtime rt{bench_options(threads)};
            rt.block_on(http_server(port));
        }
    } else if (w == "table") {
        table();
    } else {
        std::fprintf(stderr,
                     "usage: corio-bench <spawn_park|spawn_join|yield|pingpong|chan_1p1c|chan_4p1c|"
                     "timers> [n] | http <threads> <port> | table\n");
        return 2;
    }
    return 0;
}
