// WebSocket /images/create, Kleene's protocol:
//   config frame (ImageCreateConfig) -> invalid: a text frame with the cast error, Close 1002
//   {"msg_type":"error","message":"invalid parameters"}; else `starting`, output frames
//   (progress, tool output), then Close 1000 {"closing","image created",<image id>}, or on
//   failure a text frame with the reason and Close 1011 {"error","image creation failed"}.
#include "api/image_create.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "api/context.hpp"
#include "api/router.hpp"
#include "api/storage_ready.hpp"
#include "api/websocket.hpp"
#include "image/create/create.hpp"
#include "storage/storage.hpp"

namespace kleene::api {
namespace {

constexpr std::string_view kFailed = "image creation failed";

// Frames go to the client; a failed write or a Close from the client means it went away.
// The client is polled at most every 250 ms: a zero-timeout read keeps its read pending.
class WsReporter final : public image::Reporter {
 public:
  explicit WsReporter(WsSession& ws) : ws_(ws) {}

  void info(std::string_view text) override {
    if (gone_) return;
    if (!ws_.send_output(text)) gone_ = true;
  }

  bool cancelled() override {
    if (gone_) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll_ < std::chrono::milliseconds(250)) return false;
    last_poll_ = now;
    for (;;) {
      auto frame = ws_.read(std::chrono::milliseconds(1));
      if (!frame) {
        if (frame.error().code != ETIMEDOUT) gone_ = true;
        return gone_;
      }
      if (!*frame) {  // the client closed
        gone_ = true;
        return true;
      }
      // Kleene ignores frames after the config; so do we.
    }
  }

  bool gone() const { return gone_; }

 private:
  WsSession& ws_;
  bool gone_ = false;
  std::chrono::steady_clock::time_point last_poll_{};
};

void create(ApiContext& context, WsSession& ws) {
  auto raw = ws.receive_config();
  if (!raw) return;  // closed 1002 by receive_config
  auto config = image::parse_create_config(*raw);
  if (!config) {
    (void)ws.send_output(config.error().message);
    (void)ws.close_invalid("invalid parameters");
    return;
  }
  auto storage = ready_storage(context);
  if (!storage) {
    const auto& refused = storage.error();
    const auto body = nlohmann::json::parse(refused.body, nullptr, false);
    (void)ws.send_output(body.is_object() ? body.value("message", refused.body) : refused.body);
    (void)ws.close_error(kFailed);
    return;
  }
  if (!ws.send_starting()) return;

  WsReporter reporter(ws);
  image::ImageRepository images(*context.store);
  image::CreateEnv env{.storage = **storage, .images = images};
  auto created = image::create_image(*config, env, reporter);
  if (created) {
    spdlog::info("image {} created ({})", created->id, config->method);
    (void)ws.close_ok("image created", created->id);
    return;
  }
  spdlog::warn("image creation ({}) failed: {}", config->method, created.error().message);
  if (reporter.gone()) return;  // nobody to tell; the guard already cleaned up
  (void)ws.send_output(created.error().message + "\n");
  (void)ws.close_error(kFailed);
}

}  // namespace

void register_image_create_route(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  router.websocket("/images/create", [ctx](WsSession& ws, const Request&) { create(*ctx, ws); });
}

}  // namespace kleene::api
