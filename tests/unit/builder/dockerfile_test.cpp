// The Dockerfile parser and the in-process variable substitution (Kleene's and Docker's rules).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "builder/dockerfile.hpp"

namespace kleene::builder {
namespace {

using Strings = std::vector<std::string>;
using BuildArgs = std::map<std::string, std::string>;

std::vector<Instruction> parse_ok(std::string_view text) {
  auto parsed = parse_dockerfile(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : std::vector<Instruction>{};
}

std::string parse_error(std::string_view text) {
  auto parsed = parse_dockerfile(text);
  EXPECT_FALSE(parsed.has_value()) << "parsed: " << text;
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, EINVAL);
  return parsed.error().message;
}

// --- parser: instructions ---------------------------------------------------------------

TEST(DockerfileParse, FromWithCommentsAndStageName) {
  auto plain = parse_ok("# Testing\nFROM lol\n# One more comment");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].keyword, "FROM");
  EXPECT_EQ(plain[0].line, "FROM lol");
  EXPECT_EQ(plain[0].line_number, 2u);
  EXPECT_EQ(plain[0].args, Strings{"lol"});
  EXPECT_EQ(plain[0].stage_name, "");

  auto named = parse_ok("FROM lol AS MaxLol\n");
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].line, "FROM lol AS MaxLol");
  EXPECT_EQ(named[0].args, Strings{"lol"});
  EXPECT_EQ(named[0].stage_name, "maxlol");

  auto lower_as = parse_ok("FROM base@snap1 as build");
  EXPECT_EQ(lower_as[0].args, Strings{"base@snap1"});
  EXPECT_EQ(lower_as[0].stage_name, "build");

  auto platform = parse_ok("FROM --platform=linux/amd64 base");
  ASSERT_NE(platform[0].flag("platform"), nullptr);
  EXPECT_EQ(*platform[0].flag("platform"), "linux/amd64");
}

TEST(DockerfileParse, RunAndCmdShellAndExecForms) {
  auto out = parse_ok(
      "FROM lol\nRUN cat lol.txt\nRUN [\"/bin/sh\", \"-c\", \"cat lol.txt\"]\n"
      "CMD  echo -n \"lol\"\nCMD [\"/bin/ls\"]\nENTRYPOINT [\"/bin/echo\", \"a b\"]\n"
      "ENTRYPOINT exec top -b\nRUN [ -f /etc/x ] && echo yes\nCMD []\n");
  ASSERT_EQ(out.size(), 9u);
  EXPECT_EQ(out[1].form, Form::kShell);
  EXPECT_EQ(out[1].args, Strings{"cat lol.txt"});
  EXPECT_EQ(command_of(out[1]), (Strings{"/bin/sh", "-c", "cat lol.txt"}));
  EXPECT_EQ(out[2].form, Form::kExec);
  EXPECT_EQ(out[2].line, "RUN [\"/bin/sh\", \"-c\", \"cat lol.txt\"]");
  EXPECT_EQ(command_of(out[2]), (Strings{"/bin/sh", "-c", "cat lol.txt"}));
  EXPECT_EQ(out[3].line, "CMD  echo -n \"lol\"");
  EXPECT_EQ(out[3].args, Strings{"echo -n \"lol\""});
  EXPECT_EQ(out[4].args, Strings{"/bin/ls"});
  EXPECT_EQ(out[5].keyword, "ENTRYPOINT");
  EXPECT_EQ(out[5].args, (Strings{"/bin/echo", "a b"}));
  EXPECT_EQ(out[6].form, Form::kShell);
  // `[ -f x ]` is the test command, not JSON: shell form as in Docker.
  EXPECT_EQ(out[7].form, Form::kShell);
  EXPECT_EQ(out[7].args, Strings{"[ -f /etc/x ] && echo yes"});
  EXPECT_EQ(out[8].form, Form::kExec);
  EXPECT_TRUE(out[8].args.empty());
}

TEST(DockerfileParse, CopyAndAdd) {
  auto out = parse_ok(
      "FROM lol\nCOPY [\"lol1\", \"lol2\", \"lol3\"]\nCOPY lol1 lol2 lol3\n"
      "COPY --from=build --chown=1:2 /out/app /usr/bin/\n"
      "COPY --from=build [\"/a b\", \"/c\"]\nADD --chmod=644 files.tar /srv/\n");
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[1].form, Form::kExec);
  EXPECT_EQ(out[1].args, (Strings{"lol1", "lol2", "lol3"}));
  EXPECT_EQ(out[2].form, Form::kShell);
  EXPECT_EQ(out[2].args, (Strings{"lol1", "lol2", "lol3"}));
  EXPECT_EQ(out[3].flags, (std::vector<Flag>{{"from", "build"}, {"chown", "1:2"}}));
  EXPECT_EQ(out[3].args, (Strings{"/out/app", "/usr/bin/"}));
  EXPECT_EQ(out[3].line, "COPY --from=build --chown=1:2 /out/app /usr/bin/");
  EXPECT_EQ(*out[4].flag("from"), "build");
  EXPECT_EQ(out[4].args, (Strings{"/a b", "/c"}));
  EXPECT_EQ(out[5].keyword, "ADD");
  EXPECT_EQ(*out[5].flag("chmod"), "644");
  EXPECT_EQ(out[5].args, (Strings{"files.tar", "/srv/"}));
}

