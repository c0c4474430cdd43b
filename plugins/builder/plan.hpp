// The build plan: stages, which of them the image needs, the numbered steps and what the
// executor does at each, the build cache key of a step, Kleene's build messages and the final
// image configuration. Pure logic: no image store, no container, no file.
//
// Numbering follows Kleene: every instruction is a step, ARGs before the first FROM included,
// and M in `Step N/M` counts the steps that run. Stages the target stage does not need (through
// `FROM <stage>` or `COPY --from=<stage>`) are skipped and not counted, so a single-stage
// Dockerfile numbers exactly as Kleene does.
//
// Snapshots, as in Kleene: after each RUN and COPY (and ADD); every other instruction changes
// only the image configuration (WORKDIR also creates its directory, as Kleene does, without a
// snapshot).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/dockerfile.hpp"
#include "util/error.hpp"

namespace kleene::builder {

// What an image (or a finished stage) hands to the next stage, and what the built image keeps.
struct ImageConfig {
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::vector<std::string> env;  // "K=V"
  std::string user = "root";
  std::string workdir = "/";
  std::map<std::string, std::string> labels;
  std::set<std::string> exposed_ports;  // "80/tcp", "53/udp"
  bool operator==(const ImageConfig&) const = default;
};

struct Stage {
  std::string name;                       // `AS <name>`, lower-cased; "" without
  std::size_t from = 0;                   // index of its FROM in the instructions
  std::size_t end = 0;                    // one past its last instruction
  std::string base;                       // the FROM image, meta ARGs substituted
  std::optional<std::size_t> base_stage;  // `FROM <earlier stage>`
  std::vector<std::size_t> copies_from;   // stages its `COPY --from` reads
  bool needed = false;                    // the target stage needs it
};

struct BuildOptions {
  std::map<std::string, std::string> build_args;  // --build-arg (declared names only apply)
  std::string parent_image;  // --from: replaces the image of the first stage's FROM
  std::string target;        // stage to build (name or index); "" is the last stage
};

// One step as the executor runs it. Fields not relevant to the instruction stay empty.
struct Step {
  std::size_t number = 0;            // N of `Step N/M`
  std::size_t instruction = 0;       // index in the instructions
  std::optional<std::size_t> stage;  // none: an ARG before the first FROM
  std::string line;                  // as printed in `Step N/M : <line>`
  Instruction substituted;           // variables substituted where Docker substitutes them
  bool snapshot = false;             // RUN, COPY, ADD: snapshot the container afterwards

  // FROM: an image reference ("name[:tag][@snapshot]") or an earlier stage's result.
  std::string image;
  std::optional<std::size_t> base_stage;
  bool user_supplied = false;  // `image` came from --from: print Using user-supplied ...

  std::vector<std::string> argv;  // RUN: shell form {"/bin/sh", "-c", text}, exec form as is

  // COPY/ADD: sources relative to the context (or to the --from root), destination as written
  // (relative to `workdir`, see plan_copy).
  std::vector<std::string> sources;
  std::string destination;
  std::optional<std::size_t> from_stage;  // COPY --from=<stage name or index>
  std::string from_image;                 // COPY --from=<image>
  std::string chown, chmod;

  // In effect for the step (RUN's environment, user and working directory; the cache key's).
  std::vector<std::string> env;  // ARGs with a value and ENV, "K=V", sorted
  std::string user;
  std::string workdir;                            // WORKDIR: the directory to create
  std::map<std::string, std::string> build_args;  // the stage's ARGs with a value
};

// Walks a Dockerfile's steps in order. Use: create(), then next() until done(); after a FROM
// of an image (step.base_stage empty), set_parent() with that image's configuration (a FROM of
// an earlier stage takes that stage's configuration by itself); after a snapshot step,
// record_snapshot(). Substitution errors come from next() at the step where they occur
// ("failed environment substition of: <line> (...)"); the build stops there.
//
// Stage references (`FROM <stage>`, `COPY --from`) are resolved when create() runs, with the
// Dockerfile's ARG and ENV values but not the parent images' ENV (unknown then). --from
// (options.parent_image) replaces the image of the Dockerfile's first FROM, the only one in a
// single-stage Dockerfile.
class BuildPlanner {
 public:
  // Stages, selection and numbering. EINVAL: `target stage "<x>" could not be found`.
  [[nodiscard]] static Result<BuildPlanner> create(std::vector<Instruction> instructions,
                                                   BuildOptions options = {});

