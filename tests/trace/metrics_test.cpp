// Runtime metrics: per-worker polls, steals, parks and busy time; live and spawned tasks,
// pending timers, reactor registrations and blocking threads; the poll-time histogram; the
// Prometheus text format (line by line); and the HTTP endpoint (metrics_address) serving
// /metrics, /dump and /dump.json, queried with curl.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::watchdog;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

corio::runtime_options opts(unsigned workers = 2) {
    corio::runtime_options o;
    o.workers = workers;
    o.report_leaked_tasks = false;
    return o;
}

std::uint64_t total(const corio::runtime_metrics& m, std::uint64_t corio::worker_metrics::*field) {
    std::uint64_t n = 0;
    for (const auto& w : m.workers) n += w.*field;
    return n;
}

// Polls `pred` (bounded); true once it holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return pred();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

bool has_status(const corio::runtime& rt, std::uint64_t id, corio::task_status s) {
    for (const auto& t : rt.tasks())
        if (t.id == id) return t.status == s;
    return false;
}

corio::task<> yields(int n) {
    for (int i = 0; i < n; ++i) co_await corio::yield_now();
}

corio::task<> parks_forever() {
    co_await corio::sleep(1h);
}

template <class T>
corio::task<> join(corio::join_handle<T> h) {
    co_await h;
}

// ---------------------------------------------------------------- counters

TEST(metrics, polls_grow_with_the_work_done) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    auto before = rt.metrics();
    ASSERT_EQ(before.workers.size(), 2u);
    rt.block_on(yields(500));
    auto after = rt.metrics();
    EXPECT_GE(total(after, &corio::worker_metrics::polls),
              total(before, &corio::worker_metrics::polls) + 500)
        << "each yield is a poll";
    auto ct = corio::runtime::current_thread(opts(1));
    ct.block_on(yields(200));
    auto m = ct.metrics();
    ASSERT_EQ(m.workers.size(), 1u);
    EXPECT_GE(m.workers[0].polls, 200u);
}

corio::task<> spins_50us() {
    auto until = std::chrono::steady_clock::now() + 50us;
    while (std::chrono::steady_clock::now() < until) {
    }
    co_return;
}

corio::task<> spawns_many_spinners(int n) {
    std::vector<corio::join_handle<void>> hs;
    hs.reserve(std::size_t(n));
    for (int i = 0; i < n; ++i) hs.push_back(corio::spawn(spins_50us()));
    for (auto& h : hs) co_await h;
}

TEST(metrics, an_idle_worker_steals_from_a_busy_one) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    // One task spawns many short CPU-bound tasks into its worker's queue; the other worker
    // has nothing and steals. (A few rounds, in case the first is too quick to need it.)
    for (int round = 0; round < 10 && total(rt.metrics(), &corio::worker_metrics::steals) == 0;
         ++round)
        rt.block_on(spawns_many_spinners(200));
    auto m = rt.metrics();
    EXPECT_GT(total(m, &corio::worker_metrics::steals), 0u);
    EXPECT_GE(total(m, &corio::worker_metrics::stolen_tasks),
              total(m, &corio::worker_metrics::steals))
        << "each steal takes at least one task";
}

TEST(metrics, spawned_and_live_tasks_are_counted) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    auto m0 = rt.metrics();
    EXPECT_EQ(m0.spawned_tasks, 0u);
    EXPECT_EQ(m0.live_tasks, 0u);
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) hs.push_back(rt.spawn(parks_forever()));
    auto m1 = rt.metrics();
    EXPECT_EQ(m1.spawned_tasks, 5u);
    EXPECT_EQ(m1.live_tasks, 5u);
    EXPECT_EQ(m1.live_tasks, rt.live_tasks());
    for (auto& h : hs) h.abort();
    rt.block_on(yields(1));  // + the block_on root
    EXPECT_EQ(rt.metrics().spawned_tasks, 6u) << "spawned counts every task ever spawned";
    hs.clear();
    EXPECT_TRUE(eventually([&] { return rt.metrics().live_tasks == 0; })) << rt.dump();
    EXPECT_EQ(rt.metrics().spawned_tasks, 6u);
}

