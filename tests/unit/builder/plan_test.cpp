// The build plan: numbering (Kleene's), multi-stage selection, every step kind, cache keys,
// Kleene's messages and the final image configuration.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "builder/plan.hpp"

namespace kleene::builder {
namespace {

using Strings = std::vector<std::string>;

BuildPlanner planner_for(std::string_view dockerfile, BuildOptions options = {}) {
  auto parsed = parse_dockerfile(dockerfile);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  auto planner = BuildPlanner::create(parsed ? *parsed : std::vector<Instruction>{}, options);
  EXPECT_TRUE(planner.has_value()) << (planner ? "" : planner.error().message);
  return std::move(*planner);
}

std::string create_error(std::string_view dockerfile, BuildOptions options = {}) {
  auto parsed = parse_dockerfile(dockerfile);
  EXPECT_TRUE(parsed.has_value());
  auto planner = BuildPlanner::create(*parsed, options);
  EXPECT_FALSE(planner.has_value());
  return planner ? "" : planner.error().message;
}

// Runs every step as an executor would: parents resolved to `parent`, snapshots "s<N>".
std::vector<Step> run_all(BuildPlanner& planner, const ImageConfig& parent = {}) {
  std::vector<Step> steps;
  while (!planner.done()) {
    auto step = planner.next();
    EXPECT_TRUE(step.has_value()) << (step ? "" : step.error().message);
    if (!step) break;
    if (step->substituted.keyword == "FROM" && !step->base_stage) {
      EXPECT_TRUE(planner.set_parent(parent).has_value());
    }
    if (step->snapshot) planner.record_snapshot("s" + std::to_string(step->number));
    steps.push_back(std::move(*step));
  }
  return steps;
}

Strings step_messages(BuildPlanner& planner) {
  Strings out;
  for (const Step& step : run_all(planner))
    out.push_back(step_message(step.number, planner.total_steps(), step.line));
  return out;
}

// --- numbering -----------------------------------------------------------------------------

TEST(BuildPlanNumbering, EveryInstructionIsAStepAsInKleene) {
  auto planner = planner_for(
      "FROM scratch\nENV TEST=testvalue\nRUN printenv\nENV TEST=\"a new test value for TEST\"\n"
      "ENV TEST2=test2value\nRUN printenv\nCMD /bin/ls\n");
  EXPECT_EQ(planner.total_steps(), 7u);
  EXPECT_EQ(step_messages(planner),
            (Strings{"Step 1/7 : FROM scratch", "Step 2/7 : ENV TEST=testvalue",
                     "Step 3/7 : RUN printenv", "Step 4/7 : ENV TEST=\"a new test value for TEST\"",
                     "Step 5/7 : ENV TEST2=test2value", "Step 6/7 : RUN printenv",
                     "Step 7/7 : CMD /bin/ls"}));
}

TEST(BuildPlanNumbering, ArgsBeforeFromAndContinuationsCount) {
  auto planner = planner_for("ARG BASE=scratch\nFROM $BASE\nRUN echo \\\n  hello\n");
  EXPECT_EQ(step_messages(planner), (Strings{"Step 1/3 : ARG BASE=scratch", "Step 2/3 : FROM $BASE",
                                             "Step 3/3 : RUN echo   hello"}));
}

// --- multi-stage ---------------------------------------------------------------------------

constexpr std::string_view kThreeStages =
    "FROM base AS build\nRUN make\n"
    "FROM base AS unused\nRUN sleep 100\n"
    "FROM base\nCOPY --from=build /out /app\nCMD [\"/app\"]\n";

TEST(BuildPlanStages, StagesAndTheirReferences) {
  auto planner = planner_for(kThreeStages);
  const auto& stages = planner.stages();
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[0].name, "build");
  EXPECT_EQ(stages[0].from, 0u);
  EXPECT_EQ(stages[0].end, 2u);
  EXPECT_EQ(stages[2].name, "");
  EXPECT_EQ(stages[2].copies_from, (std::vector<std::size_t>{0}));
  EXPECT_TRUE(stages[0].needed);
  EXPECT_FALSE(stages[1].needed);
  EXPECT_TRUE(stages[2].needed);
  EXPECT_EQ(planner.target_stage(), 2u);
}

TEST(BuildPlanStages, UnusedStagesAreSkippedAndNotCounted) {
  auto planner = planner_for(kThreeStages);
  EXPECT_EQ(planner.schedule(), (std::vector<std::size_t>{0, 1, 4, 5, 6}));
  EXPECT_EQ(step_messages(planner),
            (Strings{"Step 1/5 : FROM base AS build", "Step 2/5 : RUN make", "Step 3/5 : FROM base",
                     "Step 4/5 : COPY --from=build /out /app", "Step 5/5 : CMD [\"/app\"]"}));
}

TEST(BuildPlanStages, FromAnEarlierStageAndCopyFromIndexOrImage) {
  auto planner = planner_for(
      "FROM base AS Deps\nRUN fetch\nFROM deps AS build\nRUN make\n"
      "FROM other AS tools\nRUN tool\n"
      "FROM base\nCOPY --from=1 /out /app\nCOPY --from=alpine:3 /bin/sh /bin/\n");
  const auto& stages = planner.stages();
  EXPECT_EQ(stages[1].base_stage, 0u);
  EXPECT_TRUE(stages[0].needed);
  EXPECT_TRUE(stages[1].needed);
  EXPECT_FALSE(stages[2].needed);
  ImageConfig parent;
  parent.env = {"PATH=/bin"};
  auto steps = run_all(planner, parent);
  ASSERT_EQ(steps.size(), 7u);
  EXPECT_EQ(steps[2].base_stage, 0u);  // FROM deps
  EXPECT_EQ(steps[2].image, "");
  EXPECT_EQ(steps[5].from_stage, 1u);
  EXPECT_EQ(steps[6].from_stage, std::nullopt);
  EXPECT_EQ(steps[6].from_image, "alpine:3");
}

TEST(BuildPlanStages, StageBuiltOnAnotherInheritsItsConfig) {
  auto planner = planner_for(
      "FROM base AS one\nENV A=1\nUSER www\nWORKDIR /srv\nCMD [\"serve\"]\n"
      "FROM one\nRUN run\n");
  auto steps = run_all(planner);
  const Step& run = steps.back();
  EXPECT_EQ(run.env, (Strings{"A=1"}));
  EXPECT_EQ(run.user, "www");
  EXPECT_EQ(run.workdir, "/srv");
  EXPECT_EQ(planner.config().cmd, (Strings{"serve"}));
}

TEST(BuildPlanStages, StageNamesFromMetaArgs) {
  auto planner = planner_for(
      "ARG SRC=build\nFROM base AS build\nRUN make\nFROM base AS other\n"
      "FROM base\nARG SRC\nCOPY --from=$SRC /out /app\n");
  EXPECT_TRUE(planner.stages()[0].needed);
  EXPECT_FALSE(planner.stages()[1].needed);
  auto steps = run_all(planner);
  EXPECT_EQ(steps.back().from_stage, 0u);
}

TEST(BuildPlanStages, TargetStage) {
  auto planner = planner_for(kThreeStages, {.target = "build"});
  EXPECT_EQ(planner.target_stage(), 0u);
  EXPECT_EQ(planner.total_steps(), 2u);
  auto by_index = planner_for(kThreeStages, {.target = "1"});
  EXPECT_EQ(by_index.schedule(), (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(create_error(kThreeStages, {.target = "nope"}),
            "target stage \"nope\" could not be found");
}

TEST(BuildPlanStages, CopyFromCurrentOrLaterStageFails) {
  EXPECT_NE(create_error("FROM a\nCOPY --from=0 /x /y\n").find("refers to current or later"),
            std::string::npos);
  EXPECT_EQ(create_error("FROM a\nFROM b\nCOPY --from=7 /x /y\n"),
            "invalid from flag value 7: refers to current or later build stage "
            "(COPY --from=7 /x /y)");
}

TEST(BuildPlanStages, CopyFromAStageNamedThroughTheParentEnvironment) {
  // analyse() cannot see the parent image's ENV: a --from naming a skipped stage is refused.
  auto planner = planner_for("FROM a AS one\nFROM b AS two\nCOPY --from=$S /x /y\n");
  EXPECT_FALSE(planner.stages()[0].needed);
  ASSERT_TRUE(planner.next());
  ASSERT_TRUE(planner.set_parent(ImageConfig{.env = {"S=one"}}));
  auto copy = planner.next();
  ASSERT_FALSE(copy);
  EXPECT_EQ(copy.error().message,
            "invalid from flag value one: refers to a build stage this build does not run "
            "(COPY --from=$S /x /y)");
}

TEST(BuildPlanStages, CopyFromAHugeNumberThroughTheParentEnvironment) {
  // Found by tests/fuzz (crashes/dockerfile-copy-from-stoul): more digits than an unsigned long
  // holds were an uncaught std::out_of_range.
  auto planner = planner_for("FROM a AS one\nFROM b AS two\nCOPY --from=$S /x /y\n");
  ASSERT_TRUE(planner.next());
  ASSERT_TRUE(planner.set_parent(ImageConfig{.env = {"S=" + std::string(40, '9')}}));
  auto copy = planner.next();
  ASSERT_FALSE(copy);
  EXPECT_NE(copy.error().message.find("refers to a build stage this build does not run"),
            std::string::npos)
      << copy.error().message;
}

// --- step kinds ----------------------------------------------------------------------------

TEST(BuildPlanSteps, FromImageSnapshotAndUserSuppliedParent) {
  auto planner = planner_for("FROM base@snap1\nRUN true\n");
  auto from = planner.next();
  ASSERT_TRUE(from);
  EXPECT_EQ(from->image, "base@snap1");
  EXPECT_FALSE(from->user_supplied);
  EXPECT_FALSE(from->snapshot);

  auto overridden = planner_for("FROM base\nRUN true\n", {.parent_image = "FreeBSD:13"});
  auto step = overridden.next();
  ASSERT_TRUE(step);
  EXPECT_EQ(step->image, "FreeBSD:13");
  EXPECT_TRUE(step->user_supplied);
  EXPECT_EQ(step->line, "FROM base");
}

TEST(BuildPlanSteps, RunShellAndExecFormWithEnvironmentUserWorkdir) {
  auto planner = planner_for(
      "FROM base\nARG V=1\nENV E=x\nUSER ntpd\nWORKDIR app\nRUN echo $V\n"
      "RUN [\"/bin/echo\", \"$V\"]\n",
      {.build_args = {{"V", "2"}}});
  ImageConfig parent;
  parent.env = {"PATH=/bin"};
  parent.workdir = "/home";
  auto steps = run_all(planner, parent);
  ASSERT_EQ(steps.size(), 7u);
  const Step& shell = steps[5];
  EXPECT_EQ(shell.argv, (Strings{"/bin/sh", "-c", "echo $V"}));
  EXPECT_EQ(shell.env, (Strings{"E=x", "PATH=/bin", "V=2"}));
  EXPECT_EQ(shell.user, "ntpd");
  EXPECT_EQ(shell.workdir, "/home/app");
  EXPECT_EQ(shell.build_args, (std::map<std::string, std::string>{{"V", "2"}}));
  EXPECT_TRUE(shell.snapshot);
  EXPECT_EQ(steps[6].argv, (Strings{"/bin/echo", "$V"}));
}

TEST(BuildPlanSteps, CopyAndAddAfterWorkdir) {
  auto planner = planner_for(
      "FROM base\nARG F=a.txt\nWORKDIR /srv\nWORKDIR ../opt/./x//\n"
      "COPY --chown=1:2 --chmod=600 $F b.txt dir/\nADD [\"c.tar\", \"/\"]\n");
  auto steps = run_all(planner);
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[3].workdir, "/opt/x");
  const Step& copy = steps[4];
  EXPECT_EQ(copy.sources, (Strings{"a.txt", "b.txt"}));
  EXPECT_EQ(copy.destination, "dir/");
  EXPECT_EQ(copy.workdir, "/opt/x");
  EXPECT_EQ(copy.chown, "1:2");
  EXPECT_EQ(copy.chmod, "600");
  EXPECT_TRUE(copy.snapshot);
  EXPECT_EQ(steps[5].sources, (Strings{"c.tar"}));
  EXPECT_EQ(steps[5].destination, "/");
  EXPECT_TRUE(steps[5].snapshot);
}

TEST(BuildPlanSteps, MetadataStepsMakeNoSnapshot) {
  auto planner = planner_for(
      "FROM base\nARG A\nENV B=1\nUSER u\nWORKDIR /w\nCMD x\nENTRYPOINT [\"e\"]\n"
      "LABEL k=v\nEXPOSE 80 53/UDP\n");
  for (const Step& step : run_all(planner))
    EXPECT_FALSE(step.snapshot) << step.line;
}

TEST(BuildPlanSteps, SubstitutionErrorsComeAtTheirStep) {
  auto planner = planner_for("FROM base\nRUN true\nUSER ${X\n");
  ASSERT_TRUE(planner.next());
  ASSERT_TRUE(planner.next());
  auto user = planner.next();
  ASSERT_FALSE(user);
  EXPECT_TRUE(user.error().message.starts_with("failed environment substition of: USER ${X"));
}

// Relative WORKDIRs extend the last one and every step keeps a copy: 63 doublings of a 500 KB
// ARG and thousands of `WORKDIR .` made hundreds of GB. Beyond PATH_MAX it is an error.
TEST(BuildPlanSteps, WorkdirLongerThanPathMaxIsRefused) {
  auto planner = planner_for("FROM base\nWORKDIR " + std::string(4000, 'w') + "\nWORKDIR " +
                             std::string(100, 'x') + "\n");
  ASSERT_TRUE(planner.next());
  auto first = planner.next();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->workdir, "/" + std::string(4000, 'w'));
  auto second = planner.next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ENAMETOOLONG);
  EXPECT_TRUE(second.error().message.starts_with(
      "WORKDIR: the working directory is longer than 4096 bytes (WORKDIR xxx"))
      << second.error().message;
}