TEST(DockerfileParse, UserWorkdirLabelExpose) {
  auto out = parse_ok(
      "FROM lol\nUSER testuser\nUSER  testuser  \nWORKDIR /srv/my app\n"
      "LABEL a=1 \"b c\"=\"d e\"\nLABEL version 1.0 beta\nEXPOSE 80 443/tcp 53/udp\n");
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[1].args, Strings{"testuser"});
  EXPECT_EQ(out[2].args, Strings{"testuser"});
  EXPECT_EQ(out[2].line, "USER  testuser  ");  // printed as written, like Kleene
  EXPECT_EQ(out[3].args, Strings{"/srv/my app"});
  EXPECT_EQ(out[4].pairs, (std::vector<KeyValue>{{"a", "1"}, {"\"b c\"", "\"d e\""}}));
  EXPECT_EQ(out[5].pairs, (std::vector<KeyValue>{{"version", "1.0 beta"}}));
  EXPECT_EQ(out[6].args, (Strings{"80", "443/tcp", "53/udp"}));
}

TEST(DockerfileParse, EnvBothFormsKeepRawQuotesForSubstitution) {
  auto out = parse_ok(
      "FROM lol\nENV TEST=lol\nENV TEST2=\"lool test\" T3='a b' T4=x\\ y\nENV OLD some value\n"
      "ENV EMPTY=\n");
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1].pairs, (std::vector<KeyValue>{{"TEST", "lol"}}));
  EXPECT_EQ(out[2].pairs,
            (std::vector<KeyValue>{{"TEST2", "\"lool test\""}, {"T3", "'a b'"}, {"T4", "x\\ y"}}));
  EXPECT_EQ(out[3].pairs, (std::vector<KeyValue>{{"OLD", "some value"}}));
  EXPECT_EQ(out[4].pairs, (std::vector<KeyValue>{{"EMPTY", ""}}));
}

TEST(DockerfileParse, ArgWithAndWithoutDefaultBeforeAndAfterFrom) {
  auto out = parse_ok("ARG VERSION=1.0\nARG BASE\nFROM base:$VERSION\nARG a=\"x y\" b\n");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].pairs, (std::vector<KeyValue>{{"VERSION", "1.0"}}));
  EXPECT_EQ(out[1].pairs, (std::vector<KeyValue>{{"BASE", std::nullopt}}));
  EXPECT_EQ(out[2].args, Strings{"base:$VERSION"});  // substituted later, not by the parser
  EXPECT_EQ(out[3].pairs, (std::vector<KeyValue>{{"a", "\"x y\""}, {"b", std::nullopt}}));
}

TEST(DockerfileParse, LowerCaseKeywordsAreUpperCased) {
  auto out = parse_ok("from lol\nrun echo hi\n");
  EXPECT_EQ(out[0].keyword, "FROM");
  EXPECT_EQ(out[1].keyword, "RUN");
  EXPECT_EQ(out[1].line, "run echo hi");
}

// --- parser: lines -------------------------------------------------------------------------

TEST(DockerfileParse, ContinuationsAreJoinedAsKleenePrintsThem) {
  auto out = parse_ok("FROM scratch\nRUN echo \\\n  \"this should be relayed back\"\nUSER ntpd\n");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].line, "RUN echo   \"this should be relayed back\"");
  EXPECT_EQ(out[1].line_number, 2u);
  EXPECT_EQ(out[2].line_number, 4u);
}

TEST(DockerfileParse, CommentsAndBlankLinesInsideAContinuation) {
  auto out = parse_ok(
      "FROM scratch\n"
      "RUN apt-get update \\\n"
      "# a comment inside the instruction\n"
      "    && echo one \\\n"
      "\n"
      "  # an indented comment\n"
      "    && echo two\n"
      "  # indented comment line between instructions\n"
      "CMD /bin/ls\n");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].args, Strings{"apt-get update     && echo one     && echo two"});
  EXPECT_EQ(out[2].line, "CMD /bin/ls");
  EXPECT_EQ(out[2].line_number, 9u);
}

TEST(DockerfileParse, CrLfTrailingBlanksAfterBackslashBomAndHashInArguments) {
  auto out = parse_ok(
      "\xEF\xBB\xBF"
      "FROM scratch\r\nRUN echo a \\  \r\n b\r\nRUN echo 'we are running some # of cool "
      "things'\r\n");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].line, "FROM scratch");
  EXPECT_EQ(out[1].args, Strings{"echo a  b"});
  EXPECT_EQ(out[2].args, Strings{"echo 'we are running some # of cool things'"});
}

