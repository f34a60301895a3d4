// Tests of corio/fs.hpp: whole-file reads and writes on the blocking pool.
//
// Every test works in its own directory under temp_directory_path(), removed afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <corio/corio.hpp>
#include <corio/fs.hpp>

#include "test_support.hpp"

namespace {

namespace stdfs = std::filesystem;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = std::byte(rng() & 0xff);
    return v;
}

class fs_test : public ::testing::Test {
protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        std::random_device rd;
        dir =
            stdfs::temp_directory_path() / ("corio-fs-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter++) + "-" + std::to_string(rd()));
        ASSERT_TRUE(stdfs::create_directory(dir)) << dir;
    }
    void TearDown() override {
        std::error_code ec;
        stdfs::remove_all(dir, ec);
        EXPECT_FALSE(ec) << "could not remove " << dir << ": " << ec.message();
    }
    stdfs::path dir;
};

template <class T>
task<std::optional<std::system_error>> system_error_of(task<T> t) {
    try {
        co_await std::move(t);
    } catch (const std::system_error& e) {
        co_return e;
    }
    co_return std::nullopt;
}

// ------------------------------------------------------------------ round trips

task<> text_round_trip(stdfs::path p) {
    co_await corio::fs::write(p, "hello, file\nsecond line\n");
    EXPECT_EQ(co_await corio::fs::read_to_string(p), "hello, file\nsecond line\n");
    auto bytes = co_await corio::fs::read(p);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
              "hello, file\nsecond line\n");
    // Writing again truncates.
    co_await corio::fs::write(p, "short");
    EXPECT_EQ(co_await corio::fs::read_to_string(p), "short");
    // Empty contents give an empty file.
    co_await corio::fs::write(p, "");
    EXPECT_EQ(co_await corio::fs::read_to_string(p), "");
    EXPECT_TRUE((co_await corio::fs::read(p)).empty());
    // Bytes, including NULs, are kept as they are.
    const std::string binary("a\0b\0\xff\x80z", 7);
    co_await corio::fs::write(p, binary);
    EXPECT_EQ(co_await corio::fs::read_to_string(p), binary);
}

TEST_F(fs_test, write_then_read_round_trips_on_the_multi_thread_runtime) {
    run_mt(text_round_trip(dir / "a.txt"));
    EXPECT_EQ(stdfs::file_size(dir / "a.txt"), 7u);
}

TEST_F(fs_test, write_then_read_round_trips_on_the_current_thread_runtime) {
    run_ct(text_round_trip(dir / "a.txt"));
    EXPECT_EQ(stdfs::file_size(dir / "a.txt"), 7u);
}

task<> large_round_trip(stdfs::path p, const std::vector<std::byte>* data) {
    co_await corio::fs::write(p, std::span<const std::byte>(*data));
    auto back = co_await corio::fs::read(p);
    EXPECT_EQ(back.size(), data->size());
    EXPECT_TRUE(back == *data) << "16 MiB round trip corrupted the contents";
    auto text = co_await corio::fs::read_to_string(p);
    EXPECT_EQ(text.size(), data->size());
    EXPECT_EQ(std::memcmp(text.data(), data->data(), data->size()), 0);
}

TEST_F(fs_test, large_file_of_16_mib_round_trips_intact) {
    const auto data = random_bytes(16u << 20, 16);
    run_mt(large_round_trip(dir / "big.bin", &data));
    EXPECT_EQ(stdfs::file_size(dir / "big.bin"), data.size());
    run_ct(large_round_trip(dir / "big2.bin", &data));
}