TEST(BuildPlanSteps, ParentImageConfigIsTheStart) {
  auto planner = planner_for("FROM base\nRUN env\n");
  ImageConfig parent;
  parent.env = {"A=1", "B=2"};
  parent.user = "www";
  parent.cmd = {"/bin/sh"};
  auto steps = run_all(planner, parent);
  EXPECT_EQ(steps[1].env, (Strings{"A=1", "B=2"}));
  EXPECT_EQ(steps[1].user, "www");
  EXPECT_EQ(steps[1].workdir, "/");
  EXPECT_EQ(planner.config().cmd, (Strings{"/bin/sh"}));

  auto bad = planner_for("FROM base\n");
  ASSERT_TRUE(bad.next());
  EXPECT_FALSE(bad.set_parent(ImageConfig{.env = {"NOEQUALS"}}));
}

// --- cache keys ----------------------------------------------------------------------------

std::string key_of(std::string_view dockerfile, BuildOptions options = {},
                   std::string_view parent = "img@p", std::string_view digest = "") {
  auto planner = planner_for(dockerfile, options);
  auto steps = run_all(planner);
  auto key = cache_key(steps.back(), parent, digest);
  EXPECT_TRUE(key.has_value());
  return key ? *key : "";
}

TEST(BuildPlanCache, KeyIsStableAndWellFormed) {
  const std::string key = key_of("FROM base\nRUN make\n");
  EXPECT_EQ(key, key_of("FROM base\nRUN make\n"));
  EXPECT_EQ(key.size(), 7u + 64u);
  EXPECT_TRUE(key.starts_with("sha256:"));
  // Unrelated steps before it (metadata that does not reach the RUN) leave it alone.
  EXPECT_EQ(key, key_of("FROM base\nCMD x\nLABEL a=b\nEXPOSE 80\nRUN make\n"));
  // A --build-arg no ARG declares is not in scope.
  EXPECT_EQ(key, key_of("FROM base\nRUN make\n", {.build_args = {{"X", "1"}}}));
}