TEST(DockerfileParse, ContinuationAtEndOfFile) {
  auto out = parse_ok("FROM scratch\nRUN echo a \\\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].args, Strings{"echo a"});
}

// --- parser: errors with Kleene's messages ----------------------------------------------

TEST(DockerfileParseErrors, KleeneMessages) {
  // A continuation line without the backslash becomes an instruction of its own.
  EXPECT_EQ(parse_error("FROM scratch\nRUN echo\n  \"this should faile because we omitted the "
                        "'\\' above\"\nCMD /usr/bin/uname\n"),
            "invalid instruction:   \"this should faile because we omitted the '\\' above\"");
  EXPECT_EQ(parse_error("FROM scratch\nVOLUME /data\n"), "invalid instruction: VOLUME /data");
  EXPECT_EQ(parse_error("FROM scratch\nARG TEST-VAR=\"this should fail\"\n"),
            "ENV/ARG variable name is invalid on line: ARG TEST-VAR=\"this should fail\"");
  EXPECT_EQ(parse_error("FROM scratch\nENV TEST-VAR=\"this should fail\"\n"),
            "ENV/ARG variable name is invalid on line: ENV TEST-VAR=\"this should fail\"");
  EXPECT_EQ(parse_error("FROM scratch\nENV 1A=x\n"),
            "ENV/ARG variable name is invalid on line: ENV 1A=x");
}

TEST(DockerfileParseErrors, MissingArguments) {
  EXPECT_EQ(parse_error("FROM scratch\nRUN\n"),
            "RUN requires at least one argument on line 2: RUN");
  EXPECT_EQ(parse_error("FROM scratch\nWORKDIR   \n"),
            "WORKDIR requires at least one argument on line 2: WORKDIR   ");
  EXPECT_EQ(parse_error("FROM scratch\nCOPY onlyone\n"),
            "COPY requires at least two arguments: <src>... <dest> on line 2: COPY onlyone");
  EXPECT_EQ(parse_error("FROM scratch\nCOPY [\"onlyone\"]\n"),
            "COPY requires at least two arguments: <src>... <dest> on line 2: COPY "
            "[\"onlyone\"]");
  EXPECT_EQ(parse_error("FROM scratch\nRUN []\n"),
            "RUN requires at least one argument on line 2: RUN []");
  EXPECT_EQ(parse_error("FROM scratch\nENV ONLYNAME\n"),
            "ENV requires a value (ENV <name>=<value>) on line 2: ENV ONLYNAME");
  EXPECT_EQ(parse_error("FROM\n"), "FROM requires at least one argument on line 1: FROM");
  EXPECT_EQ(parse_error("FROM a b\n"),
            "FROM requires either one or three arguments (FROM <image> [AS <name>]) on line 1: "
            "FROM a b");
}

TEST(DockerfileParseErrors, EnvLabelSyntax) {
  // Kleene fails this one later ("failed environment substition of: ..."); here the parser
  // finds it: a comment is not allowed after an instruction.
  EXPECT_EQ(parse_error("FROM scratch\nENV TEST=\"something\" # You cannot make comments like "
                        "this.\n"),
            "syntax error: can't find = in \"#\"; must be of the form name=value on line 2: ENV "
            "TEST=\"something\" # You cannot make comments like this.");
  EXPECT_EQ(parse_error("FROM scratch\nLABEL =x\n"),
            "LABEL names can not be blank on line 2: LABEL =x");
}

TEST(DockerfileParseErrors, JsonForm) {
  EXPECT_EQ(parse_error("FROM scratch\nCMD [\"/bin/ls\", 1]\n"),
            "CMD has an invalid JSON array (expected [\"a\", \"b\", ...]) on line 2: CMD "
            "[\"/bin/ls\", 1]");
  EXPECT_EQ(parse_error("FROM scratch\nRUN [\"/bin/ls\"\n"),
            "RUN has an invalid JSON array (expected [\"a\", \"b\", ...]) on line 2: RUN "
            "[\"/bin/ls\"");
  parse_error("FROM scratch\nRUN [\"a\" \"b\"]\n");
  parse_error("FROM scratch\nRUN [\"a\", [\"b\"]]\n");
  parse_error("FROM scratch\nRUN [\"a\", {\"b\": 1}]\n");
  parse_error("FROM scratch\nRUN [\"a\"] trailing\n");
  EXPECT_EQ(parse_error("FROM scratch\nRUN [\"/bin/echo\", \"a\\u0000b\"]\n"),
            "RUN has a NUL character in its JSON array on line 2: RUN [\"/bin/echo\", "
            "\"a\\u0000b\"]");
}

TEST(DockerfileParseErrors, Flags) {
  EXPECT_EQ(parse_error("FROM scratch\nCOPY --frm=x a b\n"),
            "unknown flag --frm for COPY on line 2: COPY --frm=x a b");
  EXPECT_EQ(parse_error("FROM scratch\nADD --from=x a b\n"),
            "unknown flag --from for ADD on line 2: ADD --from=x a b");
  EXPECT_EQ(parse_error("FROM scratch\nCOPY --from a b\n"),
            "flag --from needs a value (--from=<value>) on line 2: COPY --from a b");
  EXPECT_EQ(parse_error("FROM scratch\nCOPY --from=a --from=b a b\n"),
            "flag --from given twice on line 2: COPY --from=a --from=b a b");
}

TEST(DockerfileParseErrors, FromAndArgOrdering) {
  EXPECT_EQ(parse_error(""), "the Dockerfile has no instructions");
  EXPECT_EQ(parse_error("# only a comment\n\n"), "the Dockerfile has no instructions");
  EXPECT_EQ(parse_error("ARG A=1\nARG B\n"), "the Dockerfile has no FROM instruction");
  EXPECT_EQ(parse_error("ARG A=1\nRUN echo\nFROM x\n"),
            "the first instruction must be FROM (only ARG may come before it) on line 2: RUN "
            "echo");
  EXPECT_EQ(parse_error("ENV A=1\nFROM x\n"),
            "the first instruction must be FROM (only ARG may come before it) on line 1: ENV A=1");
  EXPECT_EQ(parse_error("FROM a AS one\nFROM b AS ONE\n"),
            "duplicate stage name 'one' on line 2: FROM b AS ONE");
  EXPECT_EQ(parse_error("FROM a AS 1x\n"),
            "invalid stage name '1x' (a letter, then letters, digits, '-', '_' or '.') on line 1: "
            "FROM a AS 1x");
}

TEST(DockerfileParseErrors, HostileBytes) {
  EXPECT_EQ(parse_error(std::string("FROM scratch\nRUN echo a\0b\n", 26)),
            "the Dockerfile contains a NUL byte on line 2");
  EXPECT_EQ(parse_error("FROM scratch\n\nRUN echo \xC3\x28\n"),
            "the Dockerfile is not valid UTF-8 on line 3");
  EXPECT_EQ(parse_error("FROM scratch\nRUN echo \xC0\xAF\n"),  // overlong '/'
            "the Dockerfile is not valid UTF-8 on line 2");
  EXPECT_EQ(parse_error("FROM scratch\nRUN echo \xED\xA0\x80\n"),  // a surrogate
            "the Dockerfile is not valid UTF-8 on line 2");
  EXPECT_EQ(parse_error("FROM scratch\nRUN echo \xF0\x9F\x98"),  // truncated at the end
            "the Dockerfile is not valid UTF-8 on line 2");
  auto ok = parse_ok("FROM scratch\nRUN echo h\xC3\xA9llo \xF0\x9F\x98\x80\n");
  EXPECT_EQ(ok[1].args, Strings{"echo h\xC3\xA9llo \xF0\x9F\x98\x80"});
  EXPECT_EQ(parse_error(std::string(kMaxDockerfileSize + 1, '#')),
            "the Dockerfile is larger than 4194304 bytes");
}

TEST(DockerfileParseErrors, InstructionCountIsBounded) {
  std::string text = "FROM scratch\n";
  for (std::size_t i = 1; i < kMaxInstructions; ++i)
    text += "ENV A=1\n";
  EXPECT_EQ(parse_ok(text).size(), kMaxInstructions);
  text += "ENV A=1\n";
  EXPECT_EQ(parse_error(text), "the Dockerfile has more than 10000 instructions");
  std::string stages;
  for (int i = 0; i < 5000; ++i)
    stages += "FROM a AS s" + std::to_string(i) + "\n";
  EXPECT_EQ(parse_ok(stages).size(), 5000u);
}

TEST(DockerfileParseErrors, ArgumentCountIsBounded) {
  auto words = [](std::size_t n, std::string_view word, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
      out += std::string(i ? sep : "") + std::string(word);
    return out;
  };
  EXPECT_EQ(parse_ok("FROM a\nEXPOSE " + words(kMaxArguments, "1", " "))[1].args.size(),
            kMaxArguments);
  const std::string expose = "FROM a\nEXPOSE " + words(1'000'000, "1", " ");
  EXPECT_EQ(parse_error(expose).substr(0, 48), "EXPOSE has more than 4096 arguments on line 2: E");
  const std::string env = "FROM a\nENV " + words(1'000'000, "a=b", " ");
  EXPECT_EQ(parse_error(env).substr(0, 45), "ENV has more than 4096 arguments on line 2: E");
  const std::string json = "FROM a\nCOPY [" + words(1'000'000, "\"a\"", ",") + "]";
  EXPECT_EQ(parse_error(json).substr(0, 46), "COPY has more than 4096 arguments on line 2: C");
  EXPECT_EQ(parse_ok("FROM a\nCOPY [" + words(kMaxArguments, "\"a\"", ",") + "]")[1].args.size(),
            kMaxArguments);
}

TEST(DockerfileParseErrors, DeepJsonNestingFailsWithoutRecursion) {
  std::string text = "FROM scratch\nRUN [\"a\", " + std::string(1'000'000, '[') + "\n";
  EXPECT_NE(parse_error(text).find("invalid JSON array"), std::string::npos);
}

TEST(DockerfileParse, ManyContinuationsAndLongLines) {
  std::string text = "FROM scratch\nRUN echo";
  for (int i = 0; i < 100'000; ++i)
    text += " a \\\n";
  text += " end\n";
  auto out = parse_ok(text);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].args[0].ends_with("a  end"));
}

