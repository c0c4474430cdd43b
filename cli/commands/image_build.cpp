// klee image build PATH (shortcut: klee build): Kleene's image build over the WebSocket
// /images/build. The first frame is the ImageBuildConfig (the context made absolute, the build
// container's ContainerConfig from Kleene's container options); klee prints
// `Started to build image with ID <id>` from the starting message, the build output as it comes,
// and the closing message. A failed build exits 1; SIGINT/SIGTERM close the socket (kleened then
// removes the build) and exit 128+N.
#include <csignal>
#include <filesystem>

#include <boost/asio/ip/address.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/build_context.hpp"
#include "commands/container_common.hpp"
#include "transport/ws_connection.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

using namespace transport;

constexpr std::size_t kQuietTailBytes = 64 * 1024;  // output kept to explain a quiet failure

kleene::Result<nlohmann::json> build_args(const std::vector<std::string>& specs) {
  auto args = nlohmann::json::object();
  for (const auto& spec : specs) {
    const auto at = spec.find('=');
    if (at == std::string::npos || at == 0) {
      return kleene::make_error(2, "Error: Invalid value for '--build-arg': '" + spec +
                                       "' is not of the form KEY=VALUE.");
    }
    args[spec.substr(0, at)] = spec.substr(at + 1);  // a repeated KEY: the last one wins
  }
  return args;
}

// PATH as Kleene's klee sends it (os.path.abspath): absolute, `.`/`..` resolved lexically,
// symlinks kept, no trailing slash.
std::string context_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path absolute = path.empty() ? fs::current_path(ec) : fs::absolute(path, ec);
  if (ec) absolute = path;
  auto text = absolute.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/')
    text.pop_back();
  return text;
}

// Whether kleened runs on this machine: a unix socket, or TCP to a loopback address.
bool on_this_host(const HostUrl& url) {
  if (url.unix_socket) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(url.host, ec);
  if (ec) return url.host == "localhost";
  return address.is_loopback();
}

std::vector<std::string> jail_params(const po::variables_map& vm) {
  auto params = multi(vm, "jailparam");
  for (auto& param : multi(vm, "jail-param"))
    params.push_back(std::move(param));
  return params;
}

// The ImageBuildConfig. A usage problem (bad --build-arg, -m, driver/network combination) is
// an error whose code is the exit code.
kleene::Result<nlohmann::json> build_config(const po::variables_map& vm) {
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& spec : multi(vm, "mount"))
    mounts.push_back(TRY(parse_mount(spec)));
  const auto network = TRY(network_choice(vm));
  const auto from = optional_string(vm, "from");
  const nlohmann::json container_config = {
      {"name", nullptr},
      {"cmd", nullptr},
      {"image", from ? nlohmann::json(*from) : nlohmann::json(nullptr)},
      {"user", optional_string(vm, "user").value_or("")},
      {"env", multi(vm, "env")},
      {"mounts", mounts},
      {"jail_param", jail_params(vm)},
      {"network_driver", network.driver},
  };
  auto networks = nlohmann::json::array();
  if (network.network) {
    networks.push_back({{"container", ""},
                        {"network", *network.network},
                        {"ip_address", network.ip.value_or("<auto>")},
                        {"ip_address6", network.ip6.value_or("<auto>")}});
  }
  return nlohmann::json{
      {"context", context_path(positional(vm, "PATH"))},
      {"dockerfile", vm["file"].as<std::string>()},
      {"tag", vm["tag"].as<std::string>()},
      {"quiet", vm["quiet"].as<bool>()},
      {"cleanup", vm["rm"].as<bool>()},
      {"no_cache", vm["no-cache"].as<bool>()},
      {"buildargs", TRY(build_args(multi(vm, "build-arg")))},
      {"container_config", container_config},
      {"networks", networks},
  };
}

struct BuildResult {
  bool started = false;
  WsMessage starting;
  unsigned close_code = 0;
  WsMessage reason;
  int signal = 0;  // the SIGINT/SIGTERM that made klee hang up
};

struct BuildHandlers {
  std::function<void(const WsMessage&)> on_starting;
  std::function<void(std::string_view)> on_output;
  bool handle_signals = true;
};

// One /images/build session. Unlike ws_session it keeps the starting message (its data is the
// image id). A signal closes the socket with 1000 "interrupted by user" (once the config is
// sent), as Kleene's client does; a second one stops waiting for kleened's answer.
class BuildSession {
 public:
  BuildSession(const Endpoint& endpoint, BuildHandlers handlers)
      : handlers_(std::move(handlers)), conn_(endpoint) {}

