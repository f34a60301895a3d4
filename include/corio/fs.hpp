// corio/fs.hpp — whole-file reads and writes that never block a worker.
//
//     std::string toml = co_await corio::fs::read_to_string("Cargo.toml");
//     co_await corio::fs::write("example.com.html", body);
//
// Each call runs its system calls on the runtime's blocking pool (as tokio::fs does); an
// io_uring driver will take over where the kernel has it.
//
// Errors: std::system_error with the errno and a message naming the operation and the path
// ("open /etc/nope: No such file or directory", "write /full/disk: No space left on device").
// Cancellation: checked when the call starts (then nothing happens and it throws
// corio::cancelled_error). Once the blocking job runs it is awaited to the end, so the
// operation completes and returns; the cancellation is seen at the task's next await.
//
// Lifetime: `contents` is read while the await runs; keep it alive until then (as
// `co_await fs::write(p, s)` does).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corio/task.hpp"

namespace corio::fs {

// The whole file as text (bytes, no decoding).
task<std::string> read_to_string(std::filesystem::path path);
// The whole file as bytes.
task<std::vector<std::byte>> read(std::filesystem::path path);
// Creates or truncates `path` and writes `contents` to it.
task<> write(std::filesystem::path path, std::string_view contents);
task<> write(std::filesystem::path path, std::span<const std::byte> contents);

namespace blocking {
// The same operations, synchronous: for code already on the blocking pool.
std::string read_to_string(const std::filesystem::path& path);
std::vector<std::byte> read(const std::filesystem::path& path);
void write(const std::filesystem::path& path, std::span<const std::byte> contents);
}  // namespace blocking

}  // namespace corio::fs
