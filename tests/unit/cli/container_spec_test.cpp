// klee's container commands, pure parts: Kleene's -m and -p specs, the exit line, the ls table.
#include <gtest/gtest.h>

#include "commands/container_common.hpp"
#include "output/table.hpp"

namespace klee {
namespace {

using nlohmann::json;

TEST(MountSpec, VolumesAndHostPaths) {
  EXPECT_EQ(*parse_mount("some_storage:/foo/bar"), (json{{"type", "volume"},
                                                         {"source", "some_storage"},
                                                         {"destination", "/foo/bar"},
                                                         {"read_only", false}}));
  EXPECT_EQ(*parse_mount("archive:/writeprotected:ro"), (json{{"type", "volume"},
                                                              {"source", "archive"},
                                                              {"destination", "/writeprotected"},
                                                              {"read_only", true}}));
  EXPECT_EQ(*parse_mount("/home/me/src:/app:rw"), (json{{"type", "nullfs"},
                                                        {"source", "/home/me/src"},
                                                        {"destination", "/app"},
                                                        {"read_only", false}}));
}

TEST(MountSpec, KleenesErrorsAndExitCode) {
  auto one = parse_mount("/foo");
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().code, 125);
  EXPECT_EQ(one.error().message,
            "invalid mount format '/foo'. Must have at least 2 elements seperated by ':'.");
  auto four = parse_mount("a:/b:ro:x");
  ASSERT_FALSE(four);
  EXPECT_EQ(four.error().code, 125);
  EXPECT_EQ(four.error().message,
            "invalid mount format 'a:/b:ro:x'. Max 3 elements seperated by ':'.");
  auto mode = parse_mount("a:/b:wo");
  ASSERT_FALSE(mode);
  EXPECT_EQ(mode.error().message,
            "invalid mount format 'a:/b:wo'. Last element should be either 'ro' or 'rw'.");
  for (auto spec : {":/b", "a:", ":"}) {
    auto empty = parse_mount(spec);
    ASSERT_FALSE(empty) << spec;
    EXPECT_EQ(empty.error().code, 125);
  }
}

TEST(PublishSpec, KleenesForms) {
  EXPECT_EQ(*parse_publish("8080"), (json{{"interfaces", json::array()},
                                          {"host_port", "8080"},
                                          {"container_port", "8080"},
                                          {"protocol", "tcp"}}));
  EXPECT_EQ(*parse_publish("8080:80/udp"), (json{{"interfaces", json::array()},
                                                 {"host_port", "8080"},
                                                 {"container_port", "80"},
                                                 {"protocol", "udp"}}));
  EXPECT_EQ(*parse_publish("eth0:7000-7010:7000"), (json{{"interfaces", {"eth0"}},
                                                         {"host_port", "7000-7010"},
                                                         {"container_port", "7000"},
                                                         {"protocol", "tcp"}}));
  for (auto bad : {"1:2:3:4", "80/tcp/x", "", ":80", "80/"}) {
    auto r = parse_publish(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, std::string("could not decode port to publish: ") + bad);
  }
}

TEST(ExitLine, BothOfKleenesSentences) {
  EXPECT_EQ(parse_exit_code("executable 176b56a85a4a and its container exited with exit-code 0"),
            0);
  EXPECT_EQ(parse_exit_code("b00b2e926566 has exited with exit-code 137"), 137);
  EXPECT_EQ(parse_exit_code("x has exited with exit-code 3\n"), 3);
  EXPECT_EQ(parse_exit_code("succesfully started execution instance in detached mode"),
            std::nullopt);
  EXPECT_EQ(parse_exit_code("x has exited with exit-code "), std::nullopt);
  EXPECT_EQ(parse_exit_code("x has exited with exit-code 1a"), std::nullopt);
}

TEST(ContainerTable, RowsAndColumns) {
  const auto running = json::parse(R"({"id":"c0ffee000001","name":"web","image_id":"aaaaaaaaaaaa",
      "image_name":"busybox","image_tag":"latest","cmd":["/bin/sh","-c","sleep 1000"],
      "created":"2020-01-01T00:00:00Z","restart_policy":"on-startup","running":true,"jid":4242})");
  auto row = container_row(running);
  ASSERT_EQ(row.size(), 8u);
  EXPECT_EQ(row[0], "c0ffee000001");
  EXPECT_EQ(row[1], "web");
  EXPECT_EQ(row[2], "busybox:latest");
  EXPECT_EQ(row[3], "/bin/sh -c sleep 1000");
  EXPECT_TRUE(row[4].ends_with(" ago")) << row[4];
  EXPECT_EQ(row[5], "yes");
  EXPECT_EQ(row[6], "running");
  EXPECT_EQ(row[7], "4242");
  const auto stopped = json::parse(R"({"id":"c0ffee000002","name":"old","image_id":"bbbbbbbbbbbb",
      "image_name":"","image_tag":"","cmd":["/bin/true"],"created":"2020-01-01T00:00:00Z",
      "restart_policy":"no","running":false,"jid":null})");
  row = container_row(stopped);
  EXPECT_EQ(row[2], "bbbbbbbbbbbb");  // no name: the image id
  EXPECT_EQ(row[5], "no");
  EXPECT_EQ(row[6], "stopped");
  EXPECT_EQ(row[7], "");

  std::vector<std::string> headers;
  for (const auto& c : container_columns())
    headers.push_back(c.header);
  EXPECT_EQ(headers, (std::vector<std::string>{"CONTAINER ID", "NAME", "IMAGE", "COMMAND",
                                               "CREATED", "AUTORUN", "STATUS", "JID"}));
  const auto table = render_table(container_columns(), std::vector<Row>{row}, Theme::simple);
  EXPECT_TRUE(table.starts_with(" CONTAINER ID  | NAME | IMAGE        | COMMAND   | CREATED"))
      << table;
  // A long command is cut at 40 columns.
  auto long_cmd = stopped;
  long_cmd["cmd"] = {"/bin/sh", "-c", std::string(60, 'x')};
  const auto cut =
      render_table(container_columns(), std::vector<Row>{container_row(long_cmd)}, Theme::simple);
  EXPECT_NE(cut.find(std::string(20, 'x') + "... |"), std::string::npos) << cut;
  EXPECT_EQ(cut.find(std::string(41, 'x')), std::string::npos) << cut;
}

}  // namespace
}  // namespace klee
