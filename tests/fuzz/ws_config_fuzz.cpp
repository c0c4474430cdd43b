// Fuzzes the first frame of kleened's WebSocket endpoints (core/api/websocket.hpp): the config
// frame read by WsSession::receive_config over an in-memory transport (fake_ws.hpp), then the
// parsers its handlers call on it that are callable outside the handlers: ImageCreateConfig
// (image::parse_create_config, /images/create) and the parts of ImageBuildConfig that
// /images/build checks with public functions (container_config: container::parse_config,
// networks: network::parse_endpoint_config, tag: image::parse_nametag). Also the close reasons
// and messages the server writes back (websocket_message).
//
// Input: byte 0 picks the transport's answer to the first read (bits 0-1: a text frame, a
// binary frame, the client closing, a timeout) and the endpoint (bits 2-3: images/create,
// images/build, exec/start, websocket_message); the rest is the frame, or for
// websocket_message the fields decoded by FuzzedDataProvider.
//
// Invariants, on top of ASan/UBSan (and no uncaught exception):
//   - receive_config returns exactly the JSON objects; anything else closes 1002 once with a
//     reason that is a valid WebSocketMessage of at most 123 bytes ("error"), a client close
//     closes nothing, and an error is returned;
//   - parse_create_config accepts only the four methods, with the url or dataset each needs and
//     a valid nametag; its errors are EINVAL;
//   - websocket_message is always one JSON object of three strings, within the limit when the
//     limit leaves room for its fixed part; a cut message/data is a prefix of the uncut one, the
//     data is cut only when it alone does not fit, and what fits is not cut.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/websocket.hpp"
#include "container/container.hpp"
#include "fake_ws.hpp"
#include "fuzz_check.hpp"
#include "image/create/create_config.hpp"
#include "image/image.hpp"
#include "network/config.hpp"

namespace api = kleene::api;
using kleene::fuzz::FakeWs;
using kleene::fuzz::pick;

namespace {

// The parsed close reason / message; aborts unless it is {"msg_type","message","data"}.
nlohmann::json message_fields(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  KLEENE_FUZZ_CHECK(json.is_object() && json.size() == 3, text);
  for (const char* key : {"msg_type", "message", "data"})
    KLEENE_FUZZ_CHECK(json.contains(key) && json[key].is_string(), text);
  return json;
}

void check_invalid_close(const FakeWs& ws) {
  KLEENE_FUZZ_CHECK(ws.close_code() && *ws.close_code() == api::kCloseProtocolError,
                    "expected close 1002");
  KLEENE_FUZZ_CHECK(ws.close_reason().size() <= api::kMaxCloseReason, ws.close_reason());
  const auto reason = message_fields(ws.close_reason());
  KLEENE_FUZZ_CHECK(reason["msg_type"] == "error", ws.close_reason());
  KLEENE_FUZZ_CHECK(ws.closed() && !ws.started() && ws.written().empty(), ws.close_reason());
}

void check_create_config(const nlohmann::json& config) {
  auto parsed = kleene::image::parse_create_config(config);
  if (!parsed) {
    KLEENE_FUZZ_CHECK(parsed.error().code == EINVAL && !parsed.error().message.empty(),
                      parsed.error().message);
    return;
  }
  const auto& m = parsed->method;
  KLEENE_FUZZ_CHECK(m == "fetch" || m == "fetch-auto" || m == "zfs-copy" || m == "zfs-clone", m);
  KLEENE_FUZZ_CHECK(m != "fetch" || !parsed->url.empty(), "fetch without url");
  KLEENE_FUZZ_CHECK((m != "zfs-copy" && m != "zfs-clone") || !parsed->zfs_dataset.empty(),
                    "zfs without dataset");
  KLEENE_FUZZ_CHECK(parsed->tag.empty() || kleene::image::parse_nametag(parsed->tag).has_value(),
                    parsed->tag);
}

// The checks of /images/build that are public functions (parse_request itself is internal to
// core/api/image_build.cpp).
void check_build_config(const nlohmann::json& config) {
  if (const auto it = config.find("container_config"); it != config.end()) {
    auto parsed = kleene::container::parse_config(*it);
    if (!parsed) KLEENE_FUZZ_CHECK(parsed.error().pointer.starts_with('/'), parsed.error().pointer);
  }
  if (const auto it = config.find("networks"); it != config.end() && it->is_array()) {
    for (const auto& item : *it) {
      auto endpoint = kleene::network::parse_endpoint_config(item);
      if (!endpoint)
        KLEENE_FUZZ_CHECK(endpoint.error().pointer.starts_with('/'), endpoint.error().pointer);
    }
  }
  if (const auto it = config.find("tag"); it != config.end() && it->is_string())
    (void)kleene::image::parse_nametag(it->get<std::string>());
}

void check_frame(std::uint8_t selector, std::string_view frame) {
  FakeWs ws;
  const int transport = selector & 3;
  if (transport == 0 || transport == 1)
    ws.push_frame(std::string(frame), transport == 1);
  else
    ws.push(transport == 2 ? FakeWs::Kind::closed : FakeWs::Kind::timeout);
  auto config = ws.receive_config();
  KLEENE_FUZZ_CHECK(ws.reads() == 1, "receive_config reads one frame");
  if (transport == 2) {
    KLEENE_FUZZ_CHECK(!config && config.error().code == ECONNRESET && !ws.close_code(),
                      "a client close");
    return;
  }
  if (transport == 3) {
    KLEENE_FUZZ_CHECK(!config && config.error().code == ETIMEDOUT, "a timeout");
    check_invalid_close(ws);
    return;
  }
  const auto json = nlohmann::json::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    KLEENE_FUZZ_CHECK(!config && config.error().code == EINVAL, std::string(frame));
    check_invalid_close(ws);
    // Closing again fails instead of sending a second Close.
    KLEENE_FUZZ_CHECK(!ws.close_error("again"), "closed twice");
    return;
  }
  KLEENE_FUZZ_CHECK(config && *config == json && !ws.close_code(), std::string(frame));
  if (((selector >> 2) & 3) == 0)
    check_create_config(*config);
  else
    check_build_config(*config);
}

