// kleene_bench_load: CLIENTS clients on kleened's unix socket issue a mixed workload of CALLS
// API calls at once (lists, inspects, container create/exec create/remove, volume and network
// life cycles, a few container start/stop, and 404s on purpose), check every status, and time
// each call by type; kleened's RSS, threads and descriptors are sampled meanwhile
// (/proc/PID). Writes a JSON report and a markdown table. Driven by bench/load/run.sh.
//   kleene_bench_load --socket PATH --pid PID --json OUT --markdown OUT
//                     [--clients 50] [--calls 10000] [--image base] [--seed 1]
// Exit status 0 when no call that should succeed failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using local = net::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string socket;
  std::string image = "base";
  std::string json_out;
  std::string markdown_out;
  int pid = 0;
  int clients = 50;
  int calls = 10000;
  unsigned seed = 1;
};

struct TypeStats {
  std::vector<double> ms;
  int ok = 0;
  int failed = 0;    // should have succeeded and did not
  int expected = 0;  // failures on purpose (404) that came as expected
};

// The calls left to make: a scenario takes all of its calls at once or none.
std::atomic<int> budget{0};
bool reserve(int n) {
  int left = budget.load();
  while (left >= n)
    if (budget.compare_exchange_weak(left, left - n)) return true;
  return false;
}

class Client {
 public:
  Client(const Options& options, int index)
      : options_(options), index_(index), random_(options.seed * 1000 + index) {}

  void run() {
    for (;;) {
      const int pick = std::uniform_int_distribution<int>(0, 99)(random_);
      if (pick < 2 && reserve(5))
        start_stop();
      else if (pick < 7 && reserve(6))
        network_life();
      else if (pick < 15 && reserve(3))
        volume_life();
      else if (pick < 35 && reserve(4))
        container_life();
      else if (pick < 39 && reserve(1))
        expected_failure();
      else if (reserve(1))
        read_one();
      else
        break;
    }
  }

  // Each scenario once, before the measured load: kleened's lazily made state (database
  // pages, netlink and nft sockets, handler threads) is there before "before" is taken.
  void warm_up() {
    container_life();
    volume_life();
    network_life();
    start_stop();
    expected_failure();
    read_one();
  }
  void disconnect() { socket_.reset(); }

  std::map<std::string, TypeStats> stats;
  std::vector<json> failures;  // the first few, for the report

 private:
  std::string name(const char* kind) {
    return "kl-load-" + std::string(kind) + std::to_string(index_) + "-" + std::to_string(++seq_);
  }

