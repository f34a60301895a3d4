// corio/gen/generator.hpp — generator<T>: a synchronous coroutine that co_yields values.
//
//     corio::generator<int> counter() { for (int i = 0; i < 3; ++i) co_yield i; }
//     for (int v : counter()) std::cout << v << '\n';          // a std::ranges input range
//
//     corio::generator<int> tree(node* n) {                     // recursion without the cost
//         if (!n) co_return;
//         co_yield corio::elements_of(tree(n->left));
//         co_yield n->value;
//         co_yield corio::elements_of(tree(n->right));
//     }
//
// The shape of C++23's std::generator<T>:
//  * Lazy: the body starts at begin() and runs up to each co_yield; ++it resumes it.
//  * A std::ranges::input_range and view: begin() once, iterate once; move-only.
//    `*it` is `T&&` for a value type T (move from it, or copy it), `T` for a reference T.
//  * co_yield of an lvalue copies it when T is a value type; of an rvalue, no copy.
//  * An exception escaping the body propagates out of begin() or ++it; the generator is
//    then finished (it == end()).
//  * `co_yield corio::elements_of(r)` yields every element of the range r. When r is a
//    generator<T> of the same type, it runs nested: the iterator resumes the innermost
//    active generator directly, so a yield through N levels of nesting costs O(1), not O(N),
//    and nesting depth uses no thread stack (starting, finishing and destroying nested
//    generators are loops, not recursion). An exception escaping a nested generator is
//    rethrown at its `co_yield elements_of(...)` in the parent, which may catch it.
//  * Destroying the generator (e.g. `break` out of a range-for) destroys its frame and every
//    nested frame, innermost first, running the locals' destructors.
//
// Cost: one frame per generator, from corio's frame recycler (frame_allocator.hpp); a yield
// is a resume and a suspend, with no allocation. Not thread-safe: one thread iterates at a
// time. No corio runtime is needed: generators are plain synchronous code.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <ranges>
#include <type_traits>
#include <utility>

#include "corio/detail/frame_allocator.hpp"

namespace corio {

// `co_yield corio::elements_of(r)` yields every element of the range `r` (see above).
// Holds a reference to `r`; `r` lives until the end of the co_yield's full expression.
// (g++ 12 rejects a braced list there — elements_of(std::vector<int>{1, 2}) — name it first.)
template <std::ranges::range R>
struct elements_of {
    R range;
};
template <class R>
elements_of(R&&) -> elements_of<R&&>;

template <class T>
class generator;

template <class T>
class [[nodiscard]] generator : public std::ranges::view_interface<generator<T>> {
    static_assert(!std::is_void_v<T>, "corio::generator<void> yields nothing: use a function");

public:
    using value_type = std::remove_cvref_t<T>;
    using reference = std::conditional_t<std::is_reference_v<T>, T, T&&>;

    class promise_type;
    using handle_type = std::coroutine_handle<promise_type>;

    // Rules of a chain of nested generators (root = the one the iterator holds):
    //  1. root.m_leaf is the innermost generator that has started and not finished; the
    //     iterator resumes it and nothing else. m_leaf == root when nothing is nested.
    //  2. Every generator of a chain has m_root = the root's promise; a yield stores the
    //     address of the value in the root (m_value), which the iterator reads.
    //  3. A nested generator has m_parent (resumed next when it finishes) and m_owner (the
    //     handle that owns its frame, inside the parent's frame). The root destroys a chain
    //     from the leaf outward and clears each m_owner first, so no frame is destroyed
    //     twice and no destruction recurses.
    class promise_type {
    public:
        using pointer = std::add_pointer_t<reference>;

        promise_type() noexcept : m_leaf(handle_type::from_promise(*this)) {}

        static void* operator new(std::size_t size) { return detail::allocate_frame(size); }
        static void operator delete(void* p, std::size_t size) noexcept {
            detail::deallocate_frame(p, size);
        }

        generator get_return_object() noexcept {
            return generator(handle_type::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }

        struct final_awaiter {
            bool await_ready() const noexcept { return false; }
            void await_suspend(handle_type h) const noexcept {
                promise_type& p = h.promise();
                // Nested: the iterator's loop resumes the parent next (rule 1).
                if (p.m_root != &p) p.m_root->m_leaf = p.m_parent;
            }
            void await_resume() const noexcept {}
        };
        final_awaiter final_suspend() const noexcept { return {}; }

        std::suspend_always yield_value(reference v) noexcept {
            m_root->m_value = std::addressof(v);
            return {};
        }

        // co_yield of an lvalue when the generator yields rvalues: yields a copy.
        struct copy_awaiter {
            value_type value;
            promise_type* root;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<>) noexcept {
                root->m_value = std::addressof(value);
            }
            void await_resume() const noexcept {}
        };
        copy_awaiter yield_value(const std::remove_reference_t<reference>&v) requires
            std::is_rvalue_reference_v<reference> && std::constructible_from < value_type,
            const std::remove_reference_t<reference>
        & > { return copy_awaiter{value_type(v), m_root}; }

