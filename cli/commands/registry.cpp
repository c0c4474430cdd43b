#include "commands/registry.hpp"

#include <algorithm>
#include <map>

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "options/global_options.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

constexpr auto kStyle = po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;

std::string join(const std::vector<std::string>& words, std::string_view sep = " ") {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

std::string group_usage(const std::vector<std::string>& prefix) {
  std::vector<std::string> path{"klee"};
  path.insert(path.end(), prefix.begin(), prefix.end());
  return join(path) + " [OPTIONS] COMMAND [ARGS]...";
}

std::string command_usage(const std::string& path, const Command& command) {
  std::string usage = path + " [OPTIONS]";
  for (const auto& p : command.positionals) {
    std::string word = p.name + (p.max_count < 0 || p.max_count > 1 ? "..." : "");
    usage += " " + (p.required ? word : "[" + word + "]");
  }
  return usage;
}

// Click's usage error: usage line, a hint, then the error.
int usage_error(std::ostream& err, const std::string& usage, const std::string& path,
                const std::string& message) {
  err << "Usage: " << usage << "\nTry '" << path << " --help' for help.\n\nError: " << message
      << std::endl;
  return 2;
}

po::options_description command_options(const Command& command) {
  po::options_description desc("Options");
  if (command.options) command.options(desc);
  desc.add_options()("help,h", "Show this message and exit.");
  return desc;
}

// How many of `args` are options (with their values) before the first other word; with
// `known_only`, an option `desc` does not know is such a word too.
std::size_t split_options(const po::options_description& desc, std::span<const std::string> args,
                          bool known_only = false) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const auto& word = args[i];
    if (word == "--" || word.size() < 2 || word.front() != '-') break;
    const bool is_long = word.starts_with("--");
    if (is_long && word.find('=') != std::string::npos) continue;
    // boost keys short options by "-x". In a cluster ("-it", "-dm SPEC", "-mSPEC") the first
    // letter that takes a value ends it: the rest of the word, or else the next word, is that.
    const std::string name = is_long ? word.substr(2) : word.substr(0, 2);
    const auto* option = desc.find_nothrow(name, false, false, false);
    if (option == nullptr && known_only) break;
    if (is_long) {
      if (option != nullptr && option->semantic()->max_tokens() > 0) ++i;
      continue;
    }
    for (std::size_t at = 1; at < word.size(); ++at) {
      const auto* letter = desc.find_nothrow(std::string{'-', word[at]}, false, false, false);
      if (letter == nullptr || letter->semantic()->max_tokens() == 0) continue;
      if (at + 1 == word.size()) ++i;
      break;
    }
  }
  return std::min(i, args.size());  // a value-taking option at the end: boost reports it
}

// Pass-through commands (`run IMAGE [COMMAND]...`): options may come before and after the
// single-word positionals, as Click lets Kleene's klee take `run IMAGE --network host CMD`;
// the first other word or unknown option after them (or what follows `--`) starts the rest.
void split_pass_through(const Command& command, const po::options_description& desc,
                        std::span<const std::string> args, std::vector<std::string>& option_words,
                        std::vector<std::string>& rest) {
  std::size_t fixed = 0;
  for (const auto& p : command.positionals) {
    if (p.max_count != 1) break;
    ++fixed;
  }
  option_words.clear();
  rest.clear();
  std::size_t i = 0;
  for (;;) {
    // After the positionals an unknown option starts the command (`run IMAGE sh -c ...`).
    const auto split = split_options(desc, args.subspan(i), rest.size() == fixed);
    option_words.insert(option_words.end(), args.begin() + static_cast<std::ptrdiff_t>(i),
                        args.begin() + static_cast<std::ptrdiff_t>(i + split));
    i += split;
    if (i < args.size() && args[i] == "--") {
      ++i;
      break;
    }
    if (i == args.size() || rest.size() == fixed) break;
    rest.push_back(args[i++]);
  }
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
}

}  // namespace

void Registry::add(Group group) {
  groups_.push_back(std::move(group));
}
void Registry::add(Command command) {
  commands_.push_back(std::move(command));
}

Registry::Child Registry::find_child(const std::vector<std::string>& prefix,
                                     const std::string& word) const {
  for (const auto& g : groups_) {
    if (g.path.size() == prefix.size() + 1 &&
        std::equal(prefix.begin(), prefix.end(), g.path.begin()) && g.path.back() == word) {
      return {.group = &g};
    }
  }
  for (const auto& c : commands_) {
    if (c.path.size() != prefix.size() + 1 ||
        !std::equal(prefix.begin(), prefix.end(), c.path.begin())) {
      continue;
    }
    if (c.path.back() == word || std::ranges::find(c.aliases, word) != c.aliases.end()) {
      return {.command = &c};
    }
  }
  if (prefix.empty()) {
    for (const auto& c : commands_) {
      if (std::ranges::find(c.shortcuts, word) != c.shortcuts.end()) return {.command = &c};
    }
  }
  return {};
}