  // One HTTP call on the client's keep-alive connection (reconnected after an error). Records
  // the time under `type`; returns the body as JSON when the status is `want`.
  std::optional<json> call(const std::string& type, http::verb method, const std::string& target,
                           const json& body, unsigned want, bool on_purpose = false) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "localhost");
    if (!body.is_null()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body.dump();
    }
    request.keep_alive(true);
    request.prepare_payload();
    const auto start = Clock::now();
    unsigned status = 0;
    std::string answer;
    std::string error;
    try {
      if (!socket_) {
        socket_.emplace(ioc_);
        socket_->connect(local::endpoint(options_.socket));
      }
      http::write(*socket_, request);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      http::read(*socket_, buffer_, parser);
      status = parser.get().result_int();
      answer = std::move(parser.get().body());
      if (!parser.get().keep_alive()) socket_.reset();
    } catch (const std::exception& e) {
      error = e.what();
      socket_.reset();
      buffer_.clear();
    }
    return record(type, start, status == want, on_purpose, target, status, error, answer);
  }

  std::optional<json> record(const std::string& type, Clock::time_point start, bool good,
                             bool on_purpose, const std::string& target, unsigned status,
                             const std::string& error, const std::string& answer) {
    auto& s = stats[type];
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (good) {
      ++(on_purpose ? s.expected : s.ok);
      json parsed = json::parse(answer, nullptr, false);
      return parsed.is_discarded() ? json() : parsed;
    }
    ++s.failed;
    if (failures.size() < 20)
      failures.push_back({{"type", type},
                          {"target", target},
                          {"status", status},
                          {"error", error},
                          {"body", answer.substr(0, 300)}});
    return std::nullopt;
  }

  // exec start over a WebSocket of its own: attach false, start_container true; kleened closes
  // 1001 once the container runs.
  bool exec_start(const std::string& exec_id) {
    const auto start = Clock::now();
    std::string error;
    unsigned code = 0;
    try {
      local::socket socket(ioc_);
      socket.connect(local::endpoint(options_.socket));
      websocket::stream<local::socket> ws(std::move(socket));
      ws.handshake("localhost", "/exec/start");
      ws.text(true);
      const json config = {{"exec_id", exec_id}, {"attach", false}, {"start_container", true}};
      ws.write(net::buffer(config.dump()));
      for (;;) {
        beast::flat_buffer buffer;
        beast::error_code ec;
        ws.read(buffer, ec);
        if (ec == websocket::error::closed) break;
        if (ec) throw beast::system_error(ec);
      }
      code = static_cast<unsigned>(ws.reason().code);
      if (code != 1001) error = std::string(ws.reason().reason.data(), ws.reason().reason.size());
    } catch (const std::exception& e) {
      error = e.what();
    }
    return record("exec start (ws)", start, code == 1001, false, "/exec/start", code, error, "")
        .has_value();
  }

  std::string create_container(const std::string& name, const json& cmd, const char* driver) {
    auto created = call(
        "container create", http::verb::post, "/containers/create",
        {{"name", name}, {"image", options_.image}, {"cmd", cmd}, {"network_driver", driver}}, 201);
    return created && created->contains("id") ? (*created)["id"].get<std::string>() : "";
  }

  void container_life() {
    const std::string id = create_container(name("c"), {"/bin/true"}, "disabled");
    if (id.empty()) return;
    call("container inspect", http::verb::get, "/containers/" + id + "/inspect", nullptr, 200);
    call("exec create", http::verb::post, "/exec/create",
         {{"container_id", id}, {"cmd", {"/bin/echo", "hi"}}}, 201);
    call("container remove", http::verb::delete_, "/containers/" + id, nullptr, 200);
  }

  void start_stop() {
    const std::string id = create_container(
        name("s"), {"/bin/sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"}, "disabled");
    if (id.empty()) return;
    auto exec = call("exec create", http::verb::post, "/exec/create", {{"container_id", id}}, 201);
    if (exec && exec->contains("id")) exec_start((*exec)["id"].get<std::string>());
    call("container stop", http::verb::post, "/containers/" + id + "/stop", nullptr, 200);
    call("container remove", http::verb::delete_, "/containers/" + id, nullptr, 200);
  }

  void volume_life() {
    const std::string volume = name("v");
    if (!call("volume create", http::verb::post, "/volumes/create", {{"name", volume}}, 201))
      return;
    call("volume inspect", http::verb::get, "/volumes/" + volume + "/inspect", nullptr, 200);
    call("volume remove", http::verb::delete_, "/volumes/" + volume, nullptr, 200);
  }

  void network_life() {
    const std::string network = name("n");
    const json config = {{"name", network},
                         {"type", "loopback"},
                         {"subnet", "10.201." + std::to_string(index_) + ".0/24"}};
    if (!call("network create", http::verb::post, "/networks/create", config, 201)) return;
    const std::string id = create_container(name("nc"), {"/bin/true"}, "ipnet");
    if (!id.empty()) {
      if (call("network connect", http::verb::post, "/networks/connect",
               {{"container", id}, {"network", network}}, 204))
        call("network disconnect", http::verb::post, "/networks/" + network + "/disconnect/" + id,
             nullptr, 204);
      call("container remove", http::verb::delete_, "/containers/" + id, nullptr, 200);
    }
    call("network remove", http::verb::delete_, "/networks/" + network, nullptr, 200);
  }

  void expected_failure() {
    if (std::uniform_int_distribution<int>(0, 1)(random_) == 0)
      call("404 container inspect", http::verb::get, "/containers/kl-load-missing/inspect", nullptr,
           404, true);
    else
      call("404 volume remove", http::verb::delete_, "/volumes/kl-load-missing", nullptr, 404,
           true);
  }

  void read_one() {
    switch (std::uniform_int_distribution<int>(0, 5)(random_)) {
      case 0:
        call("container list", http::verb::get, "/containers/list?all=true", nullptr, 200);
        break;
      case 1:
        call("image list", http::verb::get, "/images/list", nullptr, 200);
        break;
      case 2:
        call("network list", http::verb::get, "/networks/list", nullptr, 200);
        break;
      case 3:
        call("volume list", http::verb::get, "/volumes/list", nullptr, 200);
        break;
      default:
        call("image inspect", http::verb::get, "/images/" + options_.image + "/inspect", nullptr,
             200);
    }
  }

  const Options& options_;
  const int index_;
  std::mt19937 random_;
  int seq_ = 0;
  net::io_context ioc_;
  std::optional<local::socket> socket_;
  beast::flat_buffer buffer_;
};

