// Fuzzes the Dockerfile parser, ARG/ENV substitution and the build planner
// (plugins/builder/dockerfile.hpp, plan.hpp). The input is the Dockerfile text.
//
// Invariants, on top of ASan/UBSan (and no uncaught exception):
//   - parse_dockerfile: at most kMaxInstructions instructions, upper-case keywords, increasing
//     line numbers, the first instruction other than ARG is FROM, no argument list above
//     kMaxArguments;
//   - substitute() on every instruction in order (as a build does, stopping at the first
//     error): RUN/CMD/ENTRYPOINT come back unchanged, the keyword and line never change, no
//     value grows beyond kMaxExpansion;
//   - the build planner walks every step of the plan to the end or to its first error, with a
//     parent image whose environment is hostile too (an image's config is untrusted), and
//     computes each step's cache key.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "builder/dockerfile.hpp"
#include "builder/plan.hpp"
#include "fuzz_check.hpp"

namespace b = kleene::builder;

namespace {

const std::map<std::string, std::string>& build_args() {
  static const std::map<std::string, std::string> args = {
      {"VERSION", "1.2.3"}, {"BASE", "alpine:3.19"}, {"EMPTY", ""}, {"UNUSED", "x"}};
  return args;
}

// A parent image's configuration: realistic, plus values a hostile image could carry.
b::ImageConfig parent_image() {
  b::ImageConfig parent;
  parent.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root",
                "STAGE=0",
                "BIG=184467440737095516160",
                "QUOTE='\"$",
                "EMPTY="};
  parent.cmd = {"/bin/sh"};
  parent.user = "";
  parent.workdir = "";
  return parent;
}

void check_parsed(const std::vector<b::Instruction>& instructions) {
  KLEENE_FUZZ_CHECK(instructions.size() <= b::kMaxInstructions, "too many instructions");
  std::size_t line = 0;
  bool seen_from = false;
  for (const auto& in : instructions) {
    KLEENE_FUZZ_CHECK(
        !in.keyword.empty() &&
            std::ranges::all_of(in.keyword, [](char c) { return c >= 'A' && c <= 'Z'; }),
        in.keyword);
    KLEENE_FUZZ_CHECK(in.line_number > line, in.line);
    line = in.line_number;
    KLEENE_FUZZ_CHECK(seen_from || in.keyword == "ARG" || in.keyword == "FROM", in.line);
    seen_from = seen_from || in.keyword == "FROM";
    KLEENE_FUZZ_CHECK(in.args.size() <= b::kMaxArguments && in.pairs.size() <= b::kMaxArguments,
                      in.line);
    KLEENE_FUZZ_CHECK(in.line.find('\0') == std::string::npos, in.line);
    if (in.keyword == "RUN" || in.keyword == "CMD" || in.keyword == "ENTRYPOINT") {
      const auto argv = b::command_of(in);
      if (in.form == b::Form::kShell)
        KLEENE_FUZZ_CHECK(argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c", in.line);
      else
        KLEENE_FUZZ_CHECK(argv == in.args, in.line);
    }
  }
}

void substitute_all(const std::vector<b::Instruction>& instructions) {
  b::Environment env(build_args());
  for (const auto& in : instructions) {
    auto out = b::substitute(in, env);
    if (!out) {
      KLEENE_FUZZ_CHECK(out.error().message.starts_with("failed environment substition of: "),
                        out.error().message);
      break;
    }
    KLEENE_FUZZ_CHECK(out->keyword == in.keyword && out->line == in.line, in.line);
    if (in.keyword == "RUN" || in.keyword == "CMD" || in.keyword == "ENTRYPOINT")
      KLEENE_FUZZ_CHECK(*out == in, in.line);
    std::size_t total = 0;
    for (const auto& arg : out->args)
      total += arg.size();
    for (const auto& flag : out->flags)
      total += flag.value.size();
    for (const auto& pair : out->pairs)
      total += pair.key.size() + pair.value.value_or("").size();
    // ARG values come from the environment (bounded separately); the rest from expansion.
    if (in.keyword != "ARG") KLEENE_FUZZ_CHECK(total <= 2 * b::kMaxExpansion, in.line);
  }
  (void)env.run_environment();
  (void)env.image_environment();
  (void)env.unused_build_args();
}

void plan_all(const std::vector<b::Instruction>& instructions) {
  b::BuildOptions options;
  options.build_args = build_args();
  auto planner = b::BuildPlanner::create(instructions, options);
  if (!planner) return;
  KLEENE_FUZZ_CHECK(planner->total_steps() <= instructions.size(), "more steps than lines");
  std::string parent_snapshot = "sha256:parent@base";
  std::size_t snapshots = 0;
  while (!planner->done()) {
    auto step = planner->next();
    if (!step) break;
    if (step->substituted.keyword == "FROM" && !step->base_stage) {
      if (!planner->set_parent(parent_image())) break;
    }
    auto key = b::cache_key(*step, parent_snapshot, "sha256:content");
    KLEENE_FUZZ_CHECK(key && key->starts_with("sha256:"), step->line);
    if (step->snapshot) {
      parent_snapshot = "snap" + std::to_string(++snapshots);
      planner->record_snapshot(parent_snapshot);
    }
    (void)b::step_message(step->number, planner->total_steps(), step->line);
  }
  (void)planner->image_json().dump();  // strict UTF-8, as kleened sends it
  (void)planner->unused_build_args();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = b::parse_dockerfile(text);
  if (!parsed) {
    KLEENE_FUZZ_CHECK(!parsed.error().message.empty(), "an error without a message");
    return 0;
  }
  check_parsed(*parsed);
  substitute_all(*parsed);
  plan_all(*parsed);
  return 0;
}