TEST(metrics, pending_timers_counts_sleeping_tasks) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    EXPECT_EQ(rt.metrics().pending_timers, 0u);
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(rt.spawn(parks_forever()));
    for (auto& h : hs)
        ASSERT_TRUE(
            eventually([&] { return has_status(rt, h.id(), corio::task_status::waiting); }));
    EXPECT_EQ(rt.metrics().pending_timers, 3u);
    for (auto& h : hs) h.abort();  // a cancelled sleep withdraws its timer
    EXPECT_TRUE(eventually([&] { return rt.metrics().pending_timers == 0; }))
        << rt.metrics().pending_timers;
}

corio::task<> opens_sockets(std::vector<std::uint64_t>* seen) {
    auto& out = *seen;
    out.push_back(corio::current_runtime().metrics().io_registrations);
    {
        auto listener = co_await corio::net::tcp_listener::bind("127.0.0.1:0");
        out.push_back(corio::current_runtime().metrics().io_registrations);
        auto client = co_await corio::net::tcp_stream::connect(listener.local_address());
        auto [server, peer] = co_await listener.accept();
        out.push_back(corio::current_runtime().metrics().io_registrations);
    }
    out.push_back(corio::current_runtime().metrics().io_registrations);
}

TEST(metrics, io_registrations_counts_open_sockets) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    std::vector<std::uint64_t> seen;
    rt.block_on(opens_sockets(&seen));
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[1], seen[0] + 1) << "a listener";
    EXPECT_EQ(seen[2], seen[0] + 3) << "a listener, a client and the accepted stream";
    EXPECT_EQ(seen[3], seen[0]) << "closed sockets are deregistered";
}

corio::task<> runs_a_blocking_job(std::latch* started, std::latch* gate) {
    co_await corio::spawn_blocking([started, gate] {
        started->count_down();
        gate->wait();
    });
}

TEST(metrics, blocking_threads_counts_the_spawn_blocking_pool) {
    watchdog wd(60s);
    std::latch started(1), gate(1);
    corio::runtime rt{opts()};
    EXPECT_EQ(rt.metrics().blocking_threads, 0u);
    struct open_on_exit {
        std::latch& g;
        ~open_on_exit() { g.count_down(); }
    } guard{gate};
    auto h = rt.spawn(runs_a_blocking_job(&started, &gate));
    started.wait();
    auto busy = rt.metrics();
    EXPECT_EQ(busy.blocking_threads, 1u);
    EXPECT_EQ(busy.blocking_idle_threads, 0u);
    gate.count_down();
    rt.block_on(join(std::move(h)));
    EXPECT_TRUE(eventually([&] { return rt.metrics().blocking_idle_threads == 1; }))
        << "the thread stays for blocking_keep_alive, idle";
    EXPECT_EQ(rt.metrics().blocking_threads, 1u);
}

TEST(metrics, idle_workers_park) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    rt.block_on(yields(10));
    EXPECT_TRUE(eventually([&] {
        auto m = rt.metrics();
        return m.workers[0].parks > 0 && m.workers[1].parks > 0;
    })) << "parks: "
        << rt.metrics().workers[0].parks << ", " << rt.metrics().workers[1].parks;
}

corio::task<> spins_for(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
    co_return;
}

TEST(metrics, busy_time_grows_while_a_worker_works) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    ASSERT_TRUE(
        eventually([&] { return total(rt.metrics(), &corio::worker_metrics::parks) >= 2; }));
    std::uint64_t before = total(rt.metrics(), &corio::worker_metrics::busy_ns);
    rt.block_on(spins_for(30ms));
    // Busy time is added when a worker parks again.
    EXPECT_TRUE(eventually([&] {
        return total(rt.metrics(), &corio::worker_metrics::busy_ns) >= before + 30'000'000;
    })) << "busy_ns grew by "
        << total(rt.metrics(), &corio::worker_metrics::busy_ns) - before;
}

