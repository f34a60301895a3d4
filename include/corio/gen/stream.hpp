// corio/gen/stream.hpp — stream adapters: async_generator in, async_generator out.
//
//     auto lens = corio::from(urls)                               // a range as a stream
//               | corio::map([](std::string u) { return fetch_len(u); })   // stream of task<int>
//               | corio::buffer_unordered(8);                     // ≤ 8 fetches at once
//     while (auto n = co_await lens.next()) total += *n;           // in completion order
//
//     auto both = corio::merge(std::move(clicks), std::move(keys)); // as they arrive
//     auto slow = corio::throttle(std::move(both), 100ms);          // ≤ one per 100 ms
//     std::vector<int> all = co_await corio::collect(corio::take(std::move(s), 10));
//
// A stream here is a corio::async_generator<T>. Every adapter takes its input stream by value
// (std::move it in) and is itself lazy: nothing is pulled before the first next(). Each is
// also available as a pipe stage: `s | corio::map(f)` is `corio::map(std::move(s), f)`.
// Callables are stored by value in the adapter's frame.
//
// Errors: an exception from the input stream, a callable or a task is rethrown from the
// output's next(), which then ends the stream. Invalid arguments (chunks(s, 0),
// buffer_unordered(s, 0)) throw std::invalid_argument at the call, not at the first next().
//
// Cancellation and dropping: the adapters' next() is a cancellation point, like any
// async_generator's. Destroying an adapter destroys its input stream. The two that run work
// in spawned tasks — buffer_unordered and merge — abort those tasks when they are destroyed
// (or end by an exception); the tasks then finish on their own and free themselves, so a
// dropped stream leaks nothing and keeps nothing running. They need a corio runtime (spawn).
//
// See docs/streams.md for the costs of each adapter.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "corio/detail/context.hpp"
#include "corio/error.hpp"
#include "corio/gen/async_generator.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/sync/mpsc.hpp"
#include "corio/sync/semaphore.hpp"
#include "corio/task.hpp"
#include "corio/time.hpp"

