// klee image create METHOD [SOURCE]: Kleene's base-image creation over WebSocket
// /images/create. Output frames are printed as they come; on a terminal the progress frames
// ("Fetched N of M bytes, extracted K files") become one progress bar. The closing message
// and the image id end the output, as in Kleene's klee.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "image/create/progress.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

constexpr std::string_view kMethods[] = {"fetch", "fetch-auto", "zfs-copy", "zfs-clone"};

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits))
    value /= 1024, ++unit;
  char out[32];
  std::snprintf(out, sizeof out, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return out;
}

// Draws progress frames in place on a terminal; other frames end the bar's line first.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void frame(std::string_view data) {
    auto progress = terminal_ ? kleene::image::parse_progress(data) : std::nullopt;
    if (progress) {
      draw(*progress);
    } else {
      end_bar();
      out_ << data;
    }
    out_.flush();
  }

  void end_bar() {
    if (bar_shown_) out_ << "\n";
    bar_shown_ = false;
  }

 private:
  void draw(const kleene::image::Progress& p) {
    constexpr int kWidth = 30;
    std::string line = "\r";
    if (p.total && *p.total > 0) {
      const double done = std::min(1.0, static_cast<double>(p.fetched) / *p.total);
      const int filled = static_cast<int>(done * kWidth);
      line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "] ";
      char percent[8];
      std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(done * 100));
      line += std::string(percent) + "  " + human_bytes(p.fetched) + " / " + human_bytes(*p.total);
    } else {
      line += human_bytes(p.fetched);
    }
    line += "  " + std::to_string(p.files) + " files\x1b[K";
    out_ << line;
    bar_shown_ = true;
  }

  std::ostream& out_;
  bool terminal_;
  bool bar_shown_ = false;
};

// --dns/--no-dns and the like: the negative form wins when both are given.
bool flag(const po::variables_map& vm, const std::string& name, bool fallback) {
  if (vm.count("no-" + name) && vm["no-" + name].as<bool>()) return false;
  if (vm.count(name) && vm[name].as<bool>()) return true;
  return fallback;
}

int run(const Context& ctx, const po::variables_map& vm) {
  const auto method = positional(vm, "METHOD");
  const auto sources = positionals(vm, "SOURCE");
  if (std::ranges::find(kMethods, method) == std::end(kMethods)) {
    ctx.err << "Error: Invalid value for 'METHOD': '" << method
            << "' is not one of 'fetch', 'fetch-auto', 'zfs-copy', 'zfs-clone'." << std::endl;
    return 2;
  }
  if (sources.size() > 1) {
    std::string extra;
    for (std::size_t i = 1; i < sources.size(); ++i)
      extra += (i > 1 ? " " : "") + sources[i];
    ctx.err << "too many arguments: " << extra << std::endl;
    return 2;
  }
  if (method != "fetch-auto" && sources.empty()) {
    ctx.err << "Error: Missing argument 'SOURCE' for method " << method << "." << std::endl;
    return 2;
  }
  const std::string tag = vm["tag"].as<std::string>();
  bool autotag = flag(vm, "autotag", true);
  if (method == "fetch-auto" && !tag.empty()) autotag = false;  // klee: a tag wins
  const nlohmann::json config = {
      {"method", method},
      {"url", method == "fetch" ? sources[0] : ""},
      {"zfs_dataset", method.starts_with("zfs-") ? sources[0] : ""},
      {"tag", tag},
      {"dns", flag(vm, "dns", true)},
      {"localtime", flag(vm, "localtime", true)},
      {"update", flag(vm, "update", false)},
      {"autotag", method == "fetch-auto" && autotag},
      {"force", vm["force"].as<bool>()},
  };

  const bool terminal = &ctx.out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
  ProgressPrinter printer(ctx.out, terminal);
  WsHandlers handlers;
  handlers.on_output = [&printer](std::string_view data) { printer.frame(data); };
  auto result = ctx.websocket("/images/create", config, std::move(handlers));
  printer.end_bar();
  if (!result) return result.error();
  const auto& reason = result->reason;
  ctx.out << reason.message << "\n";
  if (result->close_code == 1000 && !reason.data.empty()) ctx.out << reason.data << "\n";
  ctx.out << std::flush;
  return result->close_code == 1000 ? 0 : 1;
}

}  // namespace

Command image_create_command() {
  return Command{
      .path = {"image", "create"},
      .summary = "Create a new base image",
      .description =
          "Create a base image from a tar-archive or a ZFS dataset.\n\n"
          "METHOD can be one of the following:\n"
          "  fetch-auto  Build the host's own release (debootstrap, minbase) from the host's\n"
          "              apt mirror. SOURCE is not used.\n"
          "  fetch       Fetch a tarball (tar, gz, xz, zstd, bzip2) and unpack it. SOURCE is an\n"
          "              http, https or file URL.\n"
          "  zfs-copy    Create a base image from a copy of an existing dataset. SOURCE is the\n"
          "              dataset.\n"
          "  zfs-clone   Create a base image from a clone of an existing dataset. SOURCE is the\n"
          "              dataset.",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("tag,t",
                               po::value<std::string>()->default_value("")->value_name("TEXT"),
                               "Name and optionally a tag in the 'name:tag' format")(
                "dns", po::bool_switch(),
                "Copy /etc/resolv.conf from the host to the new image (default)")(
                "no-dns", po::bool_switch(), "Do not copy /etc/resolv.conf")(
                "localtime", po::bool_switch(),
                "Copy /etc/localtime from the host to the new image, if it exists (default)")(
                "no-localtime", po::bool_switch(), "Do not copy /etc/localtime")(
                "update", po::bool_switch(),
                "Update the userland (accepted for Kleene compatibility; no effect on Linux)")(
                "no-update", po::bool_switch(), "Do not update the userland (default)")(
                "autotag,a", po::bool_switch(),
                "Name the image '<Distro>-<version>:latest' (default). Ignored if --tag is "
                "set. Method fetch-auto only.")("no-autotag", po::bool_switch(),
                                                "Do not autogenerate a name")(
                "force,f", po::bool_switch(),
                "Build even if debootstrap does not know the host's release. Method "
                "fetch-auto only.");
          },
      .positionals = {{.name = "METHOD"}, {.name = "SOURCE", .max_count = -1, .required = false}},
      .run = run,
  };
}

}  // namespace klee
