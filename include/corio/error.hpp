// corio/error.hpp — the runtime's own error types.
//
// OS failures are reported as std::system_error carrying errno and a message naming the
// operation and its target ("connect 127.0.0.1:1: Connection refused"). The types below are
// for conditions the runtime itself defines.
#pragma once

#include <stdexcept>
#include <string>

namespace corio {

// Thrown at an await point of a task that has been cancelled (join_handle::abort(), a select
// loser, a timeout, runtime shutdown). Let it propagate: the task's destructors run and the
// task completes as cancelled. Catching it and awaiting again throws it again: cancellation
// is sticky for the rest of the task.
class cancelled_error : public std::runtime_error {
public:
    cancelled_error() : std::runtime_error("corio: task cancelled") {}
};

// Thrown by timeout()/timeout_at() when the deadline passes first.
class timed_out : public std::runtime_error {
public:
    timed_out() : std::runtime_error("corio: operation timed out") {}
};

}  // namespace corio
