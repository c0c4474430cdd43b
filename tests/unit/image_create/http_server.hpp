// A tiny HTTP/1.0 server on 127.0.0.1 for fetch tests: serves fixed bodies by path, 404
// otherwise. One connection at a time, closed after each response.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

namespace kleene::image::test {

class HttpServer {
 public:
  HttpServer();   // listens on an ephemeral port
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Register before fetching; not synchronised with requests in flight.
  void serve(const std::string& path, std::string body) { bodies_[path] = std::move(body); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }

 private:
  void loop();
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::map<std::string, std::string> bodies_;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kleene::image::test
