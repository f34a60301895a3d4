#include "trace/metrics_server.hpp"

#include <array>
#include <exception>
#include <future>
#include <string_view>

#include <pthread.h>

#include "corio/net/tcp.hpp"
#include "corio/runtime.hpp"
#include "corio/select.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::detail {

namespace {

std::string response(int status, const char* reason, const char* type, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

task<> serve_one(scheduler_core* owner, net::tcp_stream s) {
    std::array<char, 8192> buf;
    std::size_t filled = 0;
    try {
        while (std::string_view(buf.data(), filled).find("\r\n\r\n") == std::string_view::npos) {
            if (filled == buf.size()) co_return;  // request too large: drop it
            std::size_t n =
                co_await s.read(std::span<char>(buf.data() + filled, buf.size() - filled));
            if (n == 0) co_return;
            filled += n;
        }
        std::string_view req(buf.data(), filled);
        std::string_view line = req.substr(0, req.find("\r\n"));
        std::string reply;
        if (line.starts_with("GET /metrics "))
            reply =
                response(200, "OK", "text/plain; version=0.0.4", to_prometheus(owner->metrics()));
        else if (line.starts_with("GET /dump.json "))
            reply = response(200, "OK", "application/json",
                             format_dump_json(owner->collect_tasks(), owner->worker_count()));
        else if (line.starts_with("GET /dump "))
            reply = response(200, "OK", "text/plain",
                             format_dump(owner->collect_tasks(), owner->worker_count()));
        else
            reply = response(404, "Not Found", "text/plain", "try /metrics, /dump or /dump.json\n");
        co_await s.write_all(reply);
    } catch (const std::system_error&) {
        // The client went away: nothing to do.
    }
}

task<> serve(scheduler_core* owner, net::tcp_listener listener, cancellation_token stop) {
    for (;;) {
        auto r = co_await select(stop.cancelled(), listener.accept());
        if (r.index() == 0) co_return;
        try {
            auto [stream, peer] = std::move(std::get<1>(r));
            spawn(serve_one(owner, std::move(stream)));
        } catch (const std::system_error&) {
            // accept failed (e.g. out of descriptors): keep serving
        }
    }
}

task<> bind_and_serve(scheduler_core* owner, std::string address, cancellation_token stop,
                      std::promise<std::string>* bound) {
    net::tcp_listener listener;
    try {
        listener = co_await net::tcp_listener::bind(address);
    } catch (...) {
        bound->set_exception(std::current_exception());
        co_return;
    }
    bound->set_value(listener.local_address().to_string());
    co_await serve(owner, std::move(listener), stop);
}

}  // namespace

metrics_server::metrics_server(scheduler_core& owner, const std::string& address) : m_owner(owner) {
    std::promise<std::string> bound;
    auto result = bound.get_future();
    // The promise lives in the thread: set_value may still be returning when get() does.
    m_thread = std::thread([this, address, bound = std::move(bound)]() mutable {
        pthread_setname_np(pthread_self(), "corio-metrics");
        runtime_options opts;
        opts.blocked_worker_threshold = std::chrono::milliseconds(0);
        opts.detect_deadlocks = false;
        opts.report_leaked_tasks = false;
        auto rt = runtime::current_thread(opts);
        rt.block_on(bind_and_serve(&m_owner, address, m_stop, &bound));
    });
    try {
        m_address = result.get();
    } catch (...) {
        m_thread.join();
        throw;
    }
}

metrics_server::~metrics_server() {
    m_stop.cancel();
    if (m_thread.joinable()) m_thread.join();
}

}  // namespace corio::detail