// --- substitution: one word -------------------------------------------------------------

struct Vars {
  std::map<std::string, std::string, std::less<>> values;
  Lookup lookup() const {
    return [this](std::string_view name) -> const std::string* {
      auto it = values.find(name);
      return it == values.end() ? nullptr : &it->second;
    };
  }
};

std::string expand_ok(std::string_view word, const Vars& vars) {
  auto r = expand_word(word, vars.lookup());
  EXPECT_TRUE(r.has_value()) << word << ": " << (r ? "" : r.error().message);
  return r ? *r : "<error>";
}

std::string expand_error(std::string_view word, const Vars& vars,
                         std::size_t limit = kMaxExpansion) {
  auto r = expand_word(word, vars.lookup(), limit);
  EXPECT_FALSE(r.has_value()) << word << " -> " << (r ? *r : "");
  return r ? "" : r.error().message;
}

TEST(DockerfileExpand, AllForms) {
  const Vars v{{{"X", "ex"}, {"EMPTY", ""}, {"PATHS", "/a b"}, {"_u1", "under"}}};
  EXPECT_EQ(expand_ok("$X", v), "ex");
  EXPECT_EQ(expand_ok("${X}", v), "ex");
  EXPECT_EQ(expand_ok("pre$X.post", v), "preex.post");
  EXPECT_EQ(expand_ok("pre${X}post", v), "preexpost");
  EXPECT_EQ(expand_ok("$_u1-$X", v), "under-ex");
  EXPECT_EQ(expand_ok("$UNKNOWN|${UNKNOWN}|", v), "||");
  EXPECT_EQ(expand_ok("${X:-d}|${UNKNOWN:-d}|${EMPTY:-d}", v), "ex|d|d");
  EXPECT_EQ(expand_ok("${X-d}|${UNKNOWN-d}|${EMPTY-d}", v), "ex|d|");
  EXPECT_EQ(expand_ok("${X:+a}|${UNKNOWN:+a}|${EMPTY:+a}", v), "a||");
  EXPECT_EQ(expand_ok("${X+a}|${UNKNOWN+a}|${EMPTY+a}", v), "a||a");
  EXPECT_EQ(expand_ok("${UNKNOWN:-$X/${PATHS}}", v), "ex//a b");
  EXPECT_EQ(expand_ok("${UNKNOWN:-${ALSO:-${X}}}", v), "ex");
  EXPECT_EQ(expand_ok("${X:?must be set}", v), "ex");
  EXPECT_EQ(expand_ok("$", v), "$");
  EXPECT_EQ(expand_ok("a$ b$-c$/", v), "a$ b$-c$/");
  EXPECT_EQ(expand_ok("$1$23x", v), "x");
  EXPECT_EQ(expand_ok("", v), "");
}