TEST(BuildPlanCache, EachInputChangesTheKey) {
  const std::string base = key_of("FROM base\nARG A=1\nRUN make\n", {}, "img@p", "d");
  std::set<std::string> keys{base};
  const auto add = [&](const std::string& key) {
    EXPECT_TRUE(keys.insert(key).second) << "a changed input kept the key";
  };
  add(key_of("FROM base\nARG A=1\nRUN make\n", {}, "img@q", "d"));        // parent
  add(key_of("FROM base\nARG A=1\nRUN make all\n", {}, "img@p", "d"));    // instruction
  add(key_of("FROM base\nARG A=1\nRUN [\"make\"]\n", {}, "img@p", "d"));  // form
  add(key_of("FROM base\nARG A=2\nRUN make\n", {}, "img@p", "d"));        // arg default
  add(key_of("FROM base\nARG A=1\nRUN make\n", {.build_args = {{"A", "3"}}}, "img@p", "d"));
  add(key_of("FROM base\nARG A=1\nENV E=1\nRUN make\n", {}, "img@p", "d"));     // env
  add(key_of("FROM base\nARG A=1\nUSER u\nRUN make\n", {}, "img@p", "d"));      // user
  add(key_of("FROM base\nARG A=1\nWORKDIR /w\nRUN make\n", {}, "img@p", "d"));  // workdir
  add(key_of("FROM base\nARG A=1\nRUN make\n", {}, "img@p", "e"));              // digest
  add(key_of("FROM base\nARG A=1\nRUN make\n", {}, "img@p", ""));
}

