// corio/corio.hpp — everything, in one include.
#pragma once

#include "corio/blocking.hpp"
#include "corio/error.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/task.hpp"
#include "corio/time.hpp"
#include "corio/sync/semaphore.hpp"
#include "corio/sync/mpsc.hpp"