TEST(DockerfileExpand, QuotesAndEscapes) {
  const Vars v{{{"X", "ex"}}};
  EXPECT_EQ(expand_ok("\\$X", v), "$X");
  EXPECT_EQ(expand_ok("\\${X}", v), "${X}");
  EXPECT_EQ(expand_ok("'$X'", v), "$X");
  EXPECT_EQ(expand_ok("\"$X\"", v), "ex");
  EXPECT_EQ(expand_ok("\"lool test\"", v), "lool test");
  EXPECT_EQ(expand_ok("\"\\$5\\$2Fun7BK4thgtd4ao\\$j1kidg9P\"", v), "$5$2Fun7BK4thgtd4ao$j1kidg9P");
  EXPECT_EQ(expand_ok("\"a\\\"b\\\\c\\n\"", v), "a\"b\\c\\n");
  EXPECT_EQ(expand_ok("x\\ y\\\\z", v), "x y\\z");
  EXPECT_EQ(expand_ok("a\\", v), "a\\");
  EXPECT_EQ(expand_ok("'it'\"'\"'s'", v), "it's");
  EXPECT_EQ(expand_ok("${UNKNOWN:-\"}\"}", v), "}");
  EXPECT_EQ(expand_ok("${UNKNOWN:-'a b'}", v), "a b");
  EXPECT_EQ(expand_ok("\"${UNKNOWN:-$X}\"", v), "ex");
}