TEST(BuildPlanCache, CopyKeysOnSubstitutedSourcesFlagsAndContent) {
  const std::string key = key_of("FROM b\nARG F=a\nCOPY $F /d/\n", {}, "p", "sha256:1");
  EXPECT_EQ(key, key_of("FROM b\nARG F=a\nCOPY $F /d/\n", {}, "p", "sha256:1"));
  EXPECT_NE(
      key, key_of("FROM b\nARG F=a\nCOPY $F /d/\n", {.build_args = {{"F", "b"}}}, "p", "sha256:1"));
  EXPECT_NE(key, key_of("FROM b\nARG F=a\nCOPY --chmod=600 $F /d/\n", {}, "p", "sha256:1"));
  EXPECT_NE(key, key_of("FROM b\nARG F=a\nCOPY $F /d/\n", {}, "p", "sha256:2"));
  EXPECT_NE(key, key_of("FROM b\nARG F=a\nADD $F /d/\n", {}, "p", "sha256:1"));
}

TEST(BuildPlanCache, EveryFieldOfTheStepIsKeyed) {
  auto planner = planner_for("FROM b\nARG A=1\nCOPY --chown=1 x /y\n");
  const Step step = run_all(planner).back();
  const std::string key = *cache_key(step, "p", "d");
  std::vector<Step> changed(11, step);
  changed[0].substituted.keyword = "ADD";
  changed[1].substituted.form = Form::kExec;
  changed[2].substituted.args.back() = "/z";
  changed[3].substituted.flags.front().value = "2";
  changed[4].substituted.flags.clear();
  changed[5].substituted.pairs = {{"K", "V"}};
  changed[6].build_args["A"] = "2";
  changed[7].env.push_back("E=1");
  changed[8].user = "u";
  changed[9].workdir = "/w";
  changed[10].build_args.clear();
  std::set<std::string> keys{key, *cache_key(step, "q", "d"), *cache_key(step, "p", "e")};
  for (const Step& other : changed)
    keys.insert(*cache_key(other, "p", "d"));
  EXPECT_EQ(keys.size(), 14u);
  // Fields the key does not cover: the step's number, its line as written, its stage.
  Step renumbered = step;
  renumbered.number = 9;
  renumbered.line = "COPY --chown=1 $X /y";
  renumbered.stage = 4;
  EXPECT_EQ(*cache_key(renumbered, "p", "d"), key);
}

