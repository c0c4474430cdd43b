// In-process variable substitution for Dockerfile instructions (Docker's shell-lexer rules for
// one word) and the ARG/ENV scopes of a build. Nothing here runs a shell.
#include <algorithm>
#include <cerrno>
#include <utility>

#include "builder/dockerfile.hpp"

namespace kleene::builder {
namespace {

std::unexpected<Error> fail(std::string message) {
  return make_error(EINVAL, std::move(message));
}

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

// One pass over the word; recursion only through ${...} nesting, bounded by
// kMaxSubstitutionDepth. A null output scans without producing (the branch not taken).
class Lexer {
 public:
  Lexer(std::string_view in, const Lookup& lookup, std::size_t limit)
      : in_(in), lookup_(lookup), limit_(limit) {}

  Result<std::string> run() {
    std::string out;
    TRY(word(&out, false, 0));
    return out;
  }

 private:
  Result<void> append(std::string* out, std::string_view s) {
    if (out == nullptr) return {};
    if (out->size() + s.size() > limit_)
      return fail("the substituted text is longer than " + std::to_string(limit_) + " bytes");
    out->append(s);
    return {};
  }

  // Until the end of the word, or the '}' closing a ${...} when `in_braces`.
  Result<void> word(std::string* out, bool in_braces, int depth) {
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (in_braces && c == '}') return {};
      if (c == '\\') {
        ++pos_;
        if (pos_ == in_.size()) return append(out, "\\");
        TRY(append(out, in_.substr(pos_++, 1)));
      } else if (c == '\'') {
        const std::size_t close = in_.find('\'', pos_ + 1);
        if (close == std::string_view::npos)
          return fail("unexpected end of text while looking for the matching single-quote");
        TRY(append(out, in_.substr(pos_ + 1, close - pos_ - 1)));
        pos_ = close + 1;
      } else if (c == '"') {
        TRY(double_quoted(out, depth));
      } else if (c == '$') {
        TRY(dollar(out, depth));
      } else {
        const std::size_t end = in_.find_first_of(in_braces ? "\\'\"$}" : "\\'\"$", pos_);
        const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
        TRY(append(out, in_.substr(pos_, stop - pos_)));
        pos_ = stop;
      }
    }
    if (in_braces) return fail("missing '}' in a ${...} substitution");
    return {};
  }

  Result<void> double_quoted(std::string* out, int depth) {
    ++pos_;
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '"') {
        ++pos_;
        return {};
      }
      if (c == '\\' && pos_ + 1 < in_.size() &&
          (in_[pos_ + 1] == '"' || in_[pos_ + 1] == '\\' || in_[pos_ + 1] == '$')) {
        TRY(append(out, in_.substr(pos_ + 1, 1)));
        pos_ += 2;
      } else if (c == '$') {
        TRY(dollar(out, depth));
      } else {
        const std::size_t end = in_.find_first_of("\\\"$", pos_ + 1);
        const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
        TRY(append(out, in_.substr(pos_, stop - pos_)));
        pos_ = stop;
      }
    }
    return fail("unexpected end of text while looking for the matching double-quote");
  }

  Result<void> value_of(std::string* out, std::string_view name) {
    const std::string* value = lookup_(name);
    return value == nullptr ? Result<void>{} : append(out, *value);
  }

  Result<void> dollar(std::string* out, int depth) {
    ++pos_;
    if (pos_ == in_.size()) return append(out, "$");
    const char c = in_[pos_];
    if (c == '{') return braced(out, depth);
    const std::size_t start = pos_;
    if (name_start(c)) {
      while (pos_ < in_.size() && name_char(in_[pos_]))
        ++pos_;
    } else if (digit(c)) {
      while (pos_ < in_.size() && digit(in_[pos_]))
        ++pos_;  // $1: never set
    } else {
      return append(out, "$");  // a lone '$' stays
    }
    return value_of(out, in_.substr(start, pos_ - start));
  }

  Result<void> braced(std::string* out, int depth) {
    ++pos_;  // '{'
    const std::size_t start = pos_;
    while (pos_ < in_.size() && name_char(in_[pos_]))
      ++pos_;
    const std::string_view name = in_.substr(start, pos_ - start);
    if (name.empty() || !name_start(name.front()))
      return fail("bad substitution: ${ must be followed by a variable name");
    if (pos_ == in_.size()) return fail("missing '}' in ${" + std::string(name));
    if (in_[pos_] == '}') {
      ++pos_;
      return value_of(out, name);
    }
    bool colon = false;
    if (in_[pos_] == ':') {
      colon = true;
      ++pos_;
    }
    const char op = pos_ < in_.size() ? in_[pos_] : '\0';
    if (op != '-' && op != '+' && op != '?')
      return fail("unsupported modifier in ${" + std::string(name) +
                  "...}: only ${X:-word}, ${X:+word}, ${X:?word} and their forms without ':'");
    ++pos_;
    if (depth + 1 > kMaxSubstitutionDepth)
      return fail("substitutions nested more than " + std::to_string(kMaxSubstitutionDepth) +
                  " levels deep");
    const std::string* value = lookup_(name);
    // ':' treats an empty value as unset.
    const bool unset = value == nullptr || (colon && value->empty());
    if (op == '-') {
      TRY(word(unset ? out : nullptr, true, depth + 1));
      if (!unset) TRY(append(out, *value));
    } else if (op == '+') {
      TRY(word(unset ? nullptr : out, true, depth + 1));
    } else {
      std::string message;
      TRY(word(unset ? &message : nullptr, true, depth + 1));
      if (unset) {
        if (message.size() > 200) message.resize(200);
        return fail(std::string(name) + ": " + (message.empty() ? "is not set" : message));
      }
      TRY(append(out, *value));
    }
    ++pos_;  // '}', word() stopped on it
    return {};
  }

  std::string_view in_;
  const Lookup& lookup_;
  std::size_t limit_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<std::string> expand_word(std::string_view word, const Lookup& lookup, std::size_t limit) {
  return Lexer(word, lookup, limit).run();
}

