// Task dumps: collecting what every task is doing, and writing it as text or JSON.
//
// A dump walks the registry one shard at a time (holding the shard lock, so no task of the
// shard is destroyed meanwhile) and pins each parked task with the INSPECTING bit (task
// state rule 8), so its frames and its await point stay put while they are read.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "corio/detail/wait_info.hpp"
#include "corio/task.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio {

std::string code_location::to_string() const {
    std::string out = file + ":" + std::to_string(line);
    if (!function.empty()) out += " in " + function;
    return out;
}

const char* to_string(task_status s) noexcept {
    switch (s) {
        case task_status::running:
            return "running";
        case task_status::scheduled:
            return "scheduled";
        case task_status::waiting:
            return "waiting";
        case task_status::done:
            return "done";
    }
    return "?";
}

namespace detail {

namespace {

// g++ names a coroutine body after its "actor" function: "void f(f(args)::_Z1fv.Frame*)".
// Show "f(args)" instead.
std::string function_of(const char* name) {
    std::string_view n(name ? name : "");
    if (!n.ends_with(".Frame*)")) return std::string(n);
    // The actor's parameter list is the parenthesised group that closes the string.
    std::size_t depth = 0, open = std::string_view::npos;
    for (std::size_t i = n.size(); i-- > 0;) {
        if (n[i] == ')') ++depth;
        if (n[i] == '(' && --depth == 0) {
            open = i;
            break;
        }
    }
    std::string_view inner = open == std::string_view::npos ? n : n.substr(open + 1);
    auto marker = inner.rfind("::_Z");
    if (marker == std::string_view::npos) return std::string(n);
    return std::string(inner.substr(0, marker));
}
}  // namespace

code_location location_of(const std::source_location& l) {
    if (!l.file_name() || !*l.file_name()) return {};
    return code_location{l.file_name(), unsigned(l.line()), function_of(l.function_name())};
}

namespace {

const char* wait_kind_name(wait_kind k) noexcept {
    switch (k) {
        case wait_kind::unknown:
            return "unknown";
        case wait_kind::yield:
            return "yield";
        case wait_kind::timer:
            return "timer";
        case wait_kind::io:
            return "io";
        case wait_kind::join:
            return "join";
        case wait_kind::blocking:
            return "blocking";
        case wait_kind::lock:
            return "lock";
        case wait_kind::semaphore:
            return "semaphore";
        case wait_kind::notify:
            return "notify";
        case wait_kind::barrier:
            return "barrier";
        case wait_kind::wait_group:
            return "wait_group";
        case wait_kind::channel:
            return "channel";
        case wait_kind::token:
            return "token";
        case wait_kind::group:
            return "group";
    }
    return "unknown";
}

// The corio frames of a pinned parked task, outermost first: from the innermost parked
// coroutine up the continuation links to the root. Stops at a frame that is not a corio
// task (another coroutine type in between).
std::vector<code_location> backtrace_of(task_header* root) {
    std::vector<code_location> frames;
    constexpr std::size_t kMaxWalk = 100'000;  // async recursion can be a million deep
    void* addr = root->resume_at.address();
    for (std::size_t depth = 0; addr && depth < kMaxWalk; ++depth) {
        auto* f = reinterpret_cast<task_header*>(static_cast<char*>(addr) + kPromiseOffset);
        if (!is_corio_frame_tag(f->frame_tag)) {
            frames.push_back(code_location{"(a coroutine of another type)", 0, {}});
            break;
        }
        frames.push_back(location_of(f->await_site()));
        if (f == root) break;
        addr = reinterpret_cast<void*>(f->link.load(std::memory_order_relaxed));
    }
    std::reverse(frames.begin(), frames.end());
    constexpr std::size_t kKeep = 32;  // each end
    if (frames.size() > 2 * kKeep) {
        std::size_t hidden = frames.size() - 2 * kKeep;
        frames.erase(frames.begin() + kKeep, frames.end() - kKeep);
        frames.insert(frames.begin() + kKeep,
                      code_location{"... " + std::to_string(hidden) + " frames ...", 0, {}});
    }
    return frames;
}

// Fills the waiting details of `t` into `info` if it can pin it (it is not running).
void inspect_parked(task_header* t, task_info& info) {
    using namespace task_state;
    std::uint64_t s = t->state.load(std::memory_order_acquire);
    for (;;) {
        if (s & (running | complete | inspecting)) return;
        if (t->state.compare_exchange_weak(s, s | inspecting, std::memory_order_acq_rel,
                                           std::memory_order_acquire))
            break;
    }
    if (t->awaiting) {
        info.status = (s & scheduled) ? task_status::scheduled : task_status::waiting;
        wait_info w;
        wait_info* saved = tls_wait_info;
        tls_wait_info = &w;
        t->awaiting->poll(*t->awaiting, *t, await_op::inspect);
        tls_wait_info = saved;
        info.waiting_on = w.text[0] ? w.text : "(an await that does not describe itself)";
        info.wait_kind = wait_kind_name(w.kind);
        info.wait_external = w.external;
        if (w.holders_known) info.wait_holders.assign(w.holders, w.holders + w.holder_count);
        info.backtrace = backtrace_of(t);
    } else {
        info.waiting_on = "(not started)";
    }
    t->state.fetch_and(~inspecting, std::memory_order_acq_rel);
}

void append_json_string(std::string& out, const std::string& s) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

void append_json_location(std::string& out, const code_location& l) {
    out += "{\"file\":";
    append_json_string(out, l.file);
    out += ",\"line\":" + std::to_string(l.line) + ",\"function\":";
    append_json_string(out, l.function);
    out += '}';
}

}  // namespace

std::vector<task_info> scheduler_core::collect_tasks(bool include_internal) {
    // A task that yielded keeps RUNNING while it waits in a run queue (a yield costs no RMW):
    // it is running only if a poller is inside it now.
    std::vector<const task_header*> in_poll;
    for (std::size_t i = 0; i < poller_count(); ++i)
        if (const task_header* p = poller(i).current.load(std::memory_order_relaxed))
            in_poll.push_back(p);
    auto polled_now = [&](const task_header* t) {
        return std::find(in_poll.begin(), in_poll.end(), t) != in_poll.end();
    };
    std::vector<task_info> out;
    m_registry.for_each_named([&](task_header* t, const std::string* name) {
        if (!include_internal && t->frame_tag == kFrameTagInternal) return;
        task_info info;
        info.id = t->id();
        if (name) info.name = *name;
        info.spawned_at = location_of(t->spawned_at);
        info.blocking_job = t->is_blocking_job();
        std::uint64_t s = t->state.load(std::memory_order_acquire);
        if (s & task_state::complete) {
            info.status = task_status::done;
        } else if ((s & task_state::running) && !polled_now(t) && !t->is_blocking_job()) {
            // Its frames are not pinned (a yielded task's next poll takes no RMW): no details.
            info.status = task_status::scheduled;
            info.waiting_on = "runnable (yielded: yield_now, or its poll budget was spent)";
            info.wait_kind = "yield";
        } else if (s & task_state::running) {
            info.status = task_status::running;
        } else if (s & task_state::scheduled) {
            info.status = task_status::scheduled;
        } else {
            info.status = task_status::waiting;
        }
        if (info.status == task_status::waiting ||
            (info.status == task_status::scheduled && info.wait_kind.empty()))
            inspect_parked(t, info);
        out.push_back(std::move(info));
    });
    std::sort(out.begin(), out.end(),
              [](const task_info& a, const task_info& b) { return a.id < b.id; });
    return out;
}

std::string format_dump(const std::vector<task_info>& tasks, std::size_t workers) {
    std::string out = "corio runtime: " + std::to_string(tasks.size()) + " live task" +
                      (tasks.size() == 1 ? "" : "s") + ", " + std::to_string(workers) + " worker" +
                      (workers == 1 ? "" : "s") + "\n";
    for (const task_info& t : tasks) {
        out += "task " + std::to_string(t.id);
        if (!t.name.empty()) out += " \"" + t.name + "\"";
        out += std::string(" [") + to_string(t.status) + (t.blocking_job ? ", blocking job" : "") +
               "]";
        out += " spawned at " + t.spawned_at.to_string() + "\n";
        if (!t.waiting_on.empty()) out += "    waiting on: " + t.waiting_on + "\n";
        if (!t.backtrace.empty()) {
            out += "    at " + t.backtrace.back().to_string() + "\n";
            if (t.backtrace.size() > 1) {
                out += "    async backtrace (outermost first):\n";
                for (const code_location& f : t.backtrace) out += "      " + f.to_string() + "\n";
            }
        }
    }
    return out;
}

std::string format_dump_json(const std::vector<task_info>& tasks, std::size_t workers) {
    std::string out = "{\"workers\":" + std::to_string(workers) + ",\"tasks\":[";
    bool first = true;
    for (const task_info& t : tasks) {
        if (!first) out += ',';
        first = false;
        out += "{\"id\":" + std::to_string(t.id) + ",\"name\":";
        append_json_string(out, t.name);
        out += ",\"status\":\"";
        out += to_string(t.status);
        out += "\",\"blocking_job\":";
        out += t.blocking_job ? "true" : "false";
        out += ",\"spawned_at\":";
        append_json_location(out, t.spawned_at);
        out += ",\"waiting_on\":";
        append_json_string(out, t.waiting_on);
        out += ",\"wait_kind\":";
        append_json_string(out, t.wait_kind);
        out += ",\"wait_external\":";
        out += t.wait_external ? "true" : "false";
        out += ",\"wait_holders\":[";
        for (std::size_t i = 0; i < t.wait_holders.size(); ++i)
            out += (i ? "," : "") + std::to_string(t.wait_holders[i]);
        out += "],\"backtrace\":[";
        for (std::size_t i = 0; i < t.backtrace.size(); ++i) {
            if (i) out += ',';
            append_json_location(out, t.backtrace[i]);
        }
        out += "]}";
    }
    out += "]}";
    return out;
}

std::optional<scheduler_core::deadlock_report> scheduler_core::find_deadlock() {
    if (m_blocking.threads() > m_blocking.idle_threads() || m_blocking.queued() > 0)
        return std::nullopt;
    std::vector<task_info> tasks = collect_tasks();
    if (tasks.empty()) return std::nullopt;
    std::map<std::uint64_t, const task_info*> by_id;
    for (const task_info& t : tasks) {
        if (t.status == task_status::done) continue;
        if (t.status != task_status::waiting || t.wait_external || t.wait_kind == "yield" ||
            t.waiting_on == "(not started)")
            return std::nullopt;  // something can still happen
        by_id[t.id] = &t;
    }
    if (by_id.empty()) return std::nullopt;
    // Name a wait cycle if the known holders form one: follow holder edges from each task.
    std::string cycle;
    for (auto& [id, start] : by_id) {
        std::vector<const task_info*> path;
        std::set<std::uint64_t> seen;
        const task_info* cur = start;
        while (cur && !seen.count(cur->id)) {
            seen.insert(cur->id);
            path.push_back(cur);
            if (cur->wait_holders.empty()) {
                cur = nullptr;  // the chain ends in an open wait: not a cycle
                break;
            }
            auto next = by_id.find(cur->wait_holders.front());
            cur = next == by_id.end() ? nullptr : next->second;
        }
        if (!cur || cur->id != id) continue;  // not a cycle through `start`
        for (const task_info* t : path)
            cycle += (cycle.empty() ? "" : ";\n") + std::string("task ") + std::to_string(t->id) +
                     " waits on " + t->waiting_on + " at " +
                     (t->backtrace.empty() ? std::string("?") : t->backtrace.back().to_string());
        break;
    }
    if (cycle.empty()) {
        for (auto& [id, t] : by_id)
            cycle += (cycle.empty() ? "" : ";\n") + std::string("task ") + std::to_string(id) +
                     " waits on " + t->waiting_on;
    }
    return deadlock_report{cycle, format_dump(tasks, worker_count())};
}

std::string scheduler_core::leak_report() {
    std::vector<task_info> tasks = collect_tasks();
    std::string out;
    std::size_t live = 0;
    for (const task_info& t : tasks) {
        if (t.status == task_status::done) continue;
        if (++live > 20) continue;  // list the first 20
        out += "  task " + std::to_string(t.id) + (t.name.empty() ? "" : " \"" + t.name + "\"") +
               " spawned at " + t.spawned_at.to_string() +
               (t.waiting_on.empty() ? std::string() : ", waiting on " + t.waiting_on) + "\n";
    }
    if (!live) return {};
    if (live > 20) out += "  ... and " + std::to_string(live - 20) + " more\n";
    return "corio: runtime destroyed with " + std::to_string(live) + " live task" +
           (live == 1 ? "" : "s") + " (cancelling them):\n" + out;
}

}  // namespace detail

std::vector<task_info> runtime::tasks() const {
    return m_core->collect_tasks();
}

std::string runtime::dump() const {
    return detail::format_dump(m_core->collect_tasks(), m_core->worker_count());
}

std::string runtime::dump_json() const {
    return detail::format_dump_json(m_core->collect_tasks(), m_core->worker_count());
}

std::string runtime_handle::dump() const {
    return detail::format_dump(m_core->collect_tasks(), m_core->worker_count());
}

}  // namespace corio