TEST(BuildPlanCache, FieldsAreLengthPrefixed) {
  // "ab" + "c" and "a" + "bc" hash differently.
  auto planner = planner_for("FROM b\nRUN [\"ab\", \"c\"]\nRUN [\"a\", \"bc\"]\n");
  auto steps = run_all(planner);
  EXPECT_NE(*cache_key(steps[1], "p"), *cache_key(steps[2], "p"));
  Step empty_value = steps[1];
  empty_value.substituted.pairs = {{"K", std::string()}};
  Step no_value = steps[1];
  no_value.substituted.pairs = {{"K", std::nullopt}};
  EXPECT_NE(*cache_key(empty_value, "p"), *cache_key(no_value, "p"));
}

// --- messages ------------------------------------------------------------------------------

TEST(BuildPlanMessages, KleenesWording) {
  EXPECT_EQ(step_message(2, 7, "RUN printenv"), "Step 2/7 : RUN printenv");
  EXPECT_EQ(snapshot_message("0b8c5d3e1a2f"), "--> Snapshot created: @0b8c5d3e1a2f");
  EXPECT_EQ(snapshot_message("@0b8c5d3e1a2f"), "--> Snapshot created: @0b8c5d3e1a2f");
  EXPECT_EQ(kUsingCacheMessage, "---> Using cache");
  EXPECT_EQ(user_supplied_parent_message("FreeBSD:testing"),
            "Using user-supplied parent image: 'FreeBSD:testing'");
  EXPECT_EQ(nonzero_exit_message({"/bin/sh", "-c", "ls notexist"}, 1),
            "The command '/bin/sh -c ls notexist' returned a non-zero code: 1");
  EXPECT_EQ(kImageCreatedMessage, "image created");
  EXPECT_EQ(kImageBuildFailedMessage, "image build failed");
  EXPECT_EQ(failed_nametag("myimage"), "myimage:failed");
}

