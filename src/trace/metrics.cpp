// Runtime metrics, hooks and the Prometheus text format.
#include <chrono>
#include <cstdio>
#include <string>

#include "runtime/scheduler_core.hpp"

namespace corio {

namespace {

// Bucket bounds of the poll-time histogram: 1 us, 2 us, 4 us, ... ~1 s (21 bounds).
std::uint64_t bucket_bound_ns(std::size_t i) noexcept {
    return std::uint64_t{1000} << i;
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
}
void gauge(std::string& out, const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
}
template <class F>
void per_worker(std::string& out, const runtime_metrics& m, const char* name, const char* type,
                const char* help, F&& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (std::size_t i = 0; i < m.workers.size(); ++i)
        out += std::string(name) + "{worker=\"" + std::to_string(i) + "\"} " +
               std::to_string(value(m.workers[i])) + "\n";
}

}  // namespace

std::string to_prometheus(const runtime_metrics& m) {
    std::string out;
    per_worker(out, m, "corio_worker_polls_total", "counter", "Task polls by each worker.",
               [](const worker_metrics& w) { return w.polls; });
    per_worker(out, m, "corio_worker_steals_total", "counter", "Successful steals by each worker.",
               [](const worker_metrics& w) { return w.steals; });
    per_worker(out, m, "corio_worker_stolen_tasks_total", "counter", "Tasks taken by those steals.",
               [](const worker_metrics& w) { return w.stolen_tasks; });
    per_worker(out, m, "corio_worker_parks_total", "counter", "Times each worker went to sleep.",
               [](const worker_metrics& w) { return w.parks; });
    out +=
        "# HELP corio_worker_busy_seconds_total Time each worker spent awake.\n"
        "# TYPE corio_worker_busy_seconds_total counter\n";
    for (std::size_t i = 0; i < m.workers.size(); ++i) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "corio_worker_busy_seconds_total{worker=\"%zu\"} %.9f\n", i,
                      double(m.workers[i].busy_ns) / 1e9);
        out += buf;
    }
    per_worker(out, m, "corio_worker_local_queue_depth", "gauge", "Tasks in each worker's queue.",
               [](const worker_metrics& w) { return w.local_queue_depth; });
    gauge(out, "corio_injection_queue_depth", "Tasks in the shared injection queue.",
          m.injection_queue_depth);
    gauge(out, "corio_tasks_live", "Tasks spawned and not yet freed.", m.live_tasks);
    counter(out, "corio_tasks_spawned_total", "Tasks spawned since the runtime started.",
            m.spawned_tasks);
    gauge(out, "corio_blocking_threads", "Threads of the blocking pool.", m.blocking_threads);
    gauge(out, "corio_blocking_idle_threads", "Idle threads of the blocking pool.",
          m.blocking_idle_threads);
    gauge(out, "corio_blocking_queue_depth", "Blocking jobs waiting for a thread.",
          m.blocking_queue_depth);
    gauge(out, "corio_timers_pending", "Timers in the wheel.", m.pending_timers);
    gauge(out, "corio_io_registrations", "File descriptors registered with the reactor.",
          m.io_registrations);
    if (!m.poll_time_counts.empty()) {
        out +=
            "# HELP corio_poll_duration_seconds Time taken by each task poll.\n"
            "# TYPE corio_poll_duration_seconds histogram\n";
        std::uint64_t cumulative = 0, count = 0;
        for (std::uint64_t c : m.poll_time_counts) count += c;
        for (std::size_t i = 0; i < m.poll_time_bounds_ns.size(); ++i) {
            cumulative += m.poll_time_counts[i];
            char buf[96];
            std::snprintf(buf, sizeof buf, "corio_poll_duration_seconds_bucket{le=\"%g\"} %llu\n",
                          double(m.poll_time_bounds_ns[i]) / 1e9,
                          static_cast<unsigned long long>(cumulative));
            out += buf;
        }
        out += "corio_poll_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
        out += "corio_poll_duration_seconds_count " + std::to_string(count) + "\n";
    }
    return out;
}

namespace detail {

std::chrono::steady_clock::time_point scheduler_core::on_poll_begin(task_header* t) noexcept {
    if (m_options.hooks.on_poll_begin) m_options.hooks.on_poll_begin(t->id());
    return m_options.poll_time_histogram ? std::chrono::steady_clock::now()
                                         : std::chrono::steady_clock::time_point{};
}

void scheduler_core::on_poll_end(task_header* t, std::chrono::steady_clock::time_point started,
                                 poller_stats* stats) noexcept {
    if (m_options.poll_time_histogram && stats) {
        auto ns = std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count());
        std::size_t b = 0;
        while (b + 1 < poller_stats::kBuckets && ns >= bucket_bound_ns(b)) ++b;
        poller_stats::add(stats->poll_time[b]);
    }
    if (m_options.hooks.on_poll_end) m_options.hooks.on_poll_end(t->id());
}

void scheduler_core::on_complete(task_header& t) noexcept {
    if (m_options.hooks.on_complete) m_options.hooks.on_complete(t.id());
}

std::uint64_t scheduler_core::total_polls() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < poller_count(); ++i)
        n += poller(i).polls.load(std::memory_order_relaxed);
    return n;
}

runtime_metrics scheduler_core::metrics() {
    runtime_metrics m;
    for (std::size_t i = 0; i < poller_count(); ++i) {
        const poller_stats& p = poller(i);
        worker_metrics w;
        w.polls = p.polls.load(std::memory_order_relaxed);
        w.steals = p.steals.load(std::memory_order_relaxed);
        w.stolen_tasks = p.stolen_tasks.load(std::memory_order_relaxed);
        w.parks = p.parks.load(std::memory_order_relaxed);
        w.busy_ns = p.busy_ns.load(std::memory_order_relaxed);
        w.local_queue_depth = local_queue_depth(i);
        m.workers.push_back(w);
    }
    m.injection_queue_depth = injection_queue_depth();
    m.live_tasks = m_registry.size();
    m.spawned_tasks = m_next_id.load(std::memory_order_relaxed) - 1;
    m.blocking_threads = m_blocking.threads();
    m.blocking_idle_threads = m_blocking.idle_threads();
    m.blocking_queue_depth = m_blocking.queued();
    m.pending_timers = m_driver.pending_timers();
    m.io_registrations = m_driver.io_registrations();
    if (m_options.poll_time_histogram) {
        m.poll_time_counts.assign(poller_stats::kBuckets, 0);
        for (std::size_t b = 0; b + 1 < poller_stats::kBuckets; ++b)
            m.poll_time_bounds_ns.push_back(bucket_bound_ns(b));
        for (std::size_t i = 0; i < poller_count(); ++i)
            for (std::size_t b = 0; b < poller_stats::kBuckets; ++b)
                m.poll_time_counts[b] += poller(i).poll_time[b].load(std::memory_order_relaxed);
    }
    return m;
}

}  // namespace detail

runtime_metrics runtime::metrics() const {
    return m_core->metrics();
}
std::string runtime::metrics_prometheus() const {
    return to_prometheus(m_core->metrics());
}
std::string runtime::metrics_address() const {
    return m_core->metrics_address();
}
runtime_metrics runtime_handle::metrics() const {
    return m_core->metrics();
}

}  // namespace corio