Environment::Environment(std::map<std::string, std::string> build_args)
    : build_args_(std::move(build_args)) {}

Result<void> Environment::account(std::size_t removed, std::size_t added) {
  const std::size_t next = size_ - removed + added;
  if (next > kMaxEnvironmentSize)
    return fail("ARG and ENV values take more than " + std::to_string(kMaxEnvironmentSize) +
                " bytes");
  size_ = next;
  return {};
}

Result<std::string> Environment::expand(std::string_view word, bool from_line) {
  const Lookup lookup = [this, from_line](std::string_view name) {
    return this->lookup(name, from_line);
  };
  std::string out = TRY(expand_word(word, lookup));
  expanded_ += out.size();
  if (expanded_ > kMaxTotalExpansion)
    return fail("variable substitution in this Dockerfile produces more than " +
                std::to_string(kMaxTotalExpansion) + " bytes");
  return out;
}

const std::string* Environment::lookup(std::string_view name, bool from_line) const {
  if (from_line || !in_stage_) {
    const auto it = meta_args_.find(name);
    return it != meta_args_.end() && it->second ? &*it->second : nullptr;
  }
  if (const auto it = env_.find(name); it != env_.end()) return &it->second;
  const auto it = args_.find(name);
  return it != args_.end() && it->second ? &*it->second : nullptr;
}

Result<std::optional<std::string>> Environment::declare_arg(
    const std::string& name, const std::optional<std::string>& default_value) {
  declared_.insert(name);
  Values& scope = in_stage_ ? args_ : meta_args_;
  std::optional<std::string> value;
  if (const auto supplied = build_args_.find(name); supplied != build_args_.end()) {
    if (supplied->second.find('\0') != std::string::npos)
      return fail("the build argument " + name + " contains a NUL byte");
    value = supplied->second;
  } else if (default_value) {
    value = TRY(expand(*default_value));
  } else if (in_stage_) {
    // `ARG NAME` inside a stage takes the value of the ARG declared before the first FROM.
    if (const auto meta = meta_args_.find(name); meta != meta_args_.end()) value = meta->second;
  }
  const auto old = scope.find(name);
  const std::size_t removed = old != scope.end() && old->second ? old->second->size() : 0;
  TRY(account(removed, value ? value->size() : 0));
  scope[name] = value;
  return value;
}

Result<void> Environment::set_env(const std::string& name, std::string value) {
  if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos)
    return fail("invalid environment variable name '" + name + "'");
  if (value.find('\0') != std::string::npos)
    return fail("the environment variable " + name + " contains a NUL byte");
  const auto old = env_.find(name);
  TRY(account(old != env_.end() ? old->second.size() : 0, value.size()));
  env_[name] = std::move(value);
  return {};
}

void Environment::start_stage() {
  in_stage_ = true;
  args_.clear();
  env_.clear();
  size_ = 0;
  for (const auto& [name, value] : meta_args_)
    size_ += value ? value->size() : 0;
}

std::vector<std::string> Environment::run_environment() const {
  std::map<std::string, std::string, std::less<>> merged;
  for (const auto& [name, value] : args_)
    if (value) merged[name] = *value;
  for (const auto& [name, value] : env_)
    merged[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : merged)
    out.push_back(name + "=" + value);
  return out;
}

std::vector<std::string> Environment::image_environment() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : env_)
    out.push_back(name + "=" + value);
  return out;
}

std::vector<std::string> Environment::unused_build_args() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : build_args_)
    if (!declared_.contains(name)) out.push_back(name);
  return out;
}

Result<Instruction> substitute(const Instruction& instruction, Environment& env) {
  Instruction out = instruction;
  std::size_t used = 0;  // bytes this instruction expanded to, bounded by kMaxExpansion
  const auto expand = [&](std::string& word, bool from_line) -> Result<void> {
    word = TRY(env.expand(word, from_line));
    used += word.size();
    if (used > kMaxExpansion)
      return fail("the substituted instruction is longer than " + std::to_string(kMaxExpansion) +
                  " bytes");
    return {};
  };
  const auto apply = [&]() -> Result<void> {
    const std::string& k = out.keyword;
    if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT") return {};  // the container's shell's job
    const bool from_line = k == "FROM";
    for (Flag& flag : out.flags)
      TRY(expand(flag.value, from_line));
    if (k == "ARG") {
      for (KeyValue& pair : out.pairs) {
        pair.value = TRY(env.declare_arg(pair.key, pair.value));
      }
      return {};
    }
    for (KeyValue& pair : out.pairs) {
      if (k == "LABEL") {
        TRY(expand(pair.key, false));
        if (pair.key.empty()) return fail("LABEL names can not be blank");
      }
      if (pair.value) TRY(expand(*pair.value, false));
    }
    // All values of one ENV see the environment from before it (Docker's rule).
    if (k == "ENV")
      for (const KeyValue& pair : out.pairs)
        TRY(env.set_env(pair.key, pair.value.value_or("")));
    for (std::string& arg : out.args)
      TRY(expand(arg, from_line));
    if (from_line) env.start_stage();
    return {};
  };
  if (auto done = apply(); !done)
    return make_error(done.error().code, "failed environment substition of: " + instruction.line +
                                             " (" + done.error().message + ")");
  return out;
}

}  // namespace kleene::builder
