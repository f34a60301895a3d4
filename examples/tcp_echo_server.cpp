// tcp_echo_server — accept connections and echo each one in its own task.
//   ./tcp_echo_server [address] [--self-test]     (address defaults to 127.0.0.1:7000)
// --self-test also connects 3 clients to the server, checks their echoes and exits.
#include <corio/corio.hpp>
#include <corio/net/tcp.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace net = corio::net;

corio::task<> echo(net::tcp_stream stream) {
    const std::string peer = stream.peer_address().to_string();
    std::printf("connection from %s\n", peer.c_str());
    std::array<std::byte, 4096> buf;
    try {
        while (std::size_t n = co_await stream.read(buf))  // 0: the peer closed its side
            co_await stream.write_all(std::span(buf.data(), n));
        std::printf("closed %s\n", peer.c_str());
    } catch (const std::system_error& e) {  // e.g. connection reset
        std::printf("closed %s: %s\n", peer.c_str(), e.what());
    }
}

corio::task<> serve(net::tcp_listener listener) {
    for (;;) {
        auto [stream, peer] = co_await listener.accept();
        corio::spawn(echo(std::move(stream)));  // dropping the join_handle detaches the task
    }
}

corio::task<bool> client(net::socket_address server, int id) {
    auto stream = co_await net::tcp_stream::connect(server);
    const std::string message = "hello from client " + std::to_string(id);
    co_await stream.write_all(message);
    stream.shutdown();  // our EOF ends the server's echo loop
    std::string reply;
    std::array<char, 256> buf;
    while (std::size_t n = co_await stream.read(buf)) reply.append(buf.data(), n);
    co_return reply == message;
}

corio::task<int> async_main(std::string address, bool self_test) {
    try {
        auto listener = co_await net::tcp_listener::bind(address);
        const net::socket_address local = listener.local_address();  // the real port if :0
        std::printf("listening on %s\n", local.to_string().c_str());
        if (!self_test) {
            co_await serve(std::move(listener));
            co_return 0;
        }  // until killed
        auto server = corio::spawn(serve(std::move(listener)));
        std::vector<corio::join_handle<bool>> clients;
        for (int id = 1; id <= 3; ++id) clients.push_back(corio::spawn(client(local, id)));
        int intact = 0;
        for (auto& c : clients) intact += co_await c;
        server.abort();
        std::printf("self-test: %d/3 echoes intact\n", intact);
        co_return intact == 3 ? 0 : 1;
    } catch (const std::exception& e) {  // address in use, unparsable address, ...
        std::fprintf(stderr, "tcp_echo_server: %s\n", e.what());
        co_return 1;
    }
}

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // line by line, also into a pipe or a log
    const bool self_test = argc > 2 && std::string_view(argv[2]) == "--self-test";
    return corio::run(async_main(argc > 1 ? argv[1] : "127.0.0.1:7000", self_test));
}
