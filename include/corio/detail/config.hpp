// corio/detail/config.hpp — build-time switches.
//
// CORIO_TRACE (default 1): record await sites and keep the registry of live tasks (task
// dumps, deadlock detection, leak reports, shutdown of parked tasks). Build with
// -DCORIO_TRACE=0 only to measure what observability costs (bench/ builds corio-bench both
// ways): without it, shutdown cannot find tasks parked forever and frees only what it finds
// in the run queues.
#pragma once

#ifndef CORIO_TRACE
#define CORIO_TRACE 1
#endif