        // Runs the generator owned by `*owner` nested (rules 1-3).
        struct nested_awaiter {
            handle_type* owner;
            bool await_ready() const noexcept { return !*owner || owner->done(); }
            void await_suspend(handle_type parent) const noexcept {
                promise_type& child = owner->promise();
                promise_type* root = parent.promise().m_root;
                child.m_root = root;
                child.m_parent = parent;
                child.m_owner = owner;
                root->m_leaf = *owner;  // the iterator's loop starts the child
            }
            void await_resume() const {
                if (!*owner) return;
                promise_type& child = owner->promise();
                if (child.m_exception)
                    std::rethrow_exception(std::exchange(child.m_exception, nullptr));
            }
        };
        nested_awaiter yield_value(elements_of<generator&&> e) noexcept {
            return {&e.range.m_handle};
        }
        nested_awaiter yield_value(elements_of<generator&> e) noexcept {
            return {&e.range.m_handle};
        }

        // Any other range: its elements are yielded by a nested generator over it.
        struct range_awaiter {
            generator inner;
            bool await_ready() const noexcept { return false; }
            void await_suspend(handle_type parent) noexcept {
                nested_awaiter{&inner.m_handle}.await_suspend(parent);
            }
            void await_resume() { nested_awaiter{&inner.m_handle}.await_resume(); }
        };
        template <class R>
        requires(!std::is_same_v<std::remove_cvref_t<R>, generator>) &&
            std::ranges::input_range<R> &&
            (std::convertible_to<std::ranges::range_reference_t<R>, reference> ||
             (std::is_rvalue_reference_v<reference> &&
              std::convertible_to<std::ranges::range_reference_t<R>, const value_type&>))
                range_awaiter yield_value(elements_of<R> e) {
            return range_awaiter{yield_all<R>(static_cast<R&&>(e.range))};
        }

        template <class U>
        void await_transform(U&&) = delete;  // a generator cannot co_await: use async_generator
        void return_void() const noexcept {}
        void unhandled_exception() noexcept { m_exception = std::current_exception(); }

        // Root only: runs the chain until the next yield or the root's end (rule 1).
        void advance() {
            handle_type self = handle_type::from_promise(*this);
            m_value = nullptr;
            for (;;) {
                m_leaf.resume();
                if (m_value) return;
                if (self.done()) {
                    if (m_exception) std::rethrow_exception(std::exchange(m_exception, nullptr));
                    return;
                }
                // A nested generator started or finished: resume the new leaf.
            }
        }

        // Root only: destroys the nested chain from the leaf outward (rule 3).
        void destroy_nested() noexcept {
            handle_type self = handle_type::from_promise(*this);
            while (m_leaf != self) {
                handle_type leaf = m_leaf;
                promise_type& p = leaf.promise();
                m_leaf = p.m_parent;
                *p.m_owner = nullptr;
                leaf.destroy();
            }
        }

        bool is_root() const noexcept { return m_root == this; }
        reference value() const noexcept { return static_cast<reference>(*m_value); }

    private:
        template <class R>
        static generator yield_all(R r) {
            for (auto&& e : r) co_yield static_cast<std::ranges::range_reference_t<R>>(e);
        }

        pointer m_value = nullptr;  // root: the value of the last yield
        handle_type m_leaf;         // root: the innermost active generator
        promise_type* m_root = this;
        handle_type m_parent{};          // nested: resumed when this one finishes
        handle_type* m_owner = nullptr;  // nested: the handle owning this frame
        std::exception_ptr m_exception{};
    };

    class iterator {
    public:
        using iterator_concept = std::input_iterator_tag;
        using value_type = generator::value_type;
        using difference_type = std::ptrdiff_t;

        iterator() noexcept = default;
        iterator(iterator&& o) noexcept : m_root(std::exchange(o.m_root, {})) {}
        iterator& operator=(iterator&& o) noexcept {
            m_root = std::exchange(o.m_root, {});
            return *this;
        }

        reference operator*() const noexcept {
            assert(m_root && !m_root.done() && "corio::generator: dereferencing the end");
            return m_root.promise().value();
        }
        // Resumes the generator up to its next yield. Rethrows an exception escaping it.
        iterator& operator++() {
            assert(m_root && !m_root.done() && "corio::generator: incrementing the end");
            m_root.promise().advance();
            return *this;
        }
        void operator++(int) { ++*this; }

        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
            return !it.m_root || it.m_root.done();
        }

    private:
        friend class generator;
        explicit iterator(handle_type root) noexcept : m_root(root) {}
        handle_type m_root{};
    };

    generator() noexcept = default;
    generator(generator&& o) noexcept
        : m_handle(std::exchange(o.m_handle, {})), m_started(std::exchange(o.m_started, false)) {}
    generator& operator=(generator o) noexcept {
        std::swap(m_handle, o.m_handle);
        std::swap(m_started, o.m_started);
        return *this;
    }
    ~generator() { reset(); }

    // Starts the generator and runs it to its first yield (rethrowing an exception escaping
    // it). Call once.
    iterator begin() {
        if (m_handle && !m_handle.done()) {
            assert(m_handle.promise().is_root() &&
                   "corio::generator: iterating a nested generator");
            assert(!m_started && "corio::generator: begin() called twice");
            m_started = true;
            m_handle.promise().advance();
        }
        return iterator(m_handle);
    }
    std::default_sentinel_t end() const noexcept { return std::default_sentinel; }

private:
    explicit generator(handle_type h) noexcept : m_handle(h) {}
    void reset() noexcept {
        if (!m_handle) return;
        if (m_handle.promise().is_root()) m_handle.promise().destroy_nested();
        std::exchange(m_handle, {}).destroy();
    }

    handle_type m_handle{};
    bool m_started = false;
};

}  // namespace corio