  // `upload`: the context directory and Dockerfile to send after the config (context_upload).
  kleene::Result<BuildResult> run(
      std::string_view config, const std::optional<std::pair<std::string, std::string>>& upload) {
    TRY(conn_.connect("/images/build", std::chrono::seconds(30)));
    if (handlers_.handle_signals) {
      conn_.signals().add(SIGINT);
      conn_.signals().add(SIGTERM);
      wait_for_signal();
    }
    std::string first;
    std::optional<kleene::Error> upload_failure;
    std::function<error_code()> send_context;
    if (upload) {
      send_context = [&]() -> error_code {
        error_code failed;
        auto packed = pack_context(upload->first, upload->second,
                                   [&](std::string_view chunk) -> kleene::Result<void> {
                                     failed = conn_.send_binary(chunk);
                                     if (failed)
                                       return kleene::make_error(EPIPE, "the connection ended");
                                     return {};
                                   });
        if (failed) return failed;
        if (!packed) {
          upload_failure = packed.error();
          return make_error_code(boost::system::errc::operation_canceled);
        }
        return conn_.send_binary("");  // the end of the context
      };
    }
    if (auto ec = conn_.start(config, first, send_context)) {
      if (upload_failure) return std::unexpected(*upload_failure);
      return finish(ec);
    }
    if (is_ws_message(first, "starting")) {
      result_.started = true;
      result_.starting = parse_ws_message(first);
      handlers_.on_starting(result_.starting);
    } else {
      handlers_.on_output(first);
    }
    reading_ = true;
    if (result_.signal != 0) hang_up();
    conn_.read_frames([this](const std::string& frame) { handlers_.on_output(frame); });
    return finish(conn_.run());
  }

 private:
  void wait_for_signal() {
    conn_.signals().async_wait([this](error_code e, int sig) {
      if (e) return;
      if (result_.signal != 0) {
        conn_.ioc().stop();
        return;
      }
      result_.signal = sig;
      if (reading_) hang_up();
      wait_for_signal();
    });
  }

  void hang_up() { conn_.async_close_normal("interrupted by user"); }

  kleene::Result<BuildResult> finish(const error_code& ec) {
    error_code ignored;
    conn_.signals().cancel(ignored);
    conn_.signals().clear(ignored);
    if (!WsConnection::closed(ec) && result_.signal != 0) return result_;
    auto close = TRY(conn_.close(ec));
    result_.close_code = close.code;
    result_.reason = std::move(close.reason);
    return result_;
  }

  BuildHandlers handlers_;
  WsConnection conn_;
  bool reading_ = false;
  BuildResult result_;
};

// Kleene's builder status lines; klee gives them a line of their own (bold on a colour
// terminal), as Kleene's klee does. Everything else is process output, written as it is.
bool is_status(std::string_view frame) {
  return (frame.starts_with("Step ") && frame.find(" : ") != std::string_view::npos) ||
         frame.starts_with("--> Snapshot created: @") || frame.starts_with("---> Using cache") ||
         frame.starts_with("Using user-supplied parent image: ") ||
         (frame.starts_with("The command '") &&
          frame.find("' returned a non-zero code: ") != std::string_view::npos);
}

// Writes the build output to `out`; a quiet build keeps it (its last kQuietTailBytes or more)
// to explain a failure instead.
class BuildPrinter {
 public:
  BuildPrinter(std::ostream& out, bool bold, bool quiet)
      : out_(out), bold_(bold && !quiet), quiet_(quiet) {}

  // A line of its own: after the output so far ends its line.
  void line(std::string_view text) {
    end_line();
    write(bold_ ? "\x1b[1m" : "");
    write(text);
    write(bold_ ? "\x1b[0m\n" : "\n");
    at_line_start_ = true;
  }

  void frame(std::string_view data) {
    if (is_status(data)) {
      if (data.ends_with('\n')) data.remove_suffix(1);
      return line(data);
    }
    if (data.empty()) return;
    write(data);
    at_line_start_ = data.back() == '\n';
  }

  void end_line() {
    if (!at_line_start_) write("\n");
    at_line_start_ = true;
  }

  [[nodiscard]] const std::string& held_back() const { return tail_; }

 private:
  void write(std::string_view text) {
    if (text.empty()) return;
    if (!quiet_) {
      out_.write(text.data(), static_cast<std::streamsize>(text.size()));
      out_.flush();
      return;
    }
    tail_.append(text);
    if (tail_.size() > 2 * kQuietTailBytes) tail_.erase(0, tail_.size() - kQuietTailBytes);
  }

  std::ostream& out_;
  bool bold_;
  bool quiet_;
  bool at_line_start_ = true;
  std::string tail_;
};

int report_failure(const Context& ctx, const BuildResult& result, BuildPrinter& printer,
                   bool quiet) {
  printer.end_line();
  ctx.out << std::flush;
  if (quiet) ctx.err << printer.held_back();
  const auto& reason = result.reason;
  ctx.err << (reason.message.empty() ? "ERROR! Some unexpected error occured" : reason.message)
          << "\n";
  if (result.started && !reason.data.empty()) {
    ctx.err << "Failed to build image " << result.starting.data << ". Most recent snapshot is "
            << reason.data << "\n";
  }
  ctx.err << std::flush;
  return 1;
}

