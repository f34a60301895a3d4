// read_file — whole-file writes and reads that never block a worker, and their typed errors.
//
// corio::fs runs the system calls on the runtime's blocking pool. A failure is a
// std::system_error carrying errno, with a message naming the operation and the path.
#include <corio/corio.hpp>
#include <corio/fs.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

corio::task<> async_main() {
    const auto dir = std::filesystem::temp_directory_path();
    const auto path = dir / "corio-read-file-example.txt";

    co_await corio::fs::write(path, "written by corio::fs::write\nread back by read_to_string\n");
    const std::string text = co_await corio::fs::read_to_string(path);
    std::printf("%s holds %zu bytes:\n%s", path.c_str(), text.size(), text.c_str());
    std::filesystem::remove(path);

    try {
        co_await corio::fs::read_to_string(dir / "corio-no-such-file.txt");
    } catch (const std::system_error& e) {
        std::printf("std::system_error: %s (errno %d, %s)\n", e.what(), e.code().value(),
                    e.code() == std::errc::no_such_file_or_directory ? "ENOENT" : "other");
    }
}

int main() {
    corio::run(async_main());
}