// ---------------------------------------------------------------- poll-time histogram

corio::task<> slow_then_fast() {
    std::this_thread::sleep_for(3ms);  // one poll of ~3 ms
    co_await corio::yield_now();
    for (int i = 0; i < 100; ++i) co_await corio::yield_now();
}

void expect_histogram_shape(const corio::runtime_metrics& m) {
    ASSERT_EQ(m.poll_time_bounds_ns.size(), 21u);
    ASSERT_EQ(m.poll_time_counts.size(), m.poll_time_bounds_ns.size() + 1)
        << "one more bucket: the rest";
    EXPECT_EQ(m.poll_time_bounds_ns.front(), 1'000u);
    for (std::size_t i = 1; i < m.poll_time_bounds_ns.size(); ++i)
        EXPECT_EQ(m.poll_time_bounds_ns[i], 2 * m.poll_time_bounds_ns[i - 1]);
}

TEST(metrics, the_poll_time_histogram_counts_every_poll_on_a_current_thread_runtime) {
    watchdog wd(60s);
    corio::runtime_options o = opts(1);
    o.poll_time_histogram = true;
    auto rt = corio::runtime::current_thread(o);
    rt.block_on(slow_then_fast());
    auto m = rt.metrics();
    expect_histogram_shape(m);
    std::uint64_t sum =
        std::accumulate(m.poll_time_counts.begin(), m.poll_time_counts.end(), std::uint64_t{0});
    EXPECT_EQ(sum, total(m, &corio::worker_metrics::polls));
    EXPECT_GE(sum, 102u);
    // The 3 ms poll lands at or above the [2.048 ms, 4.096 ms) bucket.
    ASSERT_EQ(m.poll_time_bounds_ns[11], 2'048'000u);
    std::uint64_t slow = std::accumulate(m.poll_time_counts.begin() + 12, m.poll_time_counts.end(),
                                         std::uint64_t{0});
    EXPECT_GE(slow, 1u);
}

TEST(metrics, the_poll_time_histogram_counts_every_poll_on_a_multi_thread_runtime) {
    watchdog wd(60s);
    corio::runtime_options o = opts();
    o.poll_time_histogram = true;
    corio::runtime rt{o};
    rt.block_on(slow_then_fast());
    // The root's last poll may still be ending when block_on returns.
    std::uint64_t sum = 0, polls = 0;
    EXPECT_TRUE(eventually([&] {
        auto m = rt.metrics();
        sum =
            std::accumulate(m.poll_time_counts.begin(), m.poll_time_counts.end(), std::uint64_t{0});
        polls = total(m, &corio::worker_metrics::polls);
        return sum == polls;
    })) << sum
        << " polls in the histogram, " << polls << " counted";
    auto m = rt.metrics();
    expect_histogram_shape(m);
    EXPECT_GE(sum, 102u);
}

TEST(metrics, the_poll_time_histogram_is_empty_when_off) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    rt.block_on(slow_then_fast());
    auto m = rt.metrics();
    EXPECT_TRUE(m.poll_time_bounds_ns.empty());
    EXPECT_TRUE(m.poll_time_counts.empty());
    EXPECT_FALSE(contains(rt.metrics_prometheus(), "corio_poll_duration_seconds"));
}