void check_message(FuzzedDataProvider& in) {
  const std::string msg_type = pick(in, {"error", "closing", "starting", "info"}, 16);
  const std::string message = in.ConsumeRandomLengthString(512);
  const std::string data = in.ConsumeRandomLengthString(256);
  const std::size_t limit =
      in.ConsumeBool() ? api::kMaxCloseReason : in.ConsumeIntegralInRange<std::size_t>(0, 1024);
  const std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  const std::string full_text = api::websocket_message(msg_type, message, data, unlimited);
  const std::string fixed_text = api::websocket_message(msg_type, "", "", unlimited);
  const std::string data_text = api::websocket_message(msg_type, "", data, unlimited);
  const std::string cut_text = api::websocket_message(msg_type, message, data, limit);
  const auto full = message_fields(full_text);
  const auto cut = message_fields(cut_text);
  message_fields(fixed_text);
  message_fields(data_text);
  const auto prefix = [](const nlohmann::json& a, const nlohmann::json& b) {
    return b.get<std::string>().starts_with(a.get<std::string>());
  };
  KLEENE_FUZZ_CHECK(prefix(cut["message"], full["message"]) && prefix(cut["data"], full["data"]),
                    cut_text + "\n  vs " + full_text);
  if (limit >= fixed_text.size()) {
    KLEENE_FUZZ_CHECK(cut_text.size() <= limit, cut_text);
    KLEENE_FUZZ_CHECK(cut["msg_type"] == full["msg_type"], cut_text);
  }
  if (full_text.size() <= limit) KLEENE_FUZZ_CHECK(cut_text == full_text, cut_text);
  if (data_text.size() <= limit)
    KLEENE_FUZZ_CHECK(cut["data"] == full["data"], "data cut although it fits: " + cut_text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  if (((selector >> 2) & 3) == 3) {
    FuzzedDataProvider in(data + 1, size - 1);
    check_message(in);
    return 0;
  }
  check_frame(selector, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
