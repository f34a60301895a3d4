#include "trace/diagnostics.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "runtime/scheduler_core.hpp"

namespace corio::detail {

namespace {

using namespace std::chrono;

// Self-pipe: the signal handler only writes a byte (async-signal-safe).
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_dump_signal(int) {
    int saved = errno;
    char c = 1;
    [[maybe_unused]] auto r = ::write(g_signal_pipe[1], &c, 1);
    errno = saved;
}

milliseconds period_for(const runtime_options& o) {
    // A quarter of the threshold bounds how late a stuck poll is noticed; clamp so the
    // thread stays cheap (40 wakeups a second at the default) and responsive.
    milliseconds p =
        o.blocked_worker_threshold.count() > 0 ? o.blocked_worker_threshold / 4 : milliseconds(100);
    return std::clamp(p, milliseconds(5), milliseconds(100));
}

}  // namespace

diagnostics& diagnostics::instance() {
    static diagnostics* d = new diagnostics;  // never destroyed: runtimes may outlive statics
    return *d;
}

void diagnostics::add(scheduler_core* rt) {
    std::lock_guard lock(m_mutex);
    watched w{rt, {}, {}, {}};
    w.last_polls.assign(rt->poller_count(), 0);
    w.still.assign(rt->poller_count(), 0);
    w.reported.assign(rt->poller_count(), ~std::uint64_t{0});
    m_watched.push_back(std::move(w));
    if (!m_running) {
        if (m_thread.joinable()) m_thread.join();  // a previous thread that has stopped
        m_running = true;
        m_thread = std::thread([this] { run(); });
    }
}

void diagnostics::remove(scheduler_core* rt) noexcept {
    std::thread finished;
    {
        std::lock_guard lock(m_mutex);
        std::erase_if(m_watched, [&](const watched& w) { return w.rt == rt; });
        if (m_watched.empty() && m_running) {
            m_running = false;
            m_cv.notify_all();
            finished = std::move(m_thread);
        }
    }
    if (finished.joinable()) finished.join();
}

void diagnostics::install_signal(int signo) {
    static std::once_flag pipe_once;
    std::call_once(pipe_once, [] {
        if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
            g_signal_pipe[0] = g_signal_pipe[1] = -1;
    });
    if (g_signal_pipe[1] < 0) return;
    struct sigaction sa {};
    sa.sa_handler = on_dump_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(signo, &sa, nullptr);
}

void diagnostics::run() {
    pthread_setname_np(pthread_self(), "corio-diag");
    std::unique_lock lock(m_mutex);
    while (m_running) {
        milliseconds period(100);
        for (auto& w : m_watched) period = std::min(period, period_for(w.rt->options()));
        m_cv.wait_for(lock, period, [&] { return !m_running; });
        if (!m_running) break;
        for (auto& w : m_watched) {
            check_blocked(w, period);
            check_deadlock(w);
        }
        dump_all_on_signal();
    }
}

void diagnostics::check_blocked(watched& w, milliseconds period) {
    const runtime_options& o = w.rt->options();
    if (o.blocked_worker_threshold.count() <= 0) return;
    for (std::size_t i = 0; i < w.last_polls.size(); ++i) {
        const poller_stats& p = w.rt->poller(i);
        std::uint64_t polls = p.polls.load(std::memory_order_relaxed);
        const task_header* t = p.current.load(std::memory_order_relaxed);
        if (!t || polls != w.last_polls[i]) {
            w.last_polls[i] = polls;
            w.still[i] = 0;
            continue;
        }
        milliseconds stuck = period * ++w.still[i];
        if (stuck < o.blocked_worker_threshold || w.reported[i] == polls) continue;
        // Read the task under its registry shard lock: it cannot be freed meanwhile, and if
        // the poll ended in between, the registry no longer matches what we saw.
        blocked_worker_report r;
        bool found = false;
        w.rt->registry().for_each_named([&](task_header* h, const std::string* name) {
            if (h != t || found) return;
            if (p.polls.load(std::memory_order_relaxed) != polls) return;
            found = true;
            r.task_id = h->id();
            if (name) r.task_name = *name;
            r.spawned_at = location_of(h->spawned_at);
            r.last_await = location_of(h->await_site());
        });
        if (!found) continue;
        w.reported[i] = polls;
        r.worker = i;
        r.stuck_for = stuck;
        if (o.on_blocked_worker)
            o.on_blocked_worker(r);
        else
            std::fprintf(stderr, "%s\n", r.to_string().c_str());
    }
}

void diagnostics::check_deadlock(watched& w) {
    scheduler_core* rt = w.rt;
    if (!rt->options().detect_deadlocks || !rt->has_block_on_waits() || !rt->quiescent()) {
        w.quiet = false;
        return;
    }
    std::uint64_t polls = rt->total_polls();
    auto now = steady_clock::now();
    if (!w.quiet || polls != w.quiet_polls) {
        w.quiet = true;
        w.quiet_polls = polls;
        w.quiet_since = now;
        return;
    }
    if (now - w.quiet_since < rt->options().deadlock_grace) return;
    auto report = rt->find_deadlock();
    // Nothing may have run while we looked: otherwise start over.
    if (report && rt->quiescent() && rt->total_polls() == polls) rt->deliver_deadlock(*report);
    w.quiet = false;
}

void diagnostics::dump_all_on_signal() {
    if (g_signal_pipe[0] < 0) return;
    char buf[64];
    bool signalled = false;
    while (::read(g_signal_pipe[0], buf, sizeof buf) > 0) signalled = true;
    if (!signalled) return;
    for (auto& w : m_watched) {
        std::string d = format_dump(w.rt->collect_tasks(), w.rt->worker_count());
        std::fprintf(stderr, "%s", d.c_str());
    }
    std::fflush(stderr);
}

}  // namespace corio::detail

namespace corio {

std::string blocked_worker_report::to_string() const {
    std::string out =
        "corio: worker " + std::to_string(worker) + " is blocked: task " + std::to_string(task_id);
    if (!task_name.empty()) out += " \"" + task_name + "\"";
    out += " has not returned to the scheduler for " + std::to_string(stuck_for.count()) +
           " ms (spawned at " + spawned_at.to_string();
    if (!last_await.file.empty()) out += ", last resumed from " + last_await.to_string();
    out += "): it is blocking the thread; use spawn_blocking for blocking or CPU-heavy work";
    return out;
}

}  // namespace corio