// ---------------------------------------------------------------- Prometheus text

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// Parses the text exposition format line by line; every line must be a HELP, a TYPE or a
// sample of a family whose TYPE came first. Adds a failure for each line that is not.
std::vector<sample> parse_prometheus(const std::string& text) {
    std::vector<sample> out;
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
    static const std::regex type(
        R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
    static const std::regex line(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+))");
    static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\"(,|$))");
    EXPECT_TRUE(text.ends_with("\n")) << "the last line ends with a newline";
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        std::smatch m;
        if (std::regex_match(l, m, help)) {
            EXPECT_TRUE(helps.insert(m[1]).second) << "second HELP for " << m[1];
            continue;
        }
        if (std::regex_match(l, m, type)) {
            EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "second TYPE for " << m[1];
            EXPECT_TRUE(helps.count(m[1])) << "TYPE without HELP: " << l;
            continue;
        }
        if (!std::regex_match(l, m, line)) {
            ADD_FAILURE() << "not a Prometheus line: '" << l << "'";
            continue;
        }
        sample s;
        s.name = m[1];
        std::string labels = m[3];
        for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label);
             it != std::sregex_iterator(); ++it)
            s.labels[(*it)[1]] = (*it)[2];
        std::string v = m[4];
        if (v == "+Inf") {
            s.value = HUGE_VAL;
        } else {
            std::size_t used = 0;
            try {
                s.value = std::stod(v, &used);
            } catch (...) {
            }
            EXPECT_EQ(used, v.size()) << "not a number: " << l;
        }
        std::string family = s.name;
        if (!types.count(family)) {
            for (const char* suffix : {"_bucket", "_count", "_sum"})
                if (family.ends_with(suffix) &&
                    types.count(family.substr(0, family.size() - std::strlen(suffix))))
                    family = family.substr(0, family.size() - std::strlen(suffix));
        }
        EXPECT_TRUE(types.count(family)) << "sample before its TYPE line: " << l;
        out.push_back(std::move(s));
    }
    return out;
}

const sample* find_sample(const std::vector<sample>& ss, const std::string& name,
                          const std::map<std::string, std::string>& labels = {}) {
    for (const auto& s : ss)
        if (s.name == name && s.labels == labels) return &s;
    return nullptr;
}

TEST(prometheus, to_prometheus_writes_help_type_and_samples_for_every_field) {
    corio::runtime_metrics m;
    m.workers.push_back({.polls = 7,
                         .steals = 1,
                         .stolen_tasks = 3,
                         .parks = 2,
                         .busy_ns = 1'500'000'000,
                         .local_queue_depth = 4});
    m.workers.push_back({.polls = 9,
                         .steals = 0,
                         .stolen_tasks = 0,
                         .parks = 5,
                         .busy_ns = 250'000,
                         .local_queue_depth = 0});
    m.injection_queue_depth = 6;
    m.live_tasks = 5;
    m.spawned_tasks = 12;
    m.blocking_threads = 3;
    m.blocking_idle_threads = 2;
    m.blocking_queue_depth = 1;
    m.pending_timers = 8;
    m.io_registrations = 4;
    m.poll_time_bounds_ns = {1'000, 2'000};
    m.poll_time_counts = {3, 4, 5};
    std::string text = corio::to_prometheus(m);
    auto ss = parse_prometheus(text);
    struct expect {
        const char* name;
        std::map<std::string, std::string> labels;
        double value;
    };
    const expect expected[] = {
        {"corio_worker_polls_total", {{"worker", "0"}}, 7},
        {"corio_worker_polls_total", {{"worker", "1"}}, 9},
        {"corio_worker_steals_total", {{"worker", "0"}}, 1},
        {"corio_worker_stolen_tasks_total", {{"worker", "0"}}, 3},
        {"corio_worker_parks_total", {{"worker", "1"}}, 5},
        {"corio_worker_busy_seconds_total", {{"worker", "0"}}, 1.5},
        {"corio_worker_busy_seconds_total", {{"worker", "1"}}, 0.00025},
        {"corio_worker_local_queue_depth", {{"worker", "0"}}, 4},
        {"corio_injection_queue_depth", {}, 6},
        {"corio_tasks_live", {}, 5},
        {"corio_tasks_spawned_total", {}, 12},
        {"corio_blocking_threads", {}, 3},
        {"corio_blocking_idle_threads", {}, 2},
        {"corio_blocking_queue_depth", {}, 1},
        {"corio_timers_pending", {}, 8},
        {"corio_io_registrations", {}, 4},
        // Cumulative buckets; +Inf and _count are the total.
        {"corio_poll_duration_seconds_bucket", {{"le", "1e-06"}}, 3},
        {"corio_poll_duration_seconds_bucket", {{"le", "2e-06"}}, 7},
        {"corio_poll_duration_seconds_bucket", {{"le", "+Inf"}}, 12},
        {"corio_poll_duration_seconds_count", {}, 12},
    };
    for (const auto& e : expected) {
        const sample* s = find_sample(ss, e.name, e.labels);
        ASSERT_NE(s, nullptr) << e.name << " missing in\n" << text;
        EXPECT_DOUBLE_EQ(s->value, e.value) << e.name;
    }
    EXPECT_TRUE(contains(text, "# TYPE corio_worker_polls_total counter\n")) << text;
    EXPECT_TRUE(contains(text, "# TYPE corio_tasks_live gauge\n")) << text;
    EXPECT_TRUE(contains(text, "# TYPE corio_poll_duration_seconds histogram\n")) << text;
    EXPECT_TRUE(contains(text, "# HELP corio_tasks_live ")) << text;
}

