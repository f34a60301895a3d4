// corio/corio.hpp — everything, in one include.
#pragma once

#include "corio/blocking.hpp"
#include "corio/cancel.hpp"
#include "corio/error.hpp"
#include "corio/fs.hpp"
#include "corio/join.hpp"
#include "corio/join_handle.hpp"
#include "corio/net/resolve.hpp"
#include "corio/net/socket_address.hpp"
#include "corio/net/tcp.hpp"
#include "corio/runtime.hpp"
#include "corio/select.hpp"
#include "corio/sync/mpsc.hpp"
#include "corio/sync/semaphore.hpp"
#include "corio/task.hpp"
#include "corio/time.hpp"
#include "corio/timeout.hpp"