  [[nodiscard]] const std::vector<Stage>& stages() const { return stages_; }
  [[nodiscard]] std::size_t target_stage() const { return target_; }
  [[nodiscard]] std::size_t total_steps() const { return schedule_.size(); }  // M
  [[nodiscard]] const std::vector<std::size_t>& schedule() const { return schedule_; }
  [[nodiscard]] const std::vector<Instruction>& instructions() const { return instructions_; }
  [[nodiscard]] bool done() const { return position_ == schedule_.size(); }

  [[nodiscard]] Result<Step> next();
  // The resolved parent image of the current stage's FROM: its ENV, user, workdir, cmd ...
  [[nodiscard]] Result<void> set_parent(const ImageConfig& parent);
  // The snapshot the current step produced (or reused from the cache), with or without '@'.
  void record_snapshot(std::string_view snapshot);

  [[nodiscard]] const ImageConfig& config() const { return config_; }  // the current stage's
  // The last snapshot recorded in the whole build, "@<id>" ("" when none): Kleene's data of a
  // failed build kept with cleanup off.
  [[nodiscard]] const std::string& last_snapshot() const { return last_snapshot_; }
  // The image config of the stage being built (the target once done(); the failing stage of a
  // failed build, for `<name>:failed`) as JSON in the shape of Kleene's Image: cmd, env, user,
  // instructions ([[line, "@snapshot" or ""], ...]: the meta ARGs and that stage's steps, the
  // failing one included), buildargs (the --build-arg values a declared ARG used), plus
  // entrypoint, workdir, labels and exposed_ports.
  [[nodiscard]] nlohmann::json image_json() const;
  // --build-arg names no ARG declared (for a warning).
  [[nodiscard]] std::vector<std::string> unused_build_args() const;

 private:
  BuildPlanner(std::vector<Instruction> instructions, BuildOptions options);
  [[nodiscard]] Result<void> analyse();
  [[nodiscard]] std::optional<std::size_t> stage_named(std::string_view name,
                                                       std::size_t before) const;
  void apply(const Instruction& in, Step& step);
  void enter_stage(std::size_t stage);

  std::vector<Instruction> instructions_;
  BuildOptions options_;
  std::vector<Stage> stages_;
  std::size_t target_ = 0;
  std::vector<std::size_t> schedule_;
  std::size_t position_ = 0;

  Environment env_;
  std::map<std::string, std::optional<std::string>> meta_args_, stage_args_;
  std::optional<std::size_t> current_;
  ImageConfig config_;
  std::map<std::size_t, ImageConfig> finished_;  // each finished stage's configuration
  bool cmd_set_ = false;  // CMD in this stage: ENTRYPOINT keeps it (Docker's rule)
  std::vector<std::pair<std::string, std::string>> meta_records_;
  std::map<std::size_t, std::vector<std::pair<std::string, std::string>>> records_;
  std::string last_snapshot_;
};

// The build cache key of a step: "sha256:<hex>" over, in this order and each length-prefixed
// (8-byte little-endian length, then the bytes; a list is its count then its items):
//   "kleene-build-cache-v1", parent snapshot, keyword, form ("shell"/"exec"), args, flags
//   (name, value), pairs (key, "=" + value or "" for none), build args in scope (name, value,
//   sorted), env, user, workdir, content digest.
// `parent_snapshot` names the snapshot the step starts from ("<image id>@<snapshot>" or the
// previous step's); `content_digest` is content_digest() of a COPY/ADD from the context, or the
// source stage's/image's snapshot for COPY --from. A change in any input changes the key.
[[nodiscard]] Result<std::string> cache_key(const Step& step, std::string_view parent_snapshot,
                                            std::string_view content_digest = {});

// Kleene's build messages, word for word (no trailing newline). Kleene sends each as one text
// frame; `quiet` leaves out the step messages and the process output.
[[nodiscard]] std::string step_message(std::size_t step, std::size_t total, std::string_view line);
// "--> Snapshot created: @<id>" (the '@' is added when missing).
[[nodiscard]] std::string snapshot_message(std::string_view snapshot);
// Docker's text for a cache hit; the reused snapshot then follows as snapshot_message(), so the
// client sees every step's snapshot whether built or reused.
inline constexpr std::string_view kUsingCacheMessage = "---> Using cache";
[[nodiscard]] std::string user_supplied_parent_message(std::string_view image);
// "The command '<argv joined by spaces>' returned a non-zero code: N"
[[nodiscard]] std::string nonzero_exit_message(const std::vector<std::string>& argv, int code);
inline constexpr std::string_view kImageCreatedMessage = "image created";  // closing, data: id
inline constexpr std::string_view kImageBuildFailedMessage = "image build failed";  // error
inline constexpr std::string_view kNoSnapshotsMessage = "no snapshots available";
// A failed build kept with cleanup off: "<name>:failed".
[[nodiscard]] std::string failed_nametag(std::string_view name);

}  // namespace kleene::builder
