// klee's root options (`klee [OPTIONS] COMMAND ...`), Kleene's set.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>

#include "util/error.hpp"

namespace klee {

// What the command line said; an unset optional means "not given", so that the
// environment and the config file can fill it in (flag > KLEE_* env > file > default).
struct GlobalFlags {
  std::optional<std::string> host;
  std::optional<bool> tlsverify;  // --tlsverify / --no-tlsverify, the last one wins
  std::optional<std::string> tlscert;
  std::optional<std::string> tlskey;
  std::optional<std::string> tlscacert;
  std::optional<std::string> theme;
  std::optional<std::string> config;
  bool version = false;
  bool help = false;
};

struct RootArgs {
  GlobalFlags flags;
  std::vector<std::string> command;  // the command words and everything after them
};

// The description used both to parse and to print `klee --help`.
[[nodiscard]] const boost::program_options::options_description& root_options_description();

// Root options end at the first word that is not an option (Click's group semantics: options
// after the command word belong to the command). An unknown root option is an error whose
// message is Click's ("No such option: --x"); callers exit 2.
[[nodiscard]] kleene::Result<RootArgs> parse_root_args(std::span<const std::string> args);

}  // namespace klee
