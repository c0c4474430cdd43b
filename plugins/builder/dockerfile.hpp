// Dockerfile parsing and in-process variable substitution for the image builder.
//
// A Dockerfile is untrusted input: parsing never recurses on its content, substitution is
// bounded in nesting depth and output size, and no text ever reaches a host shell. Messages
// use Kleene's wording where Kleene has one ("invalid instruction: <line>",
// "ENV/ARG variable name is invalid on line: <line>",
// "failed environment substition of: <line>" — Kleene's spelling).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace kleene::builder {

// Limits for hostile Dockerfiles.
inline constexpr std::size_t kMaxDockerfileSize = 4 << 20;    // bytes of Dockerfile text
inline constexpr std::size_t kMaxInstructions = 10000;        // instructions (steps) per file
inline constexpr std::size_t kMaxArguments = 4096;            // words or pairs per instruction
inline constexpr std::size_t kMaxExpansion = 1 << 20;         // bytes one instruction expands to
inline constexpr std::size_t kMaxTotalExpansion = 64 << 20;   // bytes a whole build expands to
inline constexpr std::size_t kMaxEnvironmentSize = 16 << 20;  // bytes of ARG and ENV values
inline constexpr int kMaxSubstitutionDepth = 32;              // ${A:-${B:-...}} nesting

enum class Form { kShell, kExec };

struct Flag {
  std::string name;  // without the dashes: "from", "chown", "chmod", "platform"
  std::string value;
  bool operator==(const Flag&) const = default;
};

struct KeyValue {
  std::string key;
  std::optional<std::string> value;  // ARG without a default: none
  bool operator==(const KeyValue&) const = default;
};

struct Instruction {
  std::string keyword;          // upper-cased: "FROM", "RUN", "COPY", ...
  std::string line;             // as printed in `Step N/M : <line>` (continuations joined)
  std::size_t line_number = 0;  // 1-based line where the instruction starts
  Form form = Form::kShell;
  // FROM: {image}; RUN/CMD/ENTRYPOINT: shell form {command text}, exec form the JSON array;
  // COPY/ADD: {src..., dest}; USER/WORKDIR: {value}; EXPOSE: {port...}; ENV/ARG/LABEL: empty.
  std::vector<std::string> args;
  std::vector<Flag> flags;      // COPY --from/--chown/--chmod, ADD --chown/--chmod, FROM --platform
  std::vector<KeyValue> pairs;  // ENV, LABEL (both forms), ARG (name and optional default)
  std::string stage_name;       // FROM ... AS <name>, lower-cased; "" without AS

  [[nodiscard]] const std::string* flag(std::string_view name) const;
  bool operator==(const Instruction&) const = default;
};

// Parses a Dockerfile. Comments (a line whose first non-blank character is '#'), blank lines
// and backslash-newline continuations (with comment lines inside) are handled as Docker does.
// Errors: unknown instructions, missing or malformed arguments, bad JSON arrays, invalid
// ENV/ARG names, no FROM or an instruction other than ARG before the first FROM, NUL bytes,
// invalid UTF-8, an oversized file, too many instructions
// or arguments.
[[nodiscard]] Result<std::vector<Instruction>> parse_dockerfile(std::string_view text);

// The command a RUN/CMD/ENTRYPOINT runs: exec form as written, shell form as
// {"/bin/sh", "-c", <text>} (the text goes to the container's shell unchanged).
[[nodiscard]] std::vector<std::string> command_of(const Instruction& instruction);

// The value of a variable, or nullptr when it is not set.
using Lookup = std::function<const std::string*(std::string_view name)>;

// Expands one word as Docker's shell lexer does: quotes are removed ('...' literal, "..." with
// \" \\ \$ escapes), a backslash escapes the next character, $X ${X} ${X:-d} ${X-d} ${X:+a}
// ${X+a} ${X:?msg} ${X?msg} are substituted and an unknown variable becomes "". Fails on
// unterminated quotes, bad ${...} syntax, nesting beyond kMaxSubstitutionDepth, or output
// longer than `limit`.
[[nodiscard]] Result<std::string> expand_word(std::string_view word, const Lookup& lookup,
                                              std::size_t limit = kMaxExpansion);

// ARG and ENV values as Docker scopes them during a build.
// - An ARG before the first FROM (a meta ARG) is visible only in FROM lines, and inside a stage
//   only once redeclared there (`ARG NAME` without a default takes the meta value).
// - --build-arg values replace the value of declared ARG names only; names never declared are
//   reported by unused_build_args() for the caller to warn about.
// - ENV wins over an ARG of the same name; a FROM starts a new stage with no ARG and no ENV.
class Environment {
 public:
  explicit Environment(std::map<std::string, std::string> build_args = {});

  // ARG: `default_value` is the raw text (it is expanded here). Before the first FROM it is
  // a meta ARG, else a stage ARG. Returns the ARG's value (none: declared without a value).
  [[nodiscard]] Result<std::optional<std::string>> declare_arg(
      const std::string& name, const std::optional<std::string>& default_value);
  // ENV (value already expanded), also used for the parent image's environment.
  [[nodiscard]] Result<void> set_env(const std::string& name, std::string value);
  // FROM: a new stage starts (call set_env for the parent image's variables afterwards).
  void start_stage();

  [[nodiscard]] bool in_stage() const { return in_stage_; }
  // Expands a word in FROM lines (meta ARGs only) or in the current stage (ENV, then ARGs).
  [[nodiscard]] Result<std::string> expand(std::string_view word, bool from_line = false);
  [[nodiscard]] const std::string* lookup(std::string_view name, bool from_line = false) const;

  // "K=V" for a RUN: the stage's ARGs with a value and its ENV (ENV wins), sorted by name.
  [[nodiscard]] std::vector<std::string> run_environment() const;
  // "K=V" of the ENV variables only: what the image keeps.
  [[nodiscard]] std::vector<std::string> image_environment() const;
  // --build-arg names no ARG of the Dockerfile declared so far, sorted.
  [[nodiscard]] std::vector<std::string> unused_build_args() const;

 private:
  using Values = std::map<std::string, std::optional<std::string>, std::less<>>;
  [[nodiscard]] Result<void> account(std::size_t removed, std::size_t added);

  std::map<std::string, std::string> build_args_;
  std::set<std::string> declared_;
  Values meta_args_;
  Values args_;
  std::map<std::string, std::string, std::less<>> env_;
  bool in_stage_ = false;
  std::size_t size_ = 0;      // bytes of values held
  std::size_t expanded_ = 0;  // bytes produced by expansions so far
};

// The instruction with its variables substituted where Docker substitutes them (FROM with meta
// ARGs; ENV, ARG defaults, LABEL, COPY, ADD, WORKDIR, USER, EXPOSE and flag values with the
// stage's variables), applying its effect on `env` (ARG declares, ENV sets, FROM starts a
// stage). RUN, CMD and ENTRYPOINT come back unchanged. Errors carry Kleene's
// "failed environment substition of: <line>" followed by the reason.
[[nodiscard]] Result<Instruction> substitute(const Instruction& instruction, Environment& env);

}  // namespace kleene::builder
