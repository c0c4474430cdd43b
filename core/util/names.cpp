#include "util/names.hpp"

#include <array>
#include <string_view>

#include "util/random.hpp"

namespace kleene {

namespace {

constexpr std::array<std::string_view, 40> kAdjectives = {
    "agile",  "amber",  "ardent",  "bold",    "brave",  "bright",  "calm",     "candid",
    "clever", "cosmic", "curious", "daring",  "eager",  "earnest", "fearless", "fervent",
    "gentle", "glad",   "humble",  "jolly",   "keen",   "kind",    "lively",   "lucid",
    "merry",  "modest", "nimble",  "patient", "quiet",  "radiant", "serene",   "sharp",
    "steady", "sunny",  "swift",   "tender",  "upbeat", "vivid",   "wise",     "zealous",
};

// Logicians, mathematicians and computer scientists, in the spirit of the project's name.
constexpr std::array<std::string_view, 48> kSurnames = {
    "babbage",    "backus",     "boole",   "cantor", "church",   "curry",     "dedekind",
    "dijkstra",   "erdos",      "euler",   "frege",  "galois",   "gauss",     "germain",
    "godel",      "hamilton",   "hilbert", "hopper", "kleene",   "knuth",     "kolmogorov",
    "kowalevski", "lamport",    "leibniz", "liskov", "lovelace", "markov",    "mccarthy",
    "minsky",     "noether",    "pascal",  "peano",  "post",     "ramanujan", "riemann",
    "ritchie",    "robinson",   "russell", "scott",  "shannon",  "tarski",    "thompson",
    "turing",     "vonneumann", "wiles",   "wirth",  "yonath",   "zuse",
};

}  // namespace

std::string generate_name() {
  const auto adjective = kAdjectives[random_below(kAdjectives.size())];
  const auto surname = kSurnames[random_below(kSurnames.size())];
  std::string name;
  name.reserve(adjective.size() + 1 + surname.size());
  name.append(adjective).append("_").append(surname);
  return name;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  for (const char c : name.substr(1)) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace kleene
