// Fuzzes the first frame of kleened's WebSocket endpoints (core/api/websocket.hpp): the config
// frame read by WsSession::receive_config over an in-memory transport (fake_ws.hpp), then the
// parser of the endpoint it picks: ImageCreateConfig (image::parse_create_config,
// /images/create), ImageBuildConfig (api::parse_build_request, /images/build) or ExecStartConfig
// (api::parse_exec_start, /exec/start, whose frame bytes also go to api::parse_resize as an
// exec's resize frame). Also the close reasons and messages the server writes back
// (websocket_message).
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
//   - parse_build_request accepts a string context (passed on as is), a container_config that
//     parse_config accepts, one endpoint per network and string build args; a refusal has a
//     reason;
//   - parse_exec_start accepts exactly a string exec_id and boolean attach and start_container;
//   - parse_resize gives a size exactly for integer rows and cols in 1..65535;
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
#include "api/ws_configs.hpp"
#include "container/container.hpp"
#include "fake_ws.hpp"
#include "fuzz_check.hpp"
#include "image/create/create_config.hpp"
#include "image/image.hpp"
#include "network/config.hpp"
#include "util/json_body.hpp"

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

// ImageBuildConfig (/images/build) as the endpoint parses it: accepted, the builder is asked
// for the context given, and each part was accepted by its own parser.
void check_build_config(const nlohmann::json& config) {
  api::BuildRequest request;
  if (auto invalid = api::parse_build_request(config, request)) {
    KLEENE_FUZZ_CHECK(!invalid->empty(), "an empty reason");
    return;
  }
  KLEENE_FUZZ_CHECK(
      config["context"].is_string() && request.plugin_request["context"] == config["context"],
      config.dump());
  KLEENE_FUZZ_CHECK(kleene::container::parse_config(config["container_config"]).has_value(),
                    config.dump());
  const auto networks = config.find("networks");
  KLEENE_FUZZ_CHECK(request.networks.size() ==
                        (networks == config.end() || networks->is_null() ? 0 : networks->size()),
                    config.dump());
  for (const auto& [key, value] : request.plugin_request["buildargs"].items())
    KLEENE_FUZZ_CHECK(value.is_string(), key);
  const auto tag = config.find("tag");
  if (tag != config.end() && tag->is_string() && !tag->get<std::string>().empty())
    KLEENE_FUZZ_CHECK(kleene::image::parse_nametag(tag->get<std::string>()).has_value(),
                      tag->dump());
}

// ExecStartConfig (/exec/start): accepted exactly when the three fields have their types.
void check_exec_start(const nlohmann::json& config) {
  api::ExecStartConfig parsed;
  const auto invalid = api::parse_exec_start(config, parsed);
  const auto typed = [&](const char* key, bool string) {
    const auto it = config.find(key);
    return it != config.end() && (string ? it->is_string() : it->is_boolean());
  };
  const bool valid =
      typed("exec_id", true) && typed("attach", false) && typed("start_container", false);
  KLEENE_FUZZ_CHECK(valid == !invalid, config.dump());
  if (valid) {
    KLEENE_FUZZ_CHECK(parsed.exec_id == config["exec_id"].get<std::string>() &&
                          parsed.attach == config["attach"].get<bool>() &&
                          parsed.start_container == config["start_container"].get<bool>(),
                      config.dump());
  }
}

// An exec's resize frame payload: a size only for {"rows":R,"cols":C} with both integers in
// 1..65535, and then exactly those.
void check_resize(std::string_view payload) {
  const auto size = api::parse_resize(payload);
  const auto json = kleene::util::parse_json_bounded(payload);
  const auto dimension = [&](const char* key) -> long long {
    if (!json || !json->is_object()) return -1;
    const auto it = json->find(key);
    if (it == json->end() || !it->is_number_integer()) return -1;
    const auto value = it->get<long long>();
    return value >= 1 && value <= 65535 ? value : -1;
  };
  const long long rows = dimension("rows"), cols = dimension("cols");
  KLEENE_FUZZ_CHECK(size.has_value() == (rows > 0 && cols > 0), std::string(payload));
  if (size) KLEENE_FUZZ_CHECK(size->first == rows && size->second == cols, std::string(payload));
}

void check_frame(std::uint8_t selector, std::string_view frame) {
  const int endpoint = (selector >> 2) & 3;
  if (endpoint == 2) check_resize(frame);
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
  if (endpoint == 0)
    check_create_config(*config);
  else if (endpoint == 1)
    check_build_config(*config);
  else
    check_exec_start(*config);
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