// --- image config --------------------------------------------------------------------------

TEST(BuildPlanImage, ConfigAfterTheLastStage) {
  auto planner = planner_for(
      "FROM base AS build\nENV BUILDONLY=1\nRUN make\n"
      "FROM base\nENV A=1 B=\"two words\"\nUSER www\nWORKDIR /srv\nLABEL maintainer=me "
      "\"x y\"=z\nEXPOSE 80 53/UDP\nCOPY --from=build /out /srv/\nCMD [\"/srv/run\"]\n",
      {.build_args = {{"UNUSED", "1"}}});
  ImageConfig parent;
  parent.env = {"PATH=/bin"};
  parent.cmd = {"/bin/sh"};
  run_all(planner, parent);
  const auto json = planner.image_json();
  EXPECT_EQ(json["cmd"], nlohmann::json({"/srv/run"}));
  EXPECT_EQ(json["entrypoint"], nlohmann::json::array());
  EXPECT_EQ(json["env"], nlohmann::json({"A=1", "B=two words", "PATH=/bin"}));
  EXPECT_EQ(json["user"], "www");
  EXPECT_EQ(json["workdir"], "/srv");
  EXPECT_EQ(json["labels"], (nlohmann::json{{"maintainer", "me"}, {"x y", "z"}}));
  EXPECT_EQ(json["exposed_ports"], nlohmann::json({"53/udp", "80/tcp"}));
  EXPECT_EQ(json["buildargs"], nlohmann::json::object());
  EXPECT_EQ(json["instructions"],
            nlohmann::json::parse(R"([["FROM base", ""], ["ENV A=1 B=\"two words\"", ""],
              ["USER www", ""], ["WORKDIR /srv", ""],
              ["LABEL maintainer=me \"x y\"=z", ""], ["EXPOSE 80 53/UDP", ""],
              ["COPY --from=build /out /srv/", "@s10"], ["CMD [\"/srv/run\"]", ""]])"));
  EXPECT_EQ(planner.last_snapshot(), "@s10");
  EXPECT_EQ(planner.unused_build_args(), (Strings{"UNUSED"}));
}