TEST(DockerfileExpand, ValuesAreNeverReexpanded) {
  const Vars v{{{"A", "$B"}, {"B", "bee"}, {"Q", "'\"\\"}}};
  EXPECT_EQ(expand_ok("$A", v), "$B");
  EXPECT_EQ(expand_ok("$Q", v), "'\"\\");
}

TEST(DockerfileExpand, Errors) {
  const Vars v;
  EXPECT_EQ(expand_error("'open", v),
            "unexpected end of text while looking for the matching single-quote");
  EXPECT_EQ(expand_error("\"open", v),
            "unexpected end of text while looking for the matching double-quote");
  EXPECT_EQ(expand_error("${X", v), "missing '}' in ${X");
  EXPECT_EQ(expand_error("${X:-abc", v), "missing '}' in a ${...} substitution");
  EXPECT_EQ(expand_error("${}", v), "bad substitution: ${ must be followed by a variable name");
  EXPECT_EQ(expand_error("${1}", v), "bad substitution: ${ must be followed by a variable name");
  EXPECT_NE(expand_error("${X%suffix}", v).find("unsupported modifier in ${X...}"),
            std::string::npos);
  EXPECT_EQ(expand_error("${X:?must be set}", v), "X: must be set");
  EXPECT_EQ(expand_error("${X?}", v), "X: is not set");
}

// --- substitution: hostile input --------------------------------------------------------