TEST_F(fs_test, blocking_variants_round_trip_without_a_runtime) {
    const auto data = random_bytes(100'000, 5);
    corio::fs::blocking::write(dir / "b.bin", data);
    EXPECT_TRUE(corio::fs::blocking::read(dir / "b.bin") == data);
    EXPECT_EQ(corio::fs::blocking::read_to_string(dir / "b.bin").size(), data.size());
}

// ------------------------------------------------------------------ errors

TEST_F(fs_test, reading_a_missing_file_throws_enoent_naming_open_and_the_path) {
    const stdfs::path p = dir / "does-not-exist.txt";
    for (bool as_bytes : {false, true}) {
        auto e = run_mt([](stdfs::path path, bool bytes) -> task<std::optional<std::system_error>> {
            if (bytes) co_return co_await system_error_of(corio::fs::read(path));
            co_return co_await system_error_of(corio::fs::read_to_string(path));
        }(p, as_bytes));
        ASSERT_TRUE(e.has_value()) << "reading a missing file succeeded";
        EXPECT_EQ(e->code(), std::error_code(ENOENT, std::system_category())) << e->what();
        EXPECT_TRUE(contains(e->what(), "open")) << e->what();
        EXPECT_TRUE(contains(e->what(), p.string())) << e->what();
    }
}

TEST_F(fs_test, reading_a_directory_throws_eisdir_naming_read_and_the_path) {
    auto e = run_ct(system_error_of(corio::fs::read_to_string(dir)));
    ASSERT_TRUE(e.has_value()) << "reading a directory succeeded";
    EXPECT_EQ(e->code(), std::error_code(EISDIR, std::system_category())) << e->what();
    EXPECT_TRUE(contains(e->what(), "read")) << e->what();
    EXPECT_TRUE(contains(e->what(), dir.string())) << e->what();
}

TEST_F(fs_test, writing_into_a_missing_directory_throws_enoent_naming_open) {
    const stdfs::path p = dir / "no-such-dir" / "f.txt";
    auto e = run_mt(system_error_of(corio::fs::write(p, "x")));
    ASSERT_TRUE(e.has_value()) << "writing into a missing directory succeeded";
    EXPECT_EQ(e->code(), std::error_code(ENOENT, std::system_category())) << e->what();
    EXPECT_TRUE(contains(e->what(), "open")) << e->what();
    EXPECT_TRUE(contains(e->what(), p.string())) << e->what();
    EXPECT_FALSE(stdfs::exists(dir / "no-such-dir"));
}

TEST_F(fs_test, writing_to_dev_full_throws_enospc_naming_write_or_close) {
    if (!stdfs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    auto e = run_mt(system_error_of(corio::fs::write("/dev/full", std::string(100'000, 'f'))));
    ASSERT_TRUE(e.has_value()) << "writing to /dev/full succeeded";
    EXPECT_EQ(e->code(), std::error_code(ENOSPC, std::system_category())) << e->what();
    EXPECT_TRUE(contains(e->what(), "write") || contains(e->what(), "close")) << e->what();
    EXPECT_TRUE(contains(e->what(), "/dev/full")) << e->what();
}

TEST_F(fs_test, errors_leave_the_runtime_usable) {
    // After a failed operation, the same task goes on reading and writing.
    auto ok = run_ct([](stdfs::path d) -> task<bool> {
        auto e = co_await system_error_of(corio::fs::read(d / "missing"));
        co_await corio::fs::write(d / "after.txt", "fine");
        co_return e.has_value() && (co_await corio::fs::read_to_string(d / "after.txt")) == "fine";
    }(dir));
    EXPECT_TRUE(ok);
}

// ------------------------------------------------------------------ concurrency

task<int> read_and_check(stdfs::path p, std::string expected) {
    std::string got = co_await corio::fs::read_to_string(p);
    co_return got == expected ? 1 : 0;
}

task<int> many_reads(stdfs::path d, int files, int tasks) {
    for (int i = 0; i < files; ++i)
        co_await corio::fs::write(d / ("f" + std::to_string(i)),
                                  std::string(1000 + std::size_t(i) * 37, char('a' + i % 26)));
    std::vector<corio::join_handle<int>> hs;
    for (int t = 0; t < tasks; ++t) {
        int i = t % files;
        hs.push_back(corio::spawn(
            read_and_check(d / ("f" + std::to_string(i)),
                           std::string(1000 + std::size_t(i) * 37, char('a' + i % 26)))));
    }
    int ok = 0;
    for (auto& h : hs) ok += co_await h;
    co_return ok;
}

TEST_F(fs_test, many_concurrent_reads_from_many_tasks_all_return_the_right_contents) {
    EXPECT_EQ(run_mt(many_reads(dir, 20, 400)), 400);
    EXPECT_EQ(run_ct(many_reads(dir, 20, 200)), 200);
}

task<int> many_writes_then_reads(stdfs::path d, int n) {
    std::vector<corio::join_handle<void>> ws;
    for (int i = 0; i < n; ++i)
        ws.push_back(corio::spawn([](stdfs::path p, int v) -> task<> {
            co_await corio::fs::write(p, "value " + std::to_string(v));
        }(d / ("w" + std::to_string(i)), i)));
    for (auto& h : ws) co_await h;
    int ok = 0;
    for (int i = 0; i < n; ++i)
        ok += (co_await corio::fs::read_to_string(d / ("w" + std::to_string(i)))) ==
              "value " + std::to_string(i);
    co_return ok;
}

TEST_F(fs_test, many_concurrent_writes_to_distinct_files_all_land) {
    EXPECT_EQ(run_mt(many_writes_then_reads(dir, 200)), 200);
}

}  // namespace