TEST(BuildPlanImage, InstructionsAsKleeneListsThemWithMetaArgsAndBuildArgs) {
  auto planner = planner_for("ARG V=1\nFROM base\nARG V\nRUN echo $V\nCMD x\n",
                             {.build_args = {{"V", "9"}, {"W", "0"}}});
  run_all(planner);
  const auto json = planner.image_json();
  EXPECT_EQ(json["instructions"],
            nlohmann::json::parse(R"([["ARG V=1", ""], ["FROM base", ""], ["ARG V", ""],
              ["RUN echo $V", "@s4"], ["CMD x", ""]])"));
  EXPECT_EQ(json["buildargs"], (nlohmann::json{{"V", "9"}}));
  EXPECT_EQ(json["cmd"], nlohmann::json({"/bin/sh", "-c", "x"}));
}

TEST(BuildPlanImage, EntrypointResetsAnInheritedCmd) {
  ImageConfig parent;
  parent.cmd = {"/bin/sh"};
  auto inherited = planner_for("FROM base\nENTRYPOINT [\"/e\"]\n");
  run_all(inherited, parent);
  EXPECT_EQ(inherited.image_json()["cmd"], nlohmann::json::array());
  EXPECT_EQ(inherited.image_json()["entrypoint"], nlohmann::json({"/e"}));
  auto own = planner_for("FROM base\nCMD [\"a\"]\nENTRYPOINT [\"/e\"]\n");
  run_all(own, parent);
  EXPECT_EQ(own.image_json()["cmd"], nlohmann::json({"a"}));
}

TEST(BuildPlanImage, FailedBuildWithoutSnapshots) {
  auto planner = planner_for("FROM base\nCMD x\n");
  run_all(planner);
  EXPECT_EQ(planner.last_snapshot(), "");
  EXPECT_FALSE(planner.next());  // past the last step
}

TEST(BuildPlanImage, FailedBuildKeepsTheStepsSoFarOfTheFailingStage) {
  // As Kleene's `<name>:failed`: the failing instruction is listed, without a snapshot.
  auto planner = planner_for(
      "FROM base AS build\nRUN make\nRUN ls notexist\nFROM base\nCOPY --from=build /a /b\n");
  ASSERT_TRUE(planner.next());
  ASSERT_TRUE(planner.set_parent({}));
  ASSERT_TRUE(planner.next());
  planner.record_snapshot("@s2");
  ASSERT_TRUE(planner.next());  // RUN ls notexist fails: no snapshot recorded
  EXPECT_EQ(planner.last_snapshot(), "@s2");
  EXPECT_EQ(planner.image_json()["instructions"],
            nlohmann::json::parse(
                R"([["FROM base AS build", ""], ["RUN make", "@s2"], ["RUN ls notexist", ""]])"));

  auto bad = planner_for("FROM base\nRUN true\nWORKDIR ${X:?unset}\n");
  ASSERT_TRUE(bad.next());
  ASSERT_TRUE(bad.next());
  bad.record_snapshot("s2");
  EXPECT_FALSE(bad.next());
  EXPECT_EQ(bad.image_json()["instructions"],
            nlohmann::json::parse(
                R"([["FROM base", ""], ["RUN true", "@s2"], ["WORKDIR ${X:?unset}", ""]])"));
}

}  // namespace
}  // namespace kleene::builder