TEST(DockerfileExpandHostile, NestingDepthIsBounded) {
  const Vars v;
  std::string ok;
  for (int i = 0; i < kMaxSubstitutionDepth; ++i)
    ok += "${U:-";
  ok += "x" + std::string(kMaxSubstitutionDepth, '}');
  EXPECT_EQ(expand_ok(ok, v), "x");

  std::string deep;
  for (int i = 0; i < 100'000; ++i)
    deep += "${U:-";
  EXPECT_EQ(expand_error(deep, v), "substitutions nested more than 32 levels deep");
}

TEST(DockerfileExpandHostile, OutputLengthIsBounded) {
  const Vars v{{{"BIG", std::string(512 * 1024, 'x')}}};
  EXPECT_EQ(expand_ok("$BIG$BIG", v).size(), 1024u * 1024u);
  EXPECT_EQ(expand_error("$BIG$BIG$BIG", v), "the substituted text is longer than 1048576 bytes");
  std::string many;
  for (int i = 0; i < 100'000; ++i)
    many += "$BIG";
  EXPECT_EQ(expand_error(many, v), "the substituted text is longer than 1048576 bytes");
  EXPECT_EQ(expand_error("abcdef", v, 5), "the substituted text is longer than 5 bytes");
  // The branch not taken produces nothing, whatever it holds.
  EXPECT_EQ(expand_ok("${BIG:+short}${U:+" + many + "}", v), "short");
}

// --- Environment: ARG/ENV scopes -------------------------------------------------------

// Runs the Dockerfile's non-RUN instructions through substitute(); returns them.
std::vector<Instruction> run_through(std::string_view text, Environment& env) {
  std::vector<Instruction> out;
  for (const Instruction& in : parse_ok(text)) {
    auto done = substitute(in, env);
    EXPECT_TRUE(done.has_value()) << in.line << ": " << (done ? "" : done.error().message);
    if (!done) break;
    out.push_back(*done);
  }
  return out;
}

TEST(DockerfileEnvironment, ArgWithoutDefaultIsEmptyAndBuildArgOverrides) {
  Environment plain;
  auto out = run_through("FROM scratch\nARG testvar\nWORKDIR /lol:$testvar\n", plain);
  EXPECT_EQ(out[2].args, Strings{"/lol:"});
  EXPECT_EQ(out[1].pairs[0].value, std::nullopt);
  EXPECT_TRUE(plain.run_environment().empty());  // declared without a value: not exported

  Environment with(BuildArgs{{"testvar", "testval"}});
  out = run_through("FROM scratch\nARG testvar\nWORKDIR /lol:$testvar\n", with);
  EXPECT_EQ(out[2].args, Strings{"/lol:testval"});
  EXPECT_EQ(with.run_environment(), Strings{"testvar=testval"});
}

TEST(DockerfileEnvironment, ArgDefaultsQuotedAndOverridden) {
  const std::string text =
      "FROM scratch\nARG testvar1=testval1\nARG testvar2=\"test val2\"\n"
      "WORKDIR \"$testvar1:$testvar2\"\n";
  Environment defaults;
  EXPECT_EQ(run_through(text, defaults)[3].args, Strings{"testval1:test val2"});
  Environment overridden(BuildArgs{{"testvar1", "newval1"}, {"testvar2", "newval2"}});
  EXPECT_EQ(run_through(text, overridden)[3].args, Strings{"newval1:newval2"});
  EXPECT_EQ(overridden.run_environment(), (Strings{"testvar1=newval1", "testvar2=newval2"}));
}

TEST(DockerfileEnvironment, RedeclaringAnArgWithoutDefaultOverridesTheFirstValue) {
  Environment env;
  auto out = run_through(
      "FROM scratch\nARG testvar=should_be_overwritten\nARG testvar\nUSER empty:$testvar\n", env);
  EXPECT_EQ(out[3].args, Strings{"empty:"});
}

TEST(DockerfileEnvironment, EnvWinsOverArg) {
  Environment env(BuildArgs{{"CONT_IMG_VER", "from-build-arg"}});
  auto out = run_through(
      "FROM scratch\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nWORKDIR /$CONT_IMG_VER\n", env);
  EXPECT_EQ(out[3].args, Strings{"/v1.0.0"});
  EXPECT_EQ(env.run_environment(), Strings{"CONT_IMG_VER=v1.0.0"});
  EXPECT_EQ(env.image_environment(), Strings{"CONT_IMG_VER=v1.0.0"});
}

TEST(DockerfileEnvironment, ArgFeedsEnvUserCopy) {
  Environment env;
  auto out = run_through(
      "FROM scratch\nARG TESTVAR=\"use at runtime\"\nENV TESTENVVAR=$TESTVAR\n"
      "ARG U=ntpd\nUSER $U\nARG F=\"test.txt\"\nCOPY $F ${DEST:-/root/}\n"
      "RUN echo $TESTENVVAR\nCMD echo -n $TESTENVVAR\n",
      env);
  EXPECT_EQ(out[2].pairs[0].value, "use at runtime");
  EXPECT_EQ(out[4].args, Strings{"ntpd"});
  EXPECT_EQ(out[6].args, (Strings{"test.txt", "/root/"}));
  // RUN and CMD in shell form go to the container's shell as written.
  EXPECT_EQ(out[7].args, Strings{"echo $TESTENVVAR"});
  EXPECT_EQ(out[8].args, Strings{"echo -n $TESTENVVAR"});
  EXPECT_EQ(env.image_environment(), Strings{"TESTENVVAR=use at runtime"});
  EXPECT_EQ(env.run_environment(), (Strings{"F=test.txt", "TESTENVVAR=use at runtime",
                                            "TESTVAR=use at runtime", "U=ntpd"}));
}

TEST(DockerfileEnvironment, ExecFormRunIsNotSubstituted) {
  Environment env;
  auto out = run_through("FROM scratch\nENV A=1\nRUN [\"echo\", \"$A\"]\n", env);
  EXPECT_EQ(out[2].args, (Strings{"echo", "$A"}));
}

TEST(DockerfileEnvironment, EnvQuotingAndOneInstructionSeesTheOldValues) {
  Environment env;
  auto out = run_through(
      "FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"
      "ENV TEST=\"\\$5\\$2Fun7BK4thgtd4ao\\$j1kidg9P\" S='$abc'\n",
      env);
  (void)out;
  EXPECT_EQ(env.image_environment(), (Strings{"S=$abc", "TEST=$5$2Fun7BK4thgtd4ao$j1kidg9P",
                                              "abc=bye", "def=hello", "ghi=bye"}));
}

TEST(DockerfileEnvironment, OldFormEnvValue) {
  Environment env;
  run_through("FROM scratch\nENV abc=x\nENV OLD form \"with\"  $abc\n", env);
  EXPECT_EQ(env.image_environment(), (Strings{"OLD=form with  x", "abc=x"}));
}

TEST(DockerfileEnvironment, MetaArgsOnlyInFromUnlessRedeclared) {
  Environment env(BuildArgs{{"TAG", "2.0"}});
  auto out = run_through(
      "ARG TAG=1.0\nARG OTHER=o\nFROM base:${TAG}-$OTHER AS build\nWORKDIR /w$TAG$OTHER\n"
      "ARG TAG\nWORKDIR /w$TAG$OTHER\nFROM base:$TAG\nWORKDIR /$TAG\nARG OTHER\n"
      "LABEL v=$OTHER\n",
      env);
  EXPECT_EQ(out[2].args, Strings{"base:2.0-o"});
  EXPECT_EQ(out[2].stage_name, "build");
  EXPECT_EQ(out[3].args, Strings{"/w"});  // meta ARGs are not visible in the stage
  EXPECT_EQ(out[5].args, Strings{"/w2.0"});
  EXPECT_EQ(out[6].args, Strings{"base:2.0"});
  EXPECT_EQ(out[7].args, Strings{"/"});  // a new stage forgets the redeclaration
  EXPECT_EQ(out[9].pairs, (std::vector<KeyValue>{{"v", "o"}}));
}

TEST(DockerfileEnvironment, FromStartsAStageWithoutTheOldEnvAndArgs) {
  Environment env;
  run_through("FROM a\nENV X=1\nARG Y=2\nFROM b\n", env);
  EXPECT_TRUE(env.run_environment().empty());
  ASSERT_TRUE(env.set_env("PATH", "/bin").has_value());  // the parent image's environment
  EXPECT_EQ(env.image_environment(), Strings{"PATH=/bin"});
}

TEST(DockerfileEnvironment, UnusedBuildArgsAreReported) {
  Environment env(BuildArgs{{"USED", "1"}, {"META", "2"}, {"NOPE", "3"}, {"ALSO_NOPE", "4"}});
  run_through("ARG META\nFROM scratch\nARG USED\nENV NOPE=x\n", env);
  EXPECT_EQ(env.unused_build_args(), (Strings{"ALSO_NOPE", "NOPE"}));
  // An undeclared build arg never reaches the environment.
  EXPECT_EQ(env.run_environment(), (Strings{"NOPE=x", "USED=1"}));
}

TEST(DockerfileEnvironment, LabelExposeFlagsAndArgDefaultsSubstitute) {
  Environment env;
  auto out = run_through(
      "FROM scratch\nARG P=8080\nARG STAGE=build\nARG D=${P}0\nLABEL \"key $P\"=\"v $D\"\n"
      "EXPOSE $P ${P}/udp\nCOPY --from=$STAGE --chown=${U:-1}:1 /a /b\n",
      env);
  EXPECT_EQ(out[3].pairs[0].value, "80800");
  EXPECT_EQ(out[4].pairs, (std::vector<KeyValue>{{"key 8080", "v 80800"}}));
  EXPECT_EQ(out[5].args, (Strings{"8080", "8080/udp"}));
  EXPECT_EQ(out[6].flags, (std::vector<Flag>{{"from", "build"}, {"chown", "1:1"}}));
}

TEST(DockerfileEnvironment, SubstitutionFailureUsesKleenesMessage) {
  Environment env;
  ASSERT_TRUE(run_through("FROM scratch\n", env).size() == 1);
  auto in = parse_ok("FROM scratch\nWORKDIR ${X\n")[1];
  auto r = substitute(in, env);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "failed environment substition of: WORKDIR ${X (missing '}' in ${X)");
  in = parse_ok("FROM scratch\nLABEL \"$NONE\"=x\n")[1];
  r = substitute(in, env);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "failed environment substition of: LABEL \"$NONE\"=x (LABEL names can not be blank)");
  in = parse_ok("FROM scratch\nENV A=\"open\n")[1];
  r = substitute(in, env);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "failed environment substition of: ENV A=\"open (unexpected end of text while "
            "looking for the matching double-quote)");
}

