// The build plan: stage selection, step numbering, per-step actions, cache keys, messages.
#include "builder/plan.hpp"
#include "builder/digest.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

namespace kleene::builder {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// A stage number ("0", "12"); a longer digit string than any stage count can be is no number
// (nullopt) rather than an overflow.
std::optional<std::size_t> stage_number(std::string_view text) {
  if (!all_digits(text) || text.size() > 9) return std::nullopt;
  std::size_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// "/" joined with `path` unless absolute, then `.`, `..` and repeated slashes resolved.
std::string resolve_dir(std::string_view base, std::string_view path) {
  std::string joined =
      path.starts_with('/') ? std::string(path) : std::string(base) + "/" + std::string(path);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= joined.size()) {
    std::size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string_view part(joined.data() + start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& part : parts)
    out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string with_at(std::string_view snapshot) {
  if (snapshot.empty()) return "";
  return snapshot.starts_with('@') ? std::string(snapshot) : "@" + std::string(snapshot);
}

}  // namespace

BuildPlanner::BuildPlanner(std::vector<Instruction> instructions, BuildOptions options)
    : instructions_(std::move(instructions)),
      options_(std::move(options)),
      env_(options_.build_args) {}

Result<BuildPlanner> BuildPlanner::create(std::vector<Instruction> instructions,
                                          BuildOptions options) {
  BuildPlanner planner(std::move(instructions), std::move(options));
  TRY(planner.analyse());
  return planner;
}

std::optional<std::size_t> BuildPlanner::stage_named(std::string_view name,
                                                     std::size_t before) const {
  const std::string wanted = lower(name);
  for (std::size_t i = 0; i < before && i < stages_.size(); ++i)
    if (!stages_[i].name.empty() && stages_[i].name == wanted) return i;
  return std::nullopt;
}

// Stage boundaries and references are found with the Dockerfile's own ARG and ENV values (the
// parent images' environments are not known yet); a word that fails to substitute is taken as
// written, and next() reports the error if its stage runs.
Result<void> BuildPlanner::analyse() {
  Environment scratch(options_.build_args);
  std::size_t first_from = instructions_.size();
  for (std::size_t i = 0; i < instructions_.size(); ++i) {
    const Instruction& raw = instructions_[i];
    auto substituted = substitute(raw, scratch);
    const Instruction& in = substituted ? *substituted : raw;
    if (in.keyword == "FROM") {
      if (!stages_.empty()) stages_.back().end = i;
      first_from = std::min(first_from, i);
      Stage stage{.name = raw.stage_name, .from = i, .end = instructions_.size()};
      stage.base = in.args.empty() ? "" : in.args.front();
      stage.base_stage = stage_named(stage.base, stages_.size());
      stages_.push_back(std::move(stage));
    } else if (const std::string* from = in.flag("from"); from && !stages_.empty()) {
      const std::size_t current = stages_.size() - 1;
      if (all_digits(*from)) {
        const auto number = stage_number(*from);
        if (!number || *number >= current)
          return make_error(EINVAL, "invalid from flag value " + *from +
                                        ": refers to current or later build stage (" + raw.line +
                                        ")");
        stages_.back().copies_from.push_back(*number);
      } else if (auto stage = stage_named(*from, current)) {
        stages_.back().copies_from.push_back(*stage);
      }
    }
  }
  if (stages_.empty()) return make_error(EINVAL, "no FROM instruction in the Dockerfile");

  target_ = stages_.size() - 1;
  if (!options_.target.empty()) {
    auto named = stage_named(options_.target, stages_.size());
    if (const auto number = stage_number(options_.target);
        !named && number && *number < stages_.size())
      named = number;
    if (!named)
      return make_error(EINVAL, "target stage \"" + options_.target + "\" could not be found");
    target_ = *named;
  }
  // Dependencies point only to earlier stages, so walking down from the target marks them all.
  stages_[target_].needed = true;
  for (std::size_t i = target_ + 1; i-- > 0;) {
    if (!stages_[i].needed) continue;
    if (stages_[i].base_stage) stages_[*stages_[i].base_stage].needed = true;
    for (std::size_t from : stages_[i].copies_from)
      stages_[from].needed = true;
  }
  for (std::size_t i = 0; i < first_from; ++i)
    schedule_.push_back(i);
  for (const Stage& stage : stages_)
    if (stage.needed)
      for (std::size_t i = stage.from; i < stage.end; ++i)
        schedule_.push_back(i);
  return {};
}

void BuildPlanner::enter_stage(std::size_t stage) {
  if (current_) {
    finished_[*current_] = config_;
  }
  current_ = stage;
  stage_args_.clear();
  config_ = ImageConfig{};
  cmd_set_ = false;
}

Result<void> BuildPlanner::set_parent(const ImageConfig& parent) {
  config_ = parent;
  if (config_.user.empty()) config_.user = "root";
  if (config_.workdir.empty()) config_.workdir = "/";
  for (const std::string& pair : parent.env) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(EINVAL, "invalid environment variable in the parent image: " + pair);
    TRY(env_.set_env(pair.substr(0, eq), pair.substr(eq + 1)));
  }
  config_.env = env_.image_environment();
  return {};
}

void BuildPlanner::record_snapshot(std::string_view snapshot) {
  auto& records = current_ ? records_[*current_] : meta_records_;
  if (records.empty() || snapshot.empty()) return;
  records.back().second = with_at(snapshot);
  last_snapshot_ = records.back().second;
}

Result<Step> BuildPlanner::next() {
  if (done()) return make_error(EINVAL, "no more build steps");
  const std::size_t index = schedule_[position_];
  const Instruction& in = instructions_[index];
  Step step;
  step.number = position_ + 1;
  step.instruction = index;
  step.line = in.line;
  if (in.keyword == "FROM") {
    std::size_t stage = 0;
    while (stages_[stage].from != index)
      ++stage;
    enter_stage(stage);
    records_[stage].emplace_back(in.line, "");  // also when it fails, as Kleene keeps it
    ++position_;
    step.substituted = TRY(substitute(in, env_));
    if (!step.substituted.args.empty()) step.image = step.substituted.args.front();
    if (const auto base = stages_[stage].base_stage) {
      step.base_stage = base;
      step.image.clear();
      TRY(set_parent(finished_[*base]));
    } else if (stage == 0 && !options_.parent_image.empty()) {
      step.image = options_.parent_image;
      step.user_supplied = true;
    }
  } else {
    (current_ ? records_[*current_] : meta_records_).emplace_back(in.line, "");
    ++position_;
    step.substituted = TRY(substitute(in, env_));
    apply(step.substituted, step);
    // A relative WORKDIR extends the last one; each step keeps its own copy, so its length is
    // bounded where the kernel would refuse it anyway.
    if (config_.workdir.size() > PATH_MAX)
      return make_error(ENAMETOOLONG, "WORKDIR: the working directory is longer than " +
                                          std::to_string(PATH_MAX) + " bytes (" +
                                          in.line.substr(0, 64) + ")");
    // The parent image's ENV can make --from name a stage other than the one analyse() saw.
    if (step.from_stage && (*step.from_stage >= *current_ || !stages_[*step.from_stage].needed))
      return make_error(EINVAL, "invalid from flag value " + *step.substituted.flag("from") +
                                    ": refers to a build stage this build does not run (" +
                                    in.line + ")");
  }
  step.stage = current_;
  step.env = env_.run_environment();
  step.user = config_.user;
  step.workdir = config_.workdir;
  for (const auto& [name, value] : current_ ? stage_args_ : meta_args_)
    if (value) step.build_args[name] = *value;
  return step;
}

void BuildPlanner::apply(const Instruction& in, Step& step) {
  const std::string& k = in.keyword;
  if (k == "ARG") {
    for (const KeyValue& pair : in.pairs)
      (current_ ? stage_args_ : meta_args_)[pair.key] = pair.value;
  } else if (k == "ENV") {
    config_.env = env_.image_environment();
  } else if (k == "RUN") {
    step.argv = command_of(in);
    step.snapshot = true;
  } else if ((k == "COPY" || k == "ADD") && !in.args.empty()) {
    step.sources.assign(in.args.begin(), in.args.end() - 1);
    step.destination = in.args.back();
    step.snapshot = true;
    if (const std::string* from = in.flag("from")) {
      // Checked by analyse(), but the parent image's ENV may have changed what $X expands to:
      // an impossible stage number is refused below as a later stage.
      if (all_digits(*from))
        step.from_stage = stage_number(*from).value_or(std::numeric_limits<std::size_t>::max());
      else if (auto stage = stage_named(*from, *current_))
        step.from_stage = stage;
      else
        step.from_image = *from;
    }
    if (const std::string* chown = in.flag("chown")) step.chown = *chown;
    if (const std::string* chmod = in.flag("chmod")) step.chmod = *chmod;
  } else if (k == "CMD") {
    config_.cmd = command_of(in);
    cmd_set_ = true;
  } else if (k == "ENTRYPOINT") {
    config_.entrypoint = command_of(in);
    if (!cmd_set_) config_.cmd.clear();
  } else if (k == "USER" && !in.args.empty()) {
    config_.user = in.args.front();
  } else if (k == "WORKDIR" && !in.args.empty()) {
    config_.workdir = resolve_dir(config_.workdir, in.args.front());
  } else if (k == "LABEL") {
    for (const KeyValue& pair : in.pairs)
      config_.labels[pair.key] = pair.value.value_or("");
  } else if (k == "EXPOSE") {
    for (const std::string& port : in.args) {
      const auto slash = port.find('/');
      config_.exposed_ports.insert(slash == std::string::npos ? port + "/tcp"
                                                              : port.substr(0, slash) + "/" +
                                                                    lower(port.substr(slash + 1)));
    }
  }
}

std::vector<std::string> BuildPlanner::unused_build_args() const {
  return env_.unused_build_args();
}

nlohmann::json BuildPlanner::image_json() const {
  // The stage being built: the target once done, the failing stage of a failed build.
  const ImageConfig& config = config_;
  nlohmann::json instructions = nlohmann::json::array();
  for (const auto& [line, snapshot] : meta_records_)
    instructions.push_back({line, snapshot});
  if (current_)
    if (const auto it = records_.find(*current_); it != records_.end())
      for (const auto& [line, snapshot] : it->second)
        instructions.push_back({line, snapshot});
  nlohmann::json buildargs = nlohmann::json::object();
  const auto unused = unused_build_args();
  for (const auto& [name, value] : options_.build_args)
    if (!std::binary_search(unused.begin(), unused.end(), name)) buildargs[name] = value;
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [name, value] : config.labels)
    labels[name] = value;
  return nlohmann::json{
      {"cmd", config.cmd},
      {"entrypoint", config.entrypoint},
      {"env", config.env},
      {"user", config.user},
      {"workdir", config.workdir},
      {"labels", labels},
      {"exposed_ports", config.exposed_ports},
      {"instructions", instructions},
      {"buildargs", buildargs},
  };
}

