// Command groups and commands, Click-style dispatch and help.
#pragma once

#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "commands/command.hpp"

namespace klee {

class Registry {
 public:
  void add(Group group);
  void add(Command command);

  // Runs `words` (what follows the root options). Help goes to `out` (exit 0); usage errors go
  // to `err` in Click's format (exit 2); otherwise `invoke` runs the command and its result is
  // returned. `invoke` gets the command path as typed, e.g. "klee plugin list".
  using Invoke = std::function<int(const Command&, const boost::program_options::variables_map&,
                                   const std::string& command_path)>;
  int dispatch(std::span<const std::string> words, std::ostream& out, std::ostream& err,
               const Invoke& invoke) const;

  // `klee --help`: usage, root options, commands and shortcuts.
  void print_root_help(std::ostream& out) const;

  [[nodiscard]] const std::vector<Command>& commands() const { return commands_; }

 private:
  struct Child {
    const Group* group = nullptr;
    const Command* command = nullptr;
  };
  Child find_child(const std::vector<std::string>& prefix, const std::string& word) const;
  void print_group_help(const std::vector<std::string>& prefix, std::ostream& out) const;
  void print_listing(const std::vector<std::string>& prefix, std::ostream& out) const;
  int run_command(const Command& command, const std::string& path,
                  std::span<const std::string> args, std::ostream& out, std::ostream& err,
                  const Invoke& invoke) const;

  std::vector<Group> groups_;
  std::vector<Command> commands_;
};

// Positional values of a parsed command line ("" / empty when absent).
[[nodiscard]] std::string positional(const boost::program_options::variables_map& vm,
                                     const std::string& name);
[[nodiscard]] std::vector<std::string> positionals(const boost::program_options::variables_map& vm,
                                                   const std::string& name);

}  // namespace klee