TEST(DockerfileEnvironmentHostile, DoublingEnvChainsHitTheLimits) {
  Environment env;
  std::string text = "FROM scratch\nENV A=xxxxxxxxxxxxxxxx\n";
  for (int i = 0; i < 40; ++i)
    text += "ENV A=$A$A\n";
  std::string error;
  for (const Instruction& in : parse_ok(text)) {
    auto r = substitute(in, env);
    if (!r) {
      error = r.error().message;
      break;
    }
  }
  EXPECT_NE(error.find("longer than 1048576 bytes"), std::string::npos) << error;
}

TEST(DockerfileEnvironmentHostile, PerInstructionAndTotalBudgets) {
  Environment env;
  ASSERT_TRUE(env.set_env("BIG", std::string(600 * 1024, 'x')).has_value());
  env.start_stage();
  ASSERT_TRUE(env.set_env("BIG", std::string(600 * 1024, 'x')).has_value());
  auto in = parse_ok("FROM scratch\nCOPY $BIG $BIG\n")[1];
  auto r = substitute(in, env);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("the substituted instruction is longer than 1048576 bytes"),
            std::string::npos);

  // Many instructions each under the per-line bound still end at the build's total bound.
  auto workdir = parse_ok("FROM scratch\nWORKDIR $BIG\n")[1];
  std::string error;
  for (int i = 0; i < 200 && error.empty(); ++i)
    if (auto w = substitute(workdir, env); !w) error = w.error().message;
  EXPECT_NE(error.find("produces more than 67108864 bytes"), std::string::npos) << error;
}

TEST(DockerfileEnvironmentHostile, EnvironmentSizeAndNulValues) {
  Environment env;
  env.start_stage();
  const std::string mib(1 << 20, 'v');
  Result<void> last;
  for (int i = 0; i < 20 && last; ++i)
    last = env.set_env("V" + std::to_string(i), mib);
  ASSERT_FALSE(last.has_value());
  EXPECT_EQ(last.error().message, "ARG and ENV values take more than 16777216 bytes");
  // Replacing a value does not count twice.
  Environment again;
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(again.set_env("SAME", mib).has_value());

  EXPECT_FALSE(again.set_env("N", std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(again.set_env("A=B", "x").has_value());
  Environment nul(BuildArgs{{"X", std::string("a\0b", 3)}});
  EXPECT_FALSE(nul.declare_arg("X", std::nullopt).has_value());
}

}  // namespace
}  // namespace kleene::builder