// kleened's VmRSS / VmHWM (KiB) and Threads from /proc/PID/status, and its open descriptors.
struct Sample {
  long rss = 0;
  long hwm = 0;
  long threads = 0;
  long fds = 0;
};
Sample sample(int pid) {
  Sample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    auto value = [&] { return std::atol(line.c_str() + line.find(':') + 1); };
    if (line.starts_with("VmRSS:")) s.rss = value();
    if (line.starts_with("VmHWM:")) s.hwm = value();
    if (line.starts_with("Threads:")) s.threads = value();
  }
  std::error_code ec;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++s.fds;
  return s;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--socket")
      o.socket = value;
    else if (key == "--image")
      o.image = value;
    else if (key == "--json")
      o.json_out = value;
    else if (key == "--markdown")
      o.markdown_out = value;
    else if (key == "--pid")
      o.pid = std::stoi(value);
    else if (key == "--clients")
      o.clients = std::stoi(value);
    else if (key == "--calls")
      o.calls = std::stoi(value);
    else if (key == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(value));
    else
      throw std::invalid_argument("unknown option " + key);
  }
  if (o.socket.empty() || o.pid <= 0 || o.json_out.empty() || o.markdown_out.empty())
    throw std::invalid_argument(
        "usage: kleene_bench_load --socket PATH --pid PID --json OUT --markdown OUT "
        "[--clients N] [--calls N] [--image NAME] [--seed N]");
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  Client warm(options, options.clients);
  warm.warm_up();
  warm.disconnect();
  if (!warm.failures.empty()) {
    std::cerr << "kleene_bench_load: the warm-up failed:\n" << json(warm.failures).dump(2) << "\n";
    return 1;
  }
  budget = options.calls;
  const Sample before = sample(options.pid);
  Sample peak = before;
  std::atomic<bool> running{true};
  std::thread sampler([&] {
    while (running) {
      const Sample now = sample(options.pid);
      peak.rss = std::max(peak.rss, now.rss);
      peak.threads = std::max(peak.threads, now.threads);
      peak.fds = std::max(peak.fds, now.fds);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the sampling period
    }
  });

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < options.clients; ++i)
    clients.push_back(std::make_unique<Client>(options, i));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (auto& client : clients)
    threads.emplace_back([&client] { client->run(); });
  for (auto& thread : threads)
    thread.join();
  for (auto& client : clients)
    client->disconnect();  // so that "after" counts kleened's descriptors, not our connections
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  running = false;
  sampler.join();
  // kleened gives freed memory back 1 s after its last handler (idle_trim_delay): measure
  // after that.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const Sample after = sample(options.pid);

  std::map<std::string, TypeStats> total;
  json failures = json::array();
  for (auto& client : clients) {
    for (auto& [type, s] : client->stats) {
      auto& t = total[type];
      t.ms.insert(t.ms.end(), s.ms.begin(), s.ms.end());
      t.ok += s.ok;
      t.failed += s.failed;
      t.expected += s.expected;
    }
    for (auto& f : client->failures)
      if (failures.size() < 20) failures.push_back(f);
  }
  int calls = 0, failed = 0, expected = 0;
  json types = json::object();
  std::string table =
      "| call | count | failed | p50 [ms] | p99 [ms] | max [ms] "
      "|\n|---|---:|---:|---:|---:|---:|\n";
  char row[256];
  for (auto& [type, s] : total) {
    const int count = static_cast<int>(s.ms.size());
    calls += count;
    failed += s.failed;
    expected += s.expected;
    const double p50 = percentile(s.ms, 0.50), p99 = percentile(s.ms, 0.99),
                 max = percentile(s.ms, 1.0);
    types[type] = {{"count", count},         {"ok", s.ok},    {"failed", s.failed},
                   {"expected", s.expected}, {"p50_ms", p50}, {"p99_ms", p99},
                   {"max_ms", max}};
    std::snprintf(row, sizeof row, "| %s | %d | %d | %.1f | %.1f | %.1f |\n", type.c_str(), count,
                  s.failed, p50, p99, max);
    table += row;
  }
  const json report = {
      {"clients", options.clients},
      {"calls", calls},
      {"failed", failed},
      {"expected_failures", expected},
      {"seconds", seconds},
      {"calls_per_second", calls / seconds},
      {"types", types},
      {"kleened",
       {{"rss_kib", {{"before", before.rss}, {"peak", peak.rss}, {"after", after.rss}}},
        {"vmhwm_kib", {{"before", before.hwm}, {"after", after.hwm}}},
        {"threads", {{"before", before.threads}, {"peak", peak.threads}, {"after", after.threads}}},
        {"fds", {{"before", before.fds}, {"peak", peak.fds}, {"after", after.fds}}}}},
      {"failures", failures}};
  std::ofstream(options.json_out) << report.dump(2) << "\n";

  std::snprintf(row, sizeof row,
                "%d calls from %d clients in %.1f s (%.0f calls/s): %d failed, %d failures on "
                "purpose as expected.\n\n",
                calls, options.clients, seconds, calls / seconds, failed, expected);
  std::string markdown = row;
  markdown += table;
  std::snprintf(row, sizeof row,
                "\n| kleened | before | peak | after |\n|---|---:|---:|---:|\n"
                "| RSS [KiB] | %ld | %ld | %ld |\n| threads | %ld | %ld | %ld |\n"
                "| open descriptors | %ld | %ld | %ld |\n",
                before.rss, peak.rss, after.rss, before.threads, peak.threads, after.threads,
                before.fds, peak.fds, after.fds);
  markdown += row;
  std::ofstream(options.markdown_out) << markdown;
  std::cout << markdown;
  if (!failures.empty()) std::cerr << "failures (first ones):\n" << failures.dump(2) << "\n";
  return failed == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "kleene_bench_load: " << e.what() << "\n";
  return 2;
}
