// corio/timeout.hpp — give an operation a deadline.
//
//     auto body = co_await corio::timeout(2s, fetch(url));      // throws corio::timed_out
//     auto msg = co_await corio::timeout(100ms, rx.recv());
//
// timeout(d, x) is select(x, sleep(d)): a corio await runs in the calling task and is
// withdrawn cleanly when the deadline passes (a recv takes no message); a task<T> runs as a
// child task and is cancelled and awaited. If `x` finishes first its value is returned (or
// its exception rethrown); otherwise corio::timed_out is thrown.
//
// Cancellation: a cancellation point (the operation is withdrawn or cancelled and awaited,
// then corio::cancelled_error is thrown). Cost: one coroutine frame, plus select's.
#pragma once

#include <chrono>
#include <type_traits>
#include <utility>
#include <variant>

#include "corio/error.hpp"
#include "corio/join.hpp"
#include "corio/select.hpp"
#include "corio/task.hpp"
#include "corio/time.hpp"

namespace corio {

namespace detail {
template <class B>
task<branch_result_t<B>> timeout_impl(clock::time_point deadline, B branch) {
    auto r = co_await select(std::move(branch), sleep_until(deadline));
    if (r.index() == 1) throw timed_out();
    if constexpr (std::is_void_v<branch_result_t<B>>)
        co_return;
    else
        co_return std::move(std::get<0>(r));
}
}  // namespace detail

// Completes with `x`'s result if it finishes before `deadline`; throws corio::timed_out.
template <class B>
requires(!std::is_lvalue_reference_v<B>) auto timeout_at(clock::time_point deadline, B&& x) {
    return detail::timeout_impl<std::remove_cvref_t<B>>(deadline, std::move(x));
}

// Completes with `x`'s result if it finishes within `d`; throws corio::timed_out.
template <class Rep, class Period, class B>
requires(!std::is_lvalue_reference_v<B>) auto timeout(std::chrono::duration<Rep, Period> d, B&& x) {
    return timeout_at(clock::now() + std::chrono::ceil<clock::duration>(d), std::move(x));
}

}  // namespace corio