int Registry::dispatch(std::span<const std::string> words, std::ostream& out, std::ostream& err,
                       const Invoke& invoke) const {
  std::vector<std::string> prefix;
  std::string path = "klee";
  for (std::size_t i = 0;; ++i) {
    if (i == words.size()) {
      if (prefix.empty()) {
        print_root_help(out);
      } else {
        print_group_help(prefix, out);
      }
      return 0;
    }
    const auto& word = words[i];
    if (word == "--help" || word == "-h") {
      if (prefix.empty()) {
        print_root_help(out);
      } else {
        print_group_help(prefix, out);
      }
      return 0;
    }
    if (word.starts_with("-")) {
      return usage_error(err, group_usage(prefix), path, "No such option: " + word);
    }
    auto child = find_child(prefix, word);
    if (child.group != nullptr) {
      prefix.push_back(word);
      path += " " + word;
      continue;
    }
    if (child.command == nullptr) {
      return usage_error(err, group_usage(prefix), path, "No such command '" + word + "'.");
    }
    return run_command(*child.command, path + " " + word, words.subspan(i + 1), out, err, invoke);
  }
}

int Registry::run_command(const Command& command, const std::string& path,
                          std::span<const std::string> args, std::ostream& out, std::ostream& err,
                          const Invoke& invoke) const {
  auto desc = command_options(command);
  const auto usage = command_usage(path, command);
  po::variables_map vm;
  try {
    std::vector<std::string> option_words(args.begin(), args.end());
    std::vector<std::string> rest;
    po::options_description all;
    all.add(desc);
    po::positional_options_description pos;
    if (command.pass_through) {
      split_pass_through(command, desc, args, option_words, rest);
    } else {
      for (const auto& p : command.positionals) {
        all.add_options()(p.name.c_str(), po::value<std::vector<std::string>>());
        pos.add(p.name.c_str(), p.max_count);
      }
    }
    po::store(
        po::command_line_parser(option_words).options(all).positional(pos).style(kStyle).run(), vm);
    if (vm.count("help") != 0) {
      out << "Usage: " << usage << "\n\n";
      if (!command.summary.empty()) out << "  " << command.summary << "\n\n";
      if (!command.description.empty()) out << command.description << "\n\n";
      out << desc << std::flush;
      return 0;
    }
    // Pass-through: the words after the options fill the positionals in order.
    for (const auto& p : command.pass_through ? command.positionals : std::vector<Positional>{}) {
      if (rest.empty()) break;
      const std::size_t n =
          p.max_count < 0 ? rest.size() : std::min(rest.size(), std::size_t(p.max_count));
      std::vector<std::string> taken(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
      rest.erase(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
      vm.insert({p.name, po::variable_value(boost::any(taken), false)});
    }
    if (!rest.empty()) {
      return usage_error(err, usage, path, "Got unexpected extra argument (" + rest.front() + ")");
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    return usage_error(err, usage, path, "No such option: " + e.get_option_name());
  } catch (const po::too_many_positional_options_error&) {
    return usage_error(err, usage, path, "Got unexpected extra arguments");
  } catch (const po::error& e) {
    return usage_error(err, usage, path, e.what());
  }
  for (const auto& p : command.positionals) {
    if (p.required && vm.count(p.name) == 0) {
      return usage_error(err, usage, path, "Missing argument '" + p.name + "'.");
    }
  }
  return invoke(command, vm, path);
}

void Registry::print_listing(const std::vector<std::string>& prefix, std::ostream& out) const {
  std::map<std::string, std::string> entries;
  for (const auto& g : groups_) {
    if (g.path.size() == prefix.size() + 1 &&
        std::equal(prefix.begin(), prefix.end(), g.path.begin())) {
      entries[g.path.back()] = g.summary;
    }
  }
  for (const auto& c : commands_) {
    if (c.path.size() == prefix.size() + 1 &&
        std::equal(prefix.begin(), prefix.end(), c.path.begin())) {
      entries[c.path.back()] = c.summary;
    }
  }
  std::size_t width = 0;
  for (const auto& [name, _] : entries)
    width = std::max(width, name.size());
  out << "Commands:\n";
  for (const auto& [name, summary] : entries) {
    out << "  " << name << std::string(width - name.size() + 2, ' ') << summary << "\n";
  }
  if (!prefix.empty()) return;

  std::map<std::string, std::string> shortcuts;
  for (const auto& c : commands_) {
    for (const auto& s : c.shortcuts)
      shortcuts[s] = "Shortcut for `klee " + join(c.path) + "`.";
  }
  if (shortcuts.empty()) return;
  width = 0;
  for (const auto& [name, _] : shortcuts)
    width = std::max(width, name.size());
  out << "\nShortcuts:\n";
  for (const auto& [name, text] : shortcuts) {
    out << "  " << name << std::string(width - name.size() + 2, ' ') << text << "\n";
  }
}

void Registry::print_group_help(const std::vector<std::string>& prefix, std::ostream& out) const {
  out << "Usage: " << group_usage(prefix) << "\n\n";
  for (const auto& g : groups_) {
    if (g.path == prefix) out << "  " << g.summary << "\n\n";
  }
  out << "Options:\n  -h [ --help ]  Show this message and exit.\n\n";
  print_listing(prefix, out);
  out << std::flush;
}

void Registry::print_root_help(std::ostream& out) const {
  out << "Usage: " << group_usage({}) << "\n\n  CLI to interact with Kleened.\n\n"
      << root_options_description() << "\n";
  print_listing({}, out);
  out << std::flush;
}

std::string positional(const po::variables_map& vm, const std::string& name) {
  auto values = positionals(vm, name);
  return values.empty() ? std::string() : values.front();
}

std::vector<std::string> positionals(const po::variables_map& vm, const std::string& name) {
  if (vm.count(name) == 0) return {};
  return vm[name].as<std::vector<std::string>>();
}

}  // namespace klee