TEST(prometheus, a_live_runtimes_metrics_parse_and_agree_with_metrics) {
    watchdog wd(60s);
    corio::runtime_options o = opts();
    o.poll_time_histogram = true;
    corio::runtime rt{o};
    auto h = rt.spawn(parks_forever());
    ASSERT_TRUE(eventually([&] { return has_status(rt, h.id(), corio::task_status::waiting); }));
    std::string text = rt.metrics_prometheus();
    auto m = rt.metrics();
    auto ss = parse_prometheus(text);
    const sample* live = find_sample(ss, "corio_tasks_live");
    ASSERT_NE(live, nullptr) << text;
    EXPECT_EQ(live->value, double(m.live_tasks));
    EXPECT_EQ(live->value, 1.0);
    const sample* timers = find_sample(ss, "corio_timers_pending");
    ASSERT_NE(timers, nullptr) << text;
    EXPECT_EQ(timers->value, 1.0);
    for (int w = 0; w < 2; ++w)
        EXPECT_NE(find_sample(ss, "corio_worker_polls_total", {{"worker", std::to_string(w)}}),
                  nullptr)
            << text;
    EXPECT_NE(find_sample(ss, "corio_poll_duration_seconds_bucket", {{"le", "+Inf"}}), nullptr)
        << text;
}

// ---------------------------------------------------------------- the HTTP endpoint

struct http_reply {
    int code = 0;
    std::string content_type;
    std::string body;
};

// GET http://<address><path> with curl.
http_reply curl_get(const std::string& address, const std::string& path) {
    std::string cmd = "curl -s --max-time 20 -o - -w '\\n%{http_code} %{content_type}' 'http://" +
                      address + path + "'";
    http_reply r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
    auto nl = out.rfind('\n');
    if (nl == std::string::npos) return r;
    r.body = out.substr(0, nl);
    std::string tail = out.substr(nl + 1);
    auto sp = tail.find(' ');
    r.code = std::atoi(tail.substr(0, sp).c_str());
    if (sp != std::string::npos) r.content_type = tail.substr(sp + 1);
    return r;
}