int run(const Context& ctx, const po::variables_map& vm) {
  auto config = build_config(vm);
  if (!config) {
    ctx.err << config.error().message << std::endl;
    return config.error().code;
  }
  auto endpoint = make_endpoint(ctx.client.settings());
  if (!endpoint) return ctx.fail(endpoint.error());

  // kleened on another machine cannot read PATH: klee sends it (docs/api.md, images/build).
  std::optional<std::pair<std::string, std::string>> upload;
  if (vm["upload"].as<bool>() || !on_this_host(endpoint->url)) {
    upload.emplace((*config)["context"].get<std::string>(), vm["file"].as<std::string>());
    (*config)["context"] = "";
    (*config)["context_upload"] = true;
  }
  const bool quiet = vm["quiet"].as<bool>();
  BuildPrinter printer(ctx.out, ctx.color, quiet);
  BuildHandlers handlers{
      .on_starting =
          [&](const WsMessage& starting) {
            if (!quiet && !starting.data.empty())
              printer.line("Started to build image with ID " + starting.data);
          },
      .on_output = [&](std::string_view data) { printer.frame(data); },
  };
  ctx.out << std::flush;
  const auto text = config->dump();
  BuildSession session(*endpoint, std::move(handlers));
  auto result = session.run(text, upload);
  if (!result) {
    printer.end_line();
    return ctx.fail(result.error());
  }
  if (result->signal != 0) {
    printer.end_line();
    return 128 + result->signal;
  }
  const auto& reason = result->reason;
  if (!result->started || result->close_code != 1000 || reason.msg_type == "error") {
    return report_failure(ctx, *result, printer, quiet);
  }
  if (quiet) {
    ctx.out << (reason.data.empty() ? reason.message : reason.data) << "\n" << std::flush;
    return 0;
  }
  printer.line(reason.message);
  if (!reason.data.empty()) printer.line(reason.data);
  return 0;
}

void add_options(po::options_description& desc) {
  auto text = [] { return po::value<std::string>()->value_name("TEXT"); };
  auto list = [] { return po::value<std::vector<std::string>>()->value_name("list"); };
  desc.add_options()("from", text(),
                     "Specify an image that will overwrite the image in the Dockerfile's 'FROM' "
                     "instruction.")(
      "file,f", po::value<std::string>()->default_value("Dockerfile")->value_name("TEXT"),
      "Location of the Dockerfile relative to PATH.")(
      "tag,t", po::value<std::string>()->default_value("")->value_name("TEXT"),
      "Name and optionally a tag in the 'name:tag' format")(
      "quiet,q", po::bool_switch(), "Suppress the build output and print image ID on success")(
      "rm", po::bool_switch(), "Whether or not to remove the image if the build fails")(
      "build-arg", list(),
      "Set build-time variables (e.g. `--build-arg FIRST=hello --build-arg SECOND=world`)")(
      "no-cache", po::bool_switch(), "Do not use the build cache: run every step again")(
      "upload", po::bool_switch(),
      "Send the build context (PATH, less what .dockerignore excludes) to kleened instead of "
      "its path; klee does this by itself when kleened is reached over TCP.")(
      "user,u", text(),
      "Default user of the build container. 'USER' instructions override it; if neither is "
      "set, the user of the parent image is used.")(
      "env,e", list(),
      "Set environment variables of the build container (e.g. `--env FIRST=SomeValue --env "
      "SECOND=AnotherValue`). 'ENV' instructions override them.")(
      "mount,m", list(),
      "Mount a volume/directory/file on the host filesystem into the build container. Mounts "
      "are specfied by `--mount SOURCE:DESTINATION[:rw|ro]`.")(
      "jailparam,J", list(), "Set jail parameters of the build container. See docs for details.")(
      "jail-param", list(), "Same as --jailparam.")(
      "driver,l", text(),
      "Network driver of the build container. Possible values: 'ipnet', 'host', 'vnet', and "
      "'disabled'. If no `network` and no `driver` is supplied, the network driver is set to "
      "'host'. If a `network` is set but no `driver`, it is set to 'ipnet'.")(
      "network-driver", text(), "Same as --driver.")(
      "network,n", text(),
      "Connect the build container to a network. `--network host` means `--driver host`.")(
      "ip", text(),
      "IPv4 address of the build container. If omitted, an unused ip is allocated from the "
      "IPv4 subnet of `network`.")("ip6", text(),
                                   "IPv6 address of the build container. If omitted, an unused "
                                   "ip is allocated from the IPv6 subnet of `network`.");
}

}  // namespace

Command image_build_command() {
  return Command{
      .path = {"image", "build"},
      .shortcuts = {"build"},
      .summary = "Build a new image",
      .description =
          "Build a new image from a context and Dockerfile located in PATH.\n\n"
          "PATH is a directory on the host where kleened runs; klee sends it as an absolute "
          "path. The container-related options configure the build container. Note that `user` "
          "and `env` options will be overwritten by the 'USER' and 'ENV' Dockerfile "
          "instructions, respectively.",
      .options = add_options,
      .positionals = {{.name = "PATH"}},
      .run = run,
  };
}

}  // namespace klee
