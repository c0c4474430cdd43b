// How a command describes itself to the registry (one file per command, crun-style).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include "commands/context.hpp"

namespace klee {

struct Positional {
  std::string name;   // the variables_map key and the usage word, e.g. "CONTAINER"
  int max_count = 1;  // -1: all remaining words
  bool required = true;
};

struct Command {
  std::vector<std::string> path;       // {"plugin", "ls"}: group words, then the command word
  std::vector<std::string> aliases;    // other words for the last element: {"list"}
  std::vector<std::string> shortcuts;  // top-level words that run it too: {"lsp"} (hidden)
  std::string summary;                 // one line, shown in listings and --help
  std::string description;             // more text for --help (optional)
  // Adds the command's options (--help is added by the registry).
  std::function<void(boost::program_options::options_description&)> options;
  std::vector<Positional> positionals;
  // Unknown options and words after "--" are passed through to positionals (run/exec).
  bool pass_through = false;
  std::function<int(const Context&, const boost::program_options::variables_map&)> run;
};

struct Group {
  std::vector<std::string> path;  // {"container"}
  std::string summary;            // "Manage containers"
};

}  // namespace klee