TEST(metrics_server, serves_metrics_dump_and_dump_json_over_http) {
    watchdog wd(60s);
    ASSERT_EQ(std::system("curl --version >/dev/null 2>&1"), 0)
        << "curl is needed (scripts/install-deps.sh)";
    corio::runtime_options o = opts();
    o.metrics_address = "127.0.0.1:0";
    corio::runtime rt{o};
    std::string address = rt.metrics_address();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(address, m, std::regex(R"(127\.0\.0\.1:(\d+))"))) << address;
    EXPECT_NE(std::stoi(m[1]), 0) << "the port actually bound, not the 0 asked for";
    auto h = rt.spawn(parks_forever(), {.name = "scraped"});
    ASSERT_TRUE(eventually([&] { return has_status(rt, h.id(), corio::task_status::waiting); }));

    http_reply metrics = curl_get(address, "/metrics");
    EXPECT_EQ(metrics.code, 200);
    EXPECT_TRUE(metrics.content_type.starts_with("text/plain")) << metrics.content_type;
    EXPECT_TRUE(contains(metrics.body, "\ncorio_tasks_live 1\n")) << metrics.body;
    auto ss = parse_prometheus(metrics.body);
    EXPECT_NE(find_sample(ss, "corio_worker_polls_total", {{"worker", "1"}}), nullptr);

    http_reply dump = curl_get(address, "/dump");
    EXPECT_EQ(dump.code, 200);
    EXPECT_TRUE(dump.body.starts_with("corio runtime: 1 live task, 2 workers")) << dump.body;
    EXPECT_TRUE(contains(dump.body, "task " + std::to_string(h.id()) + " \"scraped\" [waiting]"))
        << dump.body;

    http_reply json = curl_get(address, "/dump.json");
    EXPECT_EQ(json.code, 200);
    EXPECT_TRUE(contains(json.content_type, "application/json")) << json.content_type;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(json.body)) << json.body;
    ASSERT_EQ(j.at("tasks").size(), 1u) << json.body;
    EXPECT_EQ(j["tasks"][0].at("id").get<std::uint64_t>(), h.id());
    EXPECT_EQ(j["tasks"][0].at("name").get<std::string>(), "scraped");
    EXPECT_EQ(j["tasks"][0].at("status").get<std::string>(), "waiting");

    http_reply missing = curl_get(address, "/nope");
    EXPECT_EQ(missing.code, 404) << missing.body;
}

TEST(metrics_server, metrics_address_is_empty_when_off) {
    watchdog wd(60s);
    corio::runtime rt{opts()};
    EXPECT_EQ(rt.metrics_address(), "");
}

// A plain listening socket on 127.0.0.1 with a free port; returns its fd and port.
std::pair<int, int> listen_somewhere() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 8) != 0)
        return {-1, 0};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return {fd, ntohs(a.sin_port)};
}

TEST(metrics_server,
     an_address_in_use_makes_the_current_thread_runtime_constructor_throw_system_error) {
    watchdog wd(60s);
    auto [fd, port] = listen_somewhere();
    ASSERT_GE(fd, 0);
    corio::runtime_options o = opts(1);
    o.metrics_address = "127.0.0.1:" + std::to_string(port);
    try {
        auto rt = corio::runtime::current_thread(o);
        ADD_FAILURE() << "the constructor returned; serving on " << rt.metrics_address();
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::address_in_use) << e.what();
    }
    ::close(fd);
}

TEST(metrics_server,
     an_address_in_use_makes_the_multi_thread_runtime_constructor_throw_system_error) {
    watchdog wd(60s);
    auto [fd, port] = listen_somewhere();
    ASSERT_GE(fd, 0);
    corio::runtime_options o = opts();
    o.metrics_address = "127.0.0.1:" + std::to_string(port);
    try {
        corio::runtime rt{o};
        ADD_FAILURE() << "the constructor returned; serving on " << rt.metrics_address();
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::address_in_use) << e.what();
    }
    ::close(fd);
}

TEST(metrics_server, a_second_runtime_cannot_take_the_first_ones_address) {
    watchdog wd(60s);
    corio::runtime_options o = opts(1);
    o.metrics_address = "127.0.0.1:0";
    auto first = corio::runtime::current_thread(o);
    o.metrics_address = first.metrics_address();
    EXPECT_THROW(corio::runtime::current_thread(o), std::system_error);
    // The first one still serves.
    http_reply r = curl_get(first.metrics_address(), "/metrics");
    EXPECT_EQ(r.code, 200);
    EXPECT_TRUE(contains(r.body, "corio_tasks_live")) << r.body;
}

}  // namespace
