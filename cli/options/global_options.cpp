#include "options/global_options.hpp"

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "options/defaults.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

po::options_description make_description() {
  po::options_description desc("Options");
  auto text = [] { return po::value<std::string>()->value_name("TEXT"); };
  desc.add_options()                                       //
      ("config", text(), "Location of Klee config file.")  //
      ("theme", text(),
       "Theme used for Klee's output. Possible values: 'fancy' or 'simple'. Default is "
       "'fancy'.")  //
      ("host", text(),
       ("Host address and protocol to use. See the docs for details. Default is `" +
        std::string(kDefaultHost) + "`.")
           .c_str())  //
      ("tlsverify",
       "Verify the server cert (--no-tlsverify disables it). Uses the system CA bundle, "
       "unless `tlscacert` is set.")                      //
      ("no-tlsverify", "Do not verify the server cert.")  //
      ("tlscert", text(),
       "Path to TLS certificate file used for client authentication (PEM "
       "encoded)")  //
      ("tlskey", text(),
       "Path to TLS key file used for the `tlscert` certificate (PEM encoded)")  //
      ("tlscacert", text(),
       "Trust certs signed only by this CA (PEM encoded). Implies `tlsverify`.")  //
      ("version", "Show the version and exit.")                                   //
      ("help,h", "Show this message and exit.");
  return desc;
}

// Whether `word` (an option token) names a root option that takes a value.
kleene::Result<bool> takes_value(const po::options_description& desc, std::string_view word) {
  std::string name(word);
  if (name.starts_with("--")) {
    name = name.substr(2);
    if (auto eq = name.find('='); eq != std::string::npos) return false;  // value is inline
  } else {
    name = name.substr(0, 2);  // boost matches short options with their dash: "-x"
  }
  const auto* option = desc.find_nothrow(name, false, false, false);
  if (option == nullptr) return kleene::make_error(EINVAL, "No such option: " + std::string(word));
  // "-xVALUE" carries its value inline.
  const bool is_long = word.starts_with("--");
  return option->semantic()->max_tokens() > 0 && (is_long || word.size() == 2);
}

}  // namespace

const po::options_description& root_options_description() {
  static const po::options_description desc = make_description();
  return desc;
}

kleene::Result<RootArgs> parse_root_args(std::span<const std::string> args) {
  const auto& desc = root_options_description();
  std::vector<std::string> root;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const auto& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.size() < 2 || word.front() != '-') break;
    root.push_back(word);
    if (TRY(takes_value(desc, word))) {
      if (i + 1 >= args.size()) {
        return kleene::make_error(EINVAL, "Option '" + word + "' requires an argument.");
      }
      root.push_back(args[++i]);
    }
  }

  RootArgs out;
  out.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  po::parsed_options parsed(&desc);
  try {
    parsed = po::command_line_parser(root)
                 .options(desc)
                 .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
                 .run();
  } catch (const po::error& e) {
    return kleene::make_error(EINVAL, e.what());
  }
  // In command-line order, so that the last of --tlsverify/--no-tlsverify wins as in Click.
  auto& f = out.flags;
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    const std::string value = option.value.empty() ? std::string() : option.value.front();
    if (key == "host")
      f.host = value;
    else if (key == "tlscert")
      f.tlscert = value;
    else if (key == "tlskey")
      f.tlskey = value;
    else if (key == "tlscacert")
      f.tlscacert = value;
    else if (key == "theme")
      f.theme = value;
    else if (key == "config")
      f.config = value;
    else if (key == "tlsverify")
      f.tlsverify = true;
    else if (key == "no-tlsverify")
      f.tlsverify = false;
    else if (key == "version")
      f.version = true;
    else if (key == "help")
      f.help = true;
  }
  return out;
}

}  // namespace klee
