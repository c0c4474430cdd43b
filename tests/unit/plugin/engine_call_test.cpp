// The host service engine_call (ABI 1.1) as a plugin sees it through the SDK: requests reach the
// registry's engine handler, answers and errors come back with their statuses, and a host without
// a handler (or an older table) says so.
#include <cerrno>

#include <gtest/gtest.h>

#include "kleene/plugin/sdk.hpp"
#include "plugin/host_services.hpp"

namespace kleene::plugin {
namespace {

using nlohmann::json;

TEST(EngineCall, ReachesTheHandlerAndReturnsItsAnswer) {
  auto slot = std::make_shared<detail::EngineSlot>();
  detail::HostServices services("tester");
  services.set_engine(slot);
  std::string seen_op;
  json seen_request;
  slot->set([&](std::string_view op, const json& request) -> Result<json> {
    seen_op = op;
    seen_request = request;
    return json{{"id", "abc"}};
  });
  const sdk::Host host(services.table());
  EXPECT_EQ(host.engine("container_create", {{"image", "base"}}), json({{"id", "abc"}}));
  EXPECT_EQ(seen_op, "container_create");
  EXPECT_EQ(seen_request, json({{"image", "base"}}));
}

TEST(EngineCall, ErrorsKeepTheirStatusAndMessage) {
  auto slot = std::make_shared<detail::EngineSlot>();
  detail::HostServices services("tester");
  services.set_engine(slot);
  const sdk::Host host(services.table());
  const std::pair<int, kleene_status> cases[] = {{ENOENT, KLEENE_E_NOT_FOUND},
                                                 {EINVAL, KLEENE_E_INVALID},
                                                 {EBUSY, KLEENE_E_BUSY},
                                                 {ENOTSUP, KLEENE_E_UNSUPPORTED},
                                                 {ECANCELED, KLEENE_E_FAILED}};
  for (const auto& [code, status] : cases) {
    slot->set([errno_value = code](std::string_view, const json&) -> Result<json> {
      return make_error(errno_value, "it went wrong");
    });
    try {
      (void)host.engine("exec", json::object());
      ADD_FAILURE() << "no error for errno " << code;
    } catch (const sdk::Error& e) {
      EXPECT_EQ(e.status(), status) << code;
      EXPECT_STREQ(e.what(), "it went wrong");
    }
  }
}

TEST(EngineCall, WithoutAHandlerItIsUnsupported) {
  detail::HostServices services("tester");
  const sdk::Host host(services.table());
  try {
    (void)host.engine("exec", json::object());
    ADD_FAILURE() << "no error";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.status(), KLEENE_E_UNSUPPORTED);
    EXPECT_NE(std::string(e.what()).find("no engine operations"), std::string::npos) << e.what();
  }
}

TEST(EngineCall, AnOlderHostTableHasNoEngineCall) {
  detail::HostServices services("tester");
  kleene_host_services old = *services.table();
  old.struct_size = offsetof(kleene_host_services, engine_call);  // an ABI 1.0 kleened
  const sdk::Host host(&old);
  try {
    (void)host.engine("exec", json::object());
    ADD_FAILURE() << "no error";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.status(), KLEENE_E_UNSUPPORTED);
  }
}

}  // namespace
}  // namespace kleene::plugin
