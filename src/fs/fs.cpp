#include "corio/fs.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corio/blocking.hpp"

namespace corio::fs {

namespace {

[[noreturn]] void throw_fs_error(int err, const char* op, const std::filesystem::path& path) {
    throw std::system_error(err, std::system_category(), std::string(op) + " " + path.string());
}

class file_descriptor {
public:
    file_descriptor(const std::filesystem::path& path, int flags, const char* op)
        : m_fd(::open(path.c_str(), flags | O_CLOEXEC, 0666)) {
        if (m_fd < 0) throw_fs_error(errno, op, path);
    }
    ~file_descriptor() {
        if (m_fd >= 0) ::close(m_fd);
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const noexcept { return m_fd; }
    int release() noexcept { return std::exchange(m_fd, -1); }

private:
    int m_fd;
};

template <class Buffer>
Buffer read_all(const std::filesystem::path& path) {
    file_descriptor fd(path, O_RDONLY, "open");
    struct stat st {};
    Buffer out;
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(std::size_t(st.st_size));
    char chunk[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_fs_error(errno, "read", path);
        }
        if (n == 0) break;
        auto* p = reinterpret_cast<const typename Buffer::value_type*>(chunk);
        out.insert(out.end(), p, p + n);
    }
    return out;
}

}  // namespace

namespace blocking {

std::string read_to_string(const std::filesystem::path& path) {
    return read_all<std::string>(path);
}

std::vector<std::byte> read(const std::filesystem::path& path) {
    return read_all<std::vector<std::byte>>(path);
}

void write(const std::filesystem::path& path, std::span<const std::byte> contents) {
    file_descriptor fd(path, O_WRONLY | O_CREAT | O_TRUNC, "open");
    std::size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_fs_error(errno, "write", path);
        }
        done += std::size_t(n);
    }
    // close() can report a deferred write error (NFS, full disk): do not drop it.
    if (::close(fd.release()) < 0) throw_fs_error(errno, "close", path);
}

}  // namespace blocking

namespace {

// Runs `f` (which borrows this frame's data) on the blocking pool. Cancellation is checked
// before the job starts; once it runs, it is awaited to the end so the borrowed data stays
// alive, and the cancellation is seen at the caller's next await.
template <class F>
auto run_borrowing(F f) -> task<std::invoke_result_t<F&>> {
    if (corio::detail::cancel_requested()) throw cancelled_error();
    auto job = spawn_blocking(std::move(f));
    co_return co_await job.join_uncancellable();
}

}  // namespace

task<std::string> read_to_string(std::filesystem::path path) {
    co_return co_await run_borrowing([&path] { return blocking::read_to_string(path); });
}

task<std::vector<std::byte>> read(std::filesystem::path path) {
    co_return co_await run_borrowing([&path] { return blocking::read(path); });
}

task<> write(std::filesystem::path path, std::span<const std::byte> contents) {
    co_await run_borrowing([&path, contents] { blocking::write(path, contents); });
}

task<> write(std::filesystem::path path, std::string_view contents) {
    return write(std::move(path), std::as_bytes(std::span(contents.data(), contents.size())));
}

}  // namespace corio::fs