// ---- cache keys ----

Result<std::string> cache_key(const Step& step, std::string_view parent_snapshot,
                              std::string_view content_digest) {
  const Instruction& in = step.substituted;
  FieldDigest hash;
  hash.field("kleene-build-cache-v1");
  hash.field(parent_snapshot);
  hash.field(in.keyword);
  hash.field(in.form == Form::kExec ? "exec" : "shell");
  hash.list(in.args);
  hash.number(in.flags.size());
  for (const Flag& flag : in.flags) {
    hash.field(flag.name);
    hash.field(flag.value);
  }
  hash.number(in.pairs.size());
  for (const KeyValue& pair : in.pairs) {
    hash.field(pair.key);
    hash.field(pair.value ? "=" + *pair.value : "");
  }
  hash.number(step.build_args.size());
  for (const auto& [name, value] : step.build_args) {
    hash.field(name);
    hash.field(value);
  }
  hash.list(step.env);
  hash.field(step.user);
  hash.field(step.workdir);
  hash.field(content_digest);
  return hash.finish();
}

// ---- messages ----

std::string step_message(std::size_t step, std::size_t total, std::string_view line) {
  return "Step " + std::to_string(step) + "/" + std::to_string(total) + " : " + std::string(line);
}

std::string snapshot_message(std::string_view snapshot) {
  return "--> Snapshot created: " + with_at(snapshot);
}

std::string user_supplied_parent_message(std::string_view image) {
  return "Using user-supplied parent image: '" + std::string(image) + "'";
}

std::string nonzero_exit_message(const std::vector<std::string>& argv, int code) {
  std::string command;
  for (std::size_t i = 0; i < argv.size(); ++i)
    command += (i == 0 ? "" : " ") + argv[i];
  return "The command '" + command + "' returned a non-zero code: " + std::to_string(code);
}

std::string failed_nametag(std::string_view name) {
  return std::string(name) + ":failed";
}

}  // namespace kleene::builder
