// kleened's HTTP conventions, checked on the wire with a raw client (no klee involved).
#include "common.hpp"

namespace kleene::it {
namespace {

class HttpTest : public KleenedTest {
 protected:
  void SetUp() override {
    daemon.config()["max_request_body"] = kBodyLimit;
    ASSERT_TRUE(daemon.start());
  }

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       std::map<std::string, std::string> headers = {}) {
    if (!body.empty()) headers.emplace("Content-Type", "application/json");
    return http_unix(daemon.socket_path(), method, target, body, std::move(headers));
  }

  static constexpr int kBodyLimit = 4096;
};

json parse_json(const HttpResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(body.is_discarded()) << "not JSON: " << r.body;
  EXPECT_TRUE(r.header("content-type").starts_with("application/json")) << r.header("content-type");
  return body;
}

// The 422 body OpenApiSpex produces: {"errors":[{"title","source":{"pointer"},"message"}]}.
void expect_openapispex_error(const HttpResponse& r, const std::string& pointer) {
  EXPECT_EQ(r.status, 422) << r.body;
  json body = parse_json(r);
  ASSERT_TRUE(body.contains("errors") && body["errors"].is_array() && !body["errors"].empty())
      << body.dump();
  const json& error = body["errors"][0];
  EXPECT_EQ(error.value("title", ""), "Invalid value") << body.dump();
  ASSERT_TRUE(error.contains("source") && error["source"].is_object()) << body.dump();
  EXPECT_EQ(error["source"].value("pointer", ""), pointer) << body.dump();
  EXPECT_TRUE(error.contains("message") && error["message"].is_string()) << body.dump();
}

TEST_F(HttpTest, VersionEndpoint) {
  HttpResponse r = request("GET", "/version");
  ASSERT_EQ(r.status, 200) << r.body;
  json v = parse_json(r);
  EXPECT_EQ(v.value("name", ""), "kleened");
  EXPECT_EQ(v.value("version", ""), paths::version());
  EXPECT_EQ(v.value("os", ""), "linux");
  for (const char* key : {"api_version", "plugin_abi", "kernel", "arch", "git_commit"}) {
    EXPECT_TRUE(v.contains(key) && v[key].is_string()) << key << " in " << v.dump();
  }
}

TEST_F(HttpTest, PluginListSortedByKindThenName) {
  HttpResponse r = request("GET", "/plugins/list");
  ASSERT_EQ(r.status, 200) << r.body;
  json list = parse_json(r);
  ASSERT_TRUE(list.is_array()) << list.dump();
  std::set<std::string> names;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& p : list) {
    for (const char* key : {"name", "kind", "version", "abi", "path", "description"}) {
      EXPECT_TRUE(p.contains(key) && p[key].is_string()) << key << " in " << p.dump();
    }
    EXPECT_TRUE(p.contains("capabilities") && p["capabilities"].is_array()) << p.dump();
    names.insert(p.value("name", ""));
    order.emplace_back(p.value("kind", ""), p.value("name", ""));
  }
  for (const auto& plugin : builtin_plugins())
    EXPECT_TRUE(names.contains(plugin)) << plugin;
  EXPECT_TRUE(std::ranges::is_sorted(order)) << list.dump();
}

TEST_F(HttpTest, UnknownRouteIsPlainNotFound) {
  HttpResponse r = request("GET", "/kleene-no-such-route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "not found");
  EXPECT_TRUE(r.header("content-type").starts_with("text/plain")) << r.header("content-type");
}

TEST_F(HttpTest, KnownPathWrongMethodIs405) {
  HttpResponse r = request("GET", "/containers/create");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(parse_json(r), (json{{"message", "method not allowed"}}));
}

TEST_F(HttpTest, MalformedJsonIs422) {
  HttpResponse r = request("POST", "/containers/create", "{bad");
  expect_openapispex_error(r, "/");
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_discarded() && body.contains("errors")) {
    EXPECT_TRUE(body["errors"][0].value("message", "").starts_with("malformed JSON"))
        << body.dump();
  }
}

TEST_F(HttpTest, NonObjectBodyIs422) {
  expect_openapispex_error(request("POST", "/containers/create", "[1, 2]"), "/");
}

TEST_F(HttpTest, ValidConnectBodyWithoutStorageIs500) {
  // The body passes the schema; connecting needs containers, hence storage, which this daemon
  // (no pool) does not have: Kleene's 500 with the reason, not a 501 any more.
  HttpResponse r =
      request("POST", "/networks/connect", R"({"container": "c", "network": "kltest"})");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_TRUE(parse_json(r).value("message", "").starts_with("storage is not ready")) << r.body;
}

TEST_F(HttpTest, OversizedBodyIs413AndCloses) {
  // A keep-alive connection: the server itself must decide to close it.
  UniqueFd fd = connect_unix(daemon.socket_path());
  std::string body = R"({"image": ")" + std::string(kBodyLimit * 2, 'x') + R"("})";
  HttpResponse r = exchange(fd.get(), format_request("POST", "/containers/create", body,
                                                     {{"Content-Type", "application/json"}}));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(parse_json(r), (json{{"message", "request body too large"}}));
  EXPECT_TRUE(peer_closes(fd.get(), std::chrono::seconds(5))) << "connection left open";
  // The daemon is still serving.
  EXPECT_EQ(request("GET", "/version").status, 200);
}

TEST_F(HttpTest, OversizedContentLengthIs413BeforeTheBody) {
  UniqueFd fd = connect_unix(daemon.socket_path());
  HttpResponse r = exchange(fd.get(), format_request("POST", "/containers/create", "",
                                                     {{"Content-Type", "application/json"},
                                                      {"Content-Length", "1073741824"}}));
  EXPECT_EQ(r.status, 413) << r.body;
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  UniqueFd fd = connect_unix(daemon.socket_path());
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = exchange(fd.get(), format_request("GET", "/version"));
    EXPECT_EQ(r.status, 200) << "request " << i;
  }
}

TEST_F(HttpTest, ManyConcurrentConnections) {
  // All connections are open before any request is sent: a server that handled one
  // connection at a time would never answer the first request while later ones wait.
  constexpr int kConnections = 32;
  std::vector<UniqueFd> fds;
  for (int i = 0; i < kConnections; ++i)
    fds.push_back(connect_unix(daemon.socket_path()));
  for (int i = kConnections - 1; i >= 0; --i) {
    HttpResponse r = exchange(fds[static_cast<size_t>(i)].get(),
                              format_request("GET", "/version", "", {{"Connection", "close"}}));
    EXPECT_EQ(r.status, 200) << "connection " << i;
  }
}

}  // namespace
}  // namespace kleene::it
