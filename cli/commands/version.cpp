// klee version: the client's block, then the server's from GET /version.
#include <sys/utsname.h>

#include <iomanip>

#include "commands/all.hpp"
#include "options/defaults.hpp"

#ifndef KLEE_GIT_COMMIT
#define KLEE_GIT_COMMIT "unknown"
#endif

namespace klee {
namespace {

// The API version of Kleene's openapi document this client speaks.
constexpr std::string_view kApiVersion = "0.0.1";

void line(std::ostream& out, std::string_view label, std::string_view value) {
  out << " " << std::left << std::setw(13) << (std::string(label) + ":") << value << "\n";
}

std::string text(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "unknown";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int run(const Context& ctx, const boost::program_options::variables_map&) {
  utsname host{};
  ::uname(&host);
  ctx.out << "Client:\n";
  line(ctx.out, "Version", kVersion);
  line(ctx.out, "API version", kApiVersion);
  line(ctx.out, "OS/Arch", std::string("linux/") + host.machine);
  line(ctx.out, "Git commit", KLEE_GIT_COMMIT);
  ctx.out << std::flush;

  auto server = ctx.call_json({.target = "/version"}, {200});
  if (!server) return server.error();
  const auto& v = *server;
  ctx.out << "\nServer:\n";
  line(ctx.out, "Name", text(v, "name"));
  line(ctx.out, "Version", text(v, "version"));
  line(ctx.out, "API version", text(v, "api_version"));
  line(ctx.out, "Plugin ABI", text(v, "plugin_abi"));
  line(ctx.out, "OS/Arch", text(v, "os") + "/" + text(v, "arch"));
  line(ctx.out, "Kernel", text(v, "kernel"));
  line(ctx.out, "Git commit", text(v, "git_commit"));
  ctx.out << std::flush;
  return 0;
}

}  // namespace

Command version_command() {
  return Command{
      .path = {"version"},
      .summary = "Show the version of klee and of the kleened it connects to",
      .run = run,
  };
}

}  // namespace klee