namespace corio {

namespace detail {

template <class S>
struct is_async_generator : std::false_type {};
template <class T>
struct is_async_generator<async_generator<T>> : std::true_type {};

template <class S>
concept stream = is_async_generator<std::remove_cvref_t<S>>::value;

// A pipe stage: `s | stage` calls the stored function with the stream.
template <class F>
struct stream_stage {
    F fn;
    template <class T>
    friend auto operator|(async_generator<T>&& s, stream_stage stage) {
        return std::invoke(std::move(stage.fn), std::move(s));
    }
};
template <class F>
stream_stage(F) -> stream_stage<F>;

// Owns a spawned helper task: aborts it when dropped (it then finishes and frees itself).
class abort_on_drop {
public:
    abort_on_drop() noexcept = default;
    explicit abort_on_drop(join_handle<void> h) noexcept : m_handle(std::move(h)) {}
    abort_on_drop(abort_on_drop&&) noexcept = default;
    abort_on_drop& operator=(abort_on_drop&& o) noexcept {
        if (this != &o) {
            m_handle.abort();
            m_handle = std::move(o.m_handle);
        }
        return *this;
    }
    ~abort_on_drop() { m_handle.abort(); }

private:
    join_handle<void> m_handle;
};

// --------------------------------------------------------------- from, map, filter, ...

template <class R>
async_generator<std::ranges::range_value_t<R>> from_impl(R range) {
    using V = std::ranges::range_value_t<R>;
    for (auto&& e : range) {
        V v(std::forward<decltype(e)>(e));
        co_yield std::move(v);
    }
}

template <class T, class F>
async_generator<std::remove_cvref_t<std::invoke_result_t<F&, T&&>>> map_impl(async_generator<T> s,
                                                                             F f) {
    while (auto v = co_await s.next()) co_yield std::invoke(f, std::move(*v));
}

template <class T, class P>
async_generator<T> filter_impl(async_generator<T> s, P pred) {
    while (auto v = co_await s.next())
        if (std::invoke(pred, std::as_const(*v))) co_yield std::move(*v);
}

template <class T>
async_generator<T> take_impl(async_generator<T> s, std::size_t n) {
    async_generator<T> input = std::move(s);  // a local: destroyed as soon as the n-th is out
    for (std::size_t i = 0; i < n; ++i) {
        auto v = co_await input.next();
        if (!v) co_return;
        if (i + 1 == n) {
            T last = std::move(*v);
            input = async_generator<T>();  // release the input before the last yield
            co_yield std::move(last);
            co_return;
        }
        co_yield std::move(*v);
    }
}

// Picked: a chunk reserves at most this many elements up front.
inline constexpr std::size_t kChunkReserveCap = 1024;

template <class T>
async_generator<std::vector<T>> chunks_impl(async_generator<T> s, std::size_t n) {
    std::vector<T> chunk;
    chunk.reserve(std::min(n, kChunkReserveCap));
    while (auto v = co_await s.next()) {
        chunk.push_back(std::move(*v));
        if (chunk.size() == n) {
            std::vector<T> full = std::move(chunk);
            chunk = std::vector<T>();
            chunk.reserve(std::min(n, kChunkReserveCap));
            co_yield std::move(full);
        }
    }
    if (!chunk.empty()) co_yield std::move(chunk);
}

template <class T>
async_generator<T> throttle_impl(async_generator<T> s, clock::duration period) {
    std::optional<clock::time_point> not_before;
    for (;;) {
        if (not_before) co_await sleep_until(*not_before);
        auto v = co_await s.next();
        if (!v) co_return;
        not_before = clock::now() + period;
        co_yield std::move(*v);
    }
}

// --------------------------------------------------------------- merge

// What a forwarding task sends to the merged stream: a value, or the input's exception.
template <class T>
struct stream_item {
    std::optional<T> value;
    std::exception_ptr error;
};

// Pulls `input` and sends each value into `tx`, until the input ends, throws (the exception
// is sent) or the merged stream is gone (its receiver closed).
//
// Helper tasks move their parameters into locals first: a spawned task's frame (parameters
// included) lives as long as a join_handle to it, but locals die when the body ends — and
// the channel must close, and the input be freed, as soon as the task is done.
template <class T>
task<> merge_forward(async_generator<T> input_param, mpsc::sender<stream_item<T>> tx_param) {
    async_generator<T> input = std::move(input_param);
    mpsc::sender<stream_item<T>> tx = std::move(tx_param);
    std::exception_ptr error;
    for (;;) {
        std::optional<T> v;
        try {
            v = co_await input.next();
        } catch (...) {
            error = std::current_exception();
            break;
        }
        if (!v) co_return;
        stream_item<T> item{std::move(v), nullptr};
        try {
            co_await tx.send(std::move(item));
        } catch (const channel_closed&) {
            co_return;  // the merged stream was dropped
        }
    }
    stream_item<T> failure{std::nullopt, error};
    try {
        co_await tx.send(std::move(failure));  // a cancelled forwarder throws here: fine
    } catch (const channel_closed&) {
    }
}

template <class T, class... More>
async_generator<T> merge_impl(async_generator<T> first, More... more) {
    constexpr std::size_t N = 1 + sizeof...(More);
    // Picked: one queued value per input, so a fast input runs at most one value ahead of
    // the consumer (plus the one its forwarder holds).
    auto ch = mpsc::channel<stream_item<T>>(N);
    std::array<abort_on_drop, N> forwarders;
    {
        mpsc::sender<stream_item<T>> tx = std::move(ch.first);  // dropped at the end of scope
        spawn_options opts;
        opts.name = "corio::merge input";
        std::size_t i = 0;
        forwarders[i++] = abort_on_drop(corio::spawn(merge_forward<T>(std::move(first), tx), opts));
        ((forwarders[i++] =
              abort_on_drop(corio::spawn(merge_forward<T>(std::move(more), tx), opts))),
         ...);
    }
    // The channel closes once every forwarder has finished: then recv() gives nullopt.
    while (auto item = co_await ch.second.recv()) {
        if (item->error) std::rethrow_exception(item->error);
        co_yield std::move(*item->value);
    }
}

// --------------------------------------------------------------- buffer_unordered

template <class U>
using task_result_t = std::conditional_t<std::is_void_v<U>, std::monostate, U>;

// A finished task's outcome, holding its permit until the consumer takes it (so results
// waiting in the channel count against the limit).
template <class U>
struct buffered_result {
    std::shared_ptr<semaphore> sem;  // declared first: outlives the permit
    semaphore_permit permit;
    std::optional<task_result_t<U>> value;
    std::exception_ptr error;
};

// Runs one task of the stream and sends its outcome. Aborted: sends nothing.
template <class U>
task<> buffer_run(task<U> t_param, std::shared_ptr<semaphore> sem, semaphore_permit permit,
                  mpsc::unbounded_sender<buffered_result<U>> tx_param) {
    // Locals, not parameters, so they die with the body (see merge_forward).
    task<U> t = std::move(t_param);
    mpsc::unbounded_sender<buffered_result<U>> tx = std::move(tx_param);
    buffered_result<U> out{std::move(sem), std::move(permit), std::nullopt, nullptr};
    bool aborted = false;
    try {
        if constexpr (std::is_void_v<U>) {
            co_await std::move(t);
            out.value.emplace();
        } else {
            out.value.emplace(co_await std::move(t));
        }
    } catch (...) {
        aborted = cancel_requested();
        if (!aborted) out.error = std::current_exception();
    }
    if (aborted) co_return;  // aborted by the feeder (or shutdown): nobody wants the outcome
    (void)tx.try_send(std::move(out));  // unbounded: never waits; refused if the stream is gone
}

// Pulls tasks from `input` (one permit each) and spawns them. Owns the spawned tasks: on
// its own cancellation (the stream was dropped) or an input failure it aborts them and waits
// for them to finish, so the input stream — and whatever the tasks borrow from it, such as a
// map's callable — outlives every task.
template <class U>
task<> buffer_feed(async_generator<task<U>> input_param, std::shared_ptr<semaphore> sem_param,
                   mpsc::unbounded_sender<buffered_result<U>> tx_param) {
    // Locals, not parameters, so they die with the body (see merge_forward).
    async_generator<task<U>> input = std::move(input_param);
    std::shared_ptr<semaphore> sem = std::move(sem_param);
    mpsc::unbounded_sender<buffered_result<U>> tx = std::move(tx_param);
    std::vector<join_handle<void>> running;
    std::exception_ptr error;
    try {
        for (;;) {
            semaphore_permit permit = co_await sem->acquire();
            std::optional<task<U>> t = co_await input.next();
            if (!t) break;
            std::erase_if(running, [](const join_handle<void>& h) { return h.is_finished(); });
            running.push_back(
                corio::spawn(buffer_run<U>(std::move(*t), sem, std::move(permit), tx)));
        }
        for (auto& h : running) {
            try {
                co_await h;
            } catch (const cancelled_error&) {
                if (cancel_requested()) throw;  // we were cancelled, not the task
            }
        }
        co_return;
    } catch (...) {
        error = std::current_exception();
    }
    for (auto& h : running) h.abort();
    for (auto& h : running) {
        try {
            co_await h.join_uncancellable();
        } catch (...) {  // cancelled: its outcome is dropped
        }
    }
    if (cancel_requested()) co_return;
    buffered_result<U> failure{sem, semaphore_permit(), std::nullopt, error};
    (void)tx.try_send(std::move(failure));
}

template <class U>
async_generator<task_result_t<U>> buffer_unordered_impl(async_generator<task<U>> input,
                                                        std::size_t n) {
    auto sem = std::make_shared<semaphore>(n);
    auto ch = mpsc::unbounded_channel<buffered_result<U>>();
    spawn_options opts;
    opts.name = "corio::buffer_unordered input";
    abort_on_drop feeder(
        corio::spawn(buffer_feed<U>(std::move(input), sem, std::move(ch.first)), opts));
    // The channel closes once the feeder and every task it spawned have finished.
    while (auto r = co_await ch.second.recv()) {
        if (r->error) std::rethrow_exception(r->error);
        r->permit.release();  // the consumer has it: the next task may start
        co_yield std::move(*r->value);
    }
}

template <class T>
task<std::vector<T>> collect_impl(async_generator<T> s) {
    std::vector<T> out;
    while (auto v = co_await s.next()) out.push_back(std::move(*v));
    co_return out;
}

}  // namespace detail

// A stream of the elements of `range` (copied or moved into the stream; pass
// std::views::all(v) to borrow v instead). Never waits. Cost: one copy (or move) per element.
template <std::ranges::input_range R>
requires std::constructible_from<std::ranges::range_value_t<std::remove_cvref_t<R>>,
                                 std::ranges::range_reference_t<std::remove_cvref_t<R>>>
    async_generator<std::ranges::range_value_t<std::remove_cvref_t<R>>> from(R&& range) {
    return detail::from_impl<std::remove_cvref_t<R>>(std::forward<R>(range));
}

// f(value) for each value. (For an async f returning task<U>, the result is a stream of
// tasks: follow it with buffer_unordered(n) to run them, or await each in your loop.)
template <class T, class F>
requires std::invocable<F&, T&&> &&
    (!std::is_void_v<std::invoke_result_t<F&, T&&>>)auto map(async_generator<T> s, F f) {
    return detail::map_impl<T, F>(std::move(s), std::move(f));
}

// The values for which pred(const value&) is true.
template <class T, class P>
requires std::predicate<P&, const T&> async_generator<T> filter(async_generator<T> s, P pred) {
    return detail::filter_impl<T, P>(std::move(s), std::move(pred));
}

// The first n values; the input is released (destroyed) once the n-th is out, and is never
// pulled beyond it. take(s, 0) is empty and never pulls.
template <class T>
async_generator<T> take(async_generator<T> s, std::size_t n) {
    return detail::take_impl<T>(std::move(s), n);
}

// Vectors of n consecutive values; the last one holds the remainder (never empty).
// Throws std::invalid_argument if n == 0.
template <class T>
async_generator<std::vector<T>> chunks(async_generator<T> s, std::size_t n) {
    if (n == 0) throw std::invalid_argument("corio::chunks: chunk size must be >= 1");
    return detail::chunks_impl<T>(std::move(s), n);
}

// Runs the stream's tasks as spawned tasks, at most n at a time, and yields their results
// in completion order (void results as std::monostate). A task's exception is rethrown from
// next() and ends the stream (the other tasks are aborted). Results not yet taken by the
// consumer count against n, so at most n results are ever buffered. Pulls the input stream
// in a spawned task too, so a slow input does not hold back finished results.
// Dropping the stream aborts every task it started. Throws std::invalid_argument if n == 0.
template <class U>
async_generator<detail::task_result_t<U>> buffer_unordered(async_generator<task<U>> s,
                                                           std::size_t n) {
    if (n == 0) throw std::invalid_argument("corio::buffer_unordered: limit must be >= 1");
    return detail::buffer_unordered_impl<U>(std::move(s), n);
}

// The values of every input as they arrive (each input is pulled by its own spawned task,
// concurrently). Ends when every input has ended; an input's exception is rethrown from
// next() and ends the stream. Dropping the stream aborts the forwarding tasks.
template <class T, class... More>
requires(std::same_as<More, async_generator<T>>&&...)
    async_generator<T> merge(async_generator<T> first, More... more) {
    return detail::merge_impl<T, More...>(std::move(first), std::move(more)...);
}

// At most one value per `period`: a value is yielded no sooner than `period` after the
// previous one was (the first at once). Pulls the input only when a value may go out, so a
// throttled stream slows its producer instead of buffering.
template <class T, class Rep, class Period>
async_generator<T> throttle(async_generator<T> s, std::chrono::duration<Rep, Period> period) {
    return detail::throttle_impl<T>(std::move(s), std::chrono::ceil<clock::duration>(period));
}

// Every value of the stream, in a vector.
template <class T>
task<std::vector<T>> collect(async_generator<T> s) {
    return detail::collect_impl<T>(std::move(s));
}

// ---- pipe stages: s | corio::map(f) | corio::take(3) ...

template <class F>
requires(!detail::stream<F>) auto map(F f) {
    return detail::stream_stage{[f = std::move(f)]<class T>(async_generator<T>&& s) mutable {
        return corio::map(std::move(s), std::move(f));
    }};
}

template <class P>
requires(!detail::stream<P>) auto filter(P pred) {
    return detail::stream_stage{[p = std::move(pred)]<class T>(async_generator<T>&& s) mutable {
        return corio::filter(std::move(s), std::move(p));
    }};
}

inline auto take(std::size_t n) {
    return detail::stream_stage{
        [n]<class T>(async_generator<T>&& s) { return corio::take(std::move(s), n); }};
}

inline auto chunks(std::size_t n) {
    if (n == 0) throw std::invalid_argument("corio::chunks: chunk size must be >= 1");
    return detail::stream_stage{
        [n]<class T>(async_generator<T>&& s) { return corio::chunks(std::move(s), n); }};
}

inline auto buffer_unordered(std::size_t n) {
    if (n == 0) throw std::invalid_argument("corio::buffer_unordered: limit must be >= 1");
    return detail::stream_stage{[n]<class U>(async_generator<task<U>>&& s) {
        return corio::buffer_unordered(std::move(s), n);
    }};
}

template <class Rep, class Period>
auto throttle(std::chrono::duration<Rep, Period> period) {
    return detail::stream_stage{[period]<class T>(async_generator<T>&& s) {
        return corio::throttle(std::move(s), period);
    }};
}

inline auto collect() {
    return detail::stream_stage{
        []<class T>(async_generator<T>&& s) { return corio::collect(std::move(s)); }};
}

}  // namespace corio
