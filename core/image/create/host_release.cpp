#include "image/create/host_release.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "util/strings.hpp"

namespace kleene::image {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

std::string unquote(std::string_view value) {
  value = trim(value);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

bool lower_equals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b,
                            [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string debian_arch() {
  utsname u{};
  ::uname(&u);
  const std::string machine = u.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "i386";
  return machine;
}

std::string default_mirror(const OsRelease& os) {
  if (os.id == "ubuntu") return "http://archive.ubuntu.com/ubuntu";
  return "http://deb.debian.org/debian";
}

bool has_suite(const AptSource& source, const std::string& codename) {
  return std::ranges::find(source.suites, codename) != source.suites.end();
}

}  // namespace

OsRelease parse_os_release(std::string_view text) {
  OsRelease os;
  for (const auto& line : split(text, '\n')) {
    const auto eq = line.find('=');
    if (line.empty() || line.front() == '#' || eq == std::string::npos) continue;
    const std::string key(trim(std::string_view(line).substr(0, eq)));
    const std::string value = unquote(std::string_view(line).substr(eq + 1));
    if (key == "ID") os.id = value;
    if (key == "ID_LIKE") os.id_like = value;
    if (key == "NAME") os.name = value;
    if (key == "PRETTY_NAME") os.pretty_name = value;
    if (key == "VERSION_ID") os.version_id = value;
    if (key == "VERSION_CODENAME") os.codename = value;
  }
  return os;
}

std::vector<AptSource> parse_sources_list(std::string_view text) {
  std::vector<AptSource> out;
  for (auto line : split(text, '\n')) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    // Options: "deb [arch=amd64 signed-by=...] uri suite components..."
    if (auto open = line.find('['); open != std::string::npos) {
      if (auto close = line.find(']', open); close != std::string::npos) {
        line.erase(open, close - open + 1);
      }
    }
    auto w = words(line);
    if (w.size() < 3 || w[0] != "deb") continue;
    out.push_back(AptSource{w[1], {w[2]}, std::vector<std::string>(w.begin() + 3, w.end())});
  }
  return out;
}

std::vector<AptSource> parse_deb822_sources(std::string_view text) {
  std::vector<AptSource> out;
  std::vector<std::string> types, uris, suites, components;
  bool enabled = true;
  auto flush = [&] {
    if (enabled && std::ranges::find(types, "deb") != types.end()) {
      for (const auto& uri : uris)
        out.push_back(AptSource{uri, suites, components});
    }
    types.clear(), uris.clear(), suites.clear(), components.clear();
    enabled = true;
  };
  for (const auto& line : split(std::string(text) + "\n", '\n')) {
    if (trim(line).empty()) {
      flush();
      continue;
    }
    if (line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.front() == ' ' || line.front() == '\t') continue;
    const std::string key(trim(std::string_view(line).substr(0, colon)));
    const auto value = words(std::string_view(line).substr(colon + 1));
    if (lower_equals(key, "Types")) types = value;
    if (lower_equals(key, "URIs")) uris = value;
    if (lower_equals(key, "Suites")) suites = value;
    if (lower_equals(key, "Components")) components = value;
    if (lower_equals(key, "Enabled") && !value.empty() && lower_equals(value[0], "no")) {
      enabled = false;
    }
  }
  flush();
  return out;
}

std::vector<AptSource> read_apt_sources(const std::filesystem::path& apt_dir) {
  std::vector<AptSource> out;
  auto append = [&](std::vector<AptSource> more) {
    out.insert(out.end(), more.begin(), more.end());
  };
  append(parse_sources_list(read_text(apt_dir / "sources.list")));
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(apt_dir / "sources.list.d", ec)) {
    files.push_back(entry.path());
  }
  std::ranges::sort(files);
  for (const auto& file : files) {
    if (file.extension() == ".list") append(parse_sources_list(read_text(file)));
    if (file.extension() == ".sources") append(parse_deb822_sources(read_text(file)));
  }
  return out;
}

Result<HostRelease> detect_host_release(const ReleasePaths& paths, bool force) {
  const OsRelease os = parse_os_release(read_text(paths.os_release));
  if (os.id.empty()) {
    return make_error(ENOTSUP,
                      "could not read the host's release from " + paths.os_release.string());
  }
  const std::string pretty = os.pretty_name.empty() ? os.id : os.pretty_name;
  if (os.codename.empty()) {
    return make_error(ENOTSUP, "the host's release (" + pretty + ") has no VERSION_CODENAME");
  }
  if (!force && !std::filesystem::exists(paths.debootstrap_scripts / os.codename)) {
    return make_error(ENOTSUP, "debootstrap cannot build the host's release (" + pretty +
                                   "); use --force to try anyway");
  }
  HostRelease release;
  // "Debian GNU/Linux" -> "Debian", as the autotag Debian-12 wants it.
  const auto name_words = words(os.name);
  std::string distro = name_words.empty() ? os.id : name_words.front();
  if (!distro.empty()) distro[0] = static_cast<char>(std::toupper(distro[0]));
  release.distro = distro;
  release.version = os.version_id.empty() ? os.codename : os.version_id;
  release.codename = os.codename;
  release.arch = debian_arch();
  for (const auto& source : read_apt_sources(paths.apt_dir)) {
    if (has_suite(source, os.codename) &&
        (source.uri.starts_with("http://") || source.uri.starts_with("https://"))) {
      release.mirror = source.uri;
      break;
    }
  }
  if (release.mirror.empty()) release.mirror = default_mirror(os);
  return release;
}

}  // namespace kleene::image
