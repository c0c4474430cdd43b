// Dockerfile parsing: physical lines -> instructions -> checked arguments. The substitution is
// in dockerfile_expand.cpp.
#include "builder/dockerfile.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace kleene::builder {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_blank(s.front()))
    s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  return trim_right(trim_left(s));
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::unexpected<Error> fail(std::string message) {
  return make_error(EINVAL, std::move(message));
}

// "<what> on line N: <instruction>" — for errors Kleene has no wording of its own.
std::unexpected<Error> fail_at(std::string_view what, const Instruction& in) {
  return fail(std::string(what) + " on line " + std::to_string(in.line_number) + ": " + in.line);
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

// Offset of the first byte that is not valid UTF-8 (overlong forms, surrogates and code points
// past U+10FFFF included), or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

Result<void> check_text(std::string_view text) {
  if (text.size() > kMaxDockerfileSize)
    return fail("the Dockerfile is larger than " + std::to_string(kMaxDockerfileSize) + " bytes");
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return fail("the Dockerfile contains a NUL byte on line " + std::to_string(line_of(text, nul)));
  if (auto bad = invalid_utf8_at(text); bad != std::string_view::npos)
    return fail("the Dockerfile is not valid UTF-8 on line " + std::to_string(line_of(text, bad)));
  return {};
}

struct RawInstruction {
  std::string text;  // continuations joined, leading blanks kept (Kleene's error messages)
  std::size_t line_number = 0;
};

// Physical lines -> instructions: comments and blank lines dropped (also inside a continued
// instruction, as Docker does), a trailing backslash joins the next line.
std::vector<RawInstruction> join_lines(std::string_view text) {
  std::vector<RawInstruction> out;
  RawInstruction current;
  bool continuing = false;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view content = trim_left(line);
    if (content.empty() || content.front() == '#') continue;
    if (!continuing) current = RawInstruction{{}, number};
    const std::string_view right = trim_right(line);
    continuing = right.back() == '\\';
    if (continuing) {
      current.text.append(right.substr(0, right.size() - 1));
    } else {
      current.text.append(line);
      out.push_back(std::move(current));
    }
  }
  if (continuing && !trim(current.text).empty()) out.push_back(std::move(current));
  return out;
}

// Words separated by blanks; quotes and backslash escapes keep blanks inside a word and stay in
// it (they are removed when the word is expanded).
std::vector<std::string_view> split_words(std::string_view s, bool quote_aware) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i]))
      ++i;
    if (i == s.size()) break;
    const std::size_t start = i;
    char quote = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (quote != 0) {
        if (c == '\\' && quote == '"' && i + 1 < s.size()) {
          i += 2;
          continue;
        }
        if (c == quote) quote = 0;
        ++i;
        continue;
      }
      if (is_blank(c)) break;
      if (quote_aware && c == '\\' && i + 1 < s.size()) {
        i += 2;
        continue;
      }
      if (quote_aware && (c == '\'' || c == '"')) quote = c;
      ++i;
    }
    words.push_back(s.substr(start, i - start));
    if (words.size() > kMaxArguments) break;  // parse_instruction reports it
  }
  return words;
}

// Accepts exactly one flat JSON array of strings, without building a DOM (a hostile "[[[[..."
// fails at the second '[').
class StringArraySax : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> values;
  bool has_nul = false;

  bool null() override { return false; }
  bool boolean(bool) override { return false; }
  bool number_integer(number_integer_t) override { return false; }
  bool number_unsigned(number_unsigned_t) override { return false; }
  bool number_float(number_float_t, const string_t&) override { return false; }
  bool string(string_t& value) override {
    if (depth_ != 1 || values.size() > kMaxArguments) return false;
    if (value.find('\0') != std::string::npos) has_nul = true;
    values.push_back(std::move(value));
    return true;
  }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return false; }
  bool key(string_t&) override { return false; }
  bool end_object() override { return false; }
  bool start_array(std::size_t) override { return depth_++ == 0; }
  bool end_array() override { return --depth_ == 0; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  int depth_ = 0;
};

// Docker's rule: text that starts like a JSON array of strings ('[' then '"' or ']') is the
// exec form and must be valid; anything else (`[ -f x ] && ...`) is the shell form.
bool looks_like_json(std::string_view s) {
  if (s.empty() || s.front() != '[') return false;
  const std::string_view after = trim_left(s.substr(1));
  return !after.empty() && (after.front() == '"' || after.front() == ']');
}

Result<std::vector<std::string>> parse_json_array(std::string_view s, const Instruction& in) {
  StringArraySax sax;
  const bool ok = nlohmann::json::sax_parse(s, &sax);
  if (sax.values.size() > kMaxArguments) return std::move(sax.values);  // reported by the caller
  if (!ok)
    return fail_at(in.keyword + " has an invalid JSON array (expected [\"a\", \"b\", ...])", in);
  if (sax.has_nul) return fail_at(in.keyword + " has a NUL character in its JSON array", in);
  return std::move(sax.values);
}

bool valid_variable_name(std::string_view name) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || !alpha(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

bool valid_stage_name(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// Leading --name=value flags of COPY, ADD and FROM; returns the text after them.
Result<std::string_view> parse_flags(std::string_view rest, Instruction& in,
                                     std::initializer_list<std::string_view> allowed) {
  while (rest.starts_with("--")) {
    std::size_t end = 0;
    while (end < rest.size() && !is_blank(rest[end]))
      ++end;
    const std::string_view word = rest.substr(2, end - 2);
    const std::size_t eq = word.find('=');
    const std::string_view name = word.substr(0, eq);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return fail_at("unknown flag --" + std::string(name) + " for " + in.keyword, in);
    if (eq == std::string_view::npos || eq + 1 == word.size())
      return fail_at(
          "flag --" + std::string(name) + " needs a value (--" + std::string(name) + "=<value>)",
          in);
    if (in.flag(name) != nullptr)
      return fail_at("flag --" + std::string(name) + " given twice", in);
    in.flags.push_back(Flag{std::string(name), std::string(word.substr(eq + 1))});
    rest = trim_left(rest.substr(end));
  }
  return rest;
}

Result<void> parse_from(std::string_view rest, Instruction& in) {
  rest = TRY(parse_flags(rest, in, {"platform"}));
  const auto words = split_words(rest, false);
  if (words.size() == 3 && upper(words[1]) == "AS") {
    in.stage_name = lower(words[2]);
    if (!valid_stage_name(in.stage_name))
      return fail_at("invalid stage name '" + std::string(words[2]) +
                         "' (a letter, then letters, digits, '-', '_' or '.')",
                     in);
  } else if (words.size() != 1) {
    return fail_at("FROM requires either one or three arguments (FROM <image> [AS <name>])", in);
  }
  in.args.emplace_back(words[0]);
  return {};
}

// ENV, LABEL: `KEY VALUE...` (one pair) or `K=V K2="v 2"`; ARG: `NAME` or `NAME=default`, any
// number of them.
Result<void> parse_pairs(std::string_view rest, Instruction& in) {
  const bool is_arg = in.keyword == "ARG";
  const bool is_label = in.keyword == "LABEL";
  const auto words = split_words(rest, true);
  const bool old_form = !is_arg && words[0].find('=') == std::string_view::npos;
  if (old_form) {
    const std::string_view value = trim_left(
        rest.substr(static_cast<std::size_t>(words[0].data() - rest.data()) + words[0].size()));
    if (value.empty())
      return fail_at(in.keyword + " requires a value (" + in.keyword + " <name>=<value>)", in);
    in.pairs.push_back(KeyValue{std::string(words[0]), std::string(value)});
  } else {
    for (const std::string_view word : words) {
      const std::size_t eq = word.find('=');
      if (eq == std::string_view::npos && !is_arg)
        return fail_at("syntax error: can't find = in \"" + std::string(word) +
                           "\"; must be of the form name=value",
                       in);
      KeyValue pair{std::string(word.substr(0, eq)), std::nullopt};
      if (eq != std::string_view::npos) pair.value = std::string(word.substr(eq + 1));
      in.pairs.push_back(std::move(pair));
    }
  }
  for (const KeyValue& pair : in.pairs) {
    if (pair.key.empty()) return fail_at(in.keyword + " names can not be blank", in);
    if (!is_label && !valid_variable_name(pair.key))
      return fail("ENV/ARG variable name is invalid on line: " + in.line);  // Kleene's words
  }
  return {};
}

Result<void> parse_arguments(std::string_view rest, Instruction& in) {
  const std::string& k = in.keyword;
  if (k == "FROM") return parse_from(rest, in);
  if (k == "ENV" || k == "ARG" || k == "LABEL") return parse_pairs(rest, in);
  if (k == "COPY" || k == "ADD") {
    rest = k == "COPY" ? TRY(parse_flags(rest, in, {"from", "chown", "chmod"}))
                       : TRY(parse_flags(rest, in, {"chown", "chmod"}));
    if (looks_like_json(rest)) {
      in.form = Form::kExec;
      in.args = TRY(parse_json_array(rest, in));
    } else {
      for (const std::string_view word : split_words(rest, false))
        in.args.emplace_back(word);
    }
    if (in.args.size() < 2)
      return fail_at(k + " requires at least two arguments: <src>... <dest>", in);
    return {};
  }
  if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT") {
    if (!looks_like_json(rest)) {
      in.args.emplace_back(rest);
      return {};
    }
    in.form = Form::kExec;
    in.args = TRY(parse_json_array(rest, in));
    if (in.args.empty() && k == "RUN") return fail_at("RUN requires at least one argument", in);
    return {};
  }
  if (k == "EXPOSE") {
    for (const std::string_view word : split_words(rest, false))
      in.args.emplace_back(word);
    return {};
  }
  in.args.emplace_back(rest);  // USER, WORKDIR: the whole text is one value
  return {};
}

constexpr std::array<std::string_view, 12> kKeywords = {"FROM",    "RUN",  "CMD",   "ENTRYPOINT",
                                                        "ENV",     "ARG",  "COPY",  "ADD",
                                                        "WORKDIR", "USER", "LABEL", "EXPOSE"};

Result<Instruction> parse_instruction(const RawInstruction& raw) {
  const std::string_view body = trim_left(raw.text);
  std::size_t end = 0;
  while (end < body.size() && !is_blank(body[end]))
    ++end;
  Instruction in;
  in.keyword = upper(body.substr(0, end));
  in.line = std::string(body);
  in.line_number = raw.line_number;
  if (std::find(kKeywords.begin(), kKeywords.end(), in.keyword) == kKeywords.end())
    return fail("invalid instruction: " + raw.text);  // Kleene's words
  const std::string_view rest = trim(body.substr(end));
  if (rest.empty()) return fail_at(in.keyword + " requires at least one argument", in);
  TRY(parse_arguments(rest, in));
  if (in.args.size() > kMaxArguments || in.pairs.size() > kMaxArguments)
    return fail_at(in.keyword + " has more than " + std::to_string(kMaxArguments) + " arguments",
                   in);
  return in;
}

// Only ARGs may come before the first FROM; stage names are unique.
Result<void> check_order(const std::vector<Instruction>& instructions) {
  if (instructions.empty()) return fail("the Dockerfile has no instructions");
  const auto first = std::find_if(instructions.begin(), instructions.end(),
                                  [](const Instruction& in) { return in.keyword != "ARG"; });
  if (first == instructions.end()) return fail("the Dockerfile has no FROM instruction");
  if (first->keyword != "FROM")
    return fail_at("the first instruction must be FROM (only ARG may come before it)", *first);
  std::set<std::string_view> stages;
  for (const Instruction& in : instructions)
    if (!in.stage_name.empty() && !stages.insert(in.stage_name).second)
      return fail_at("duplicate stage name '" + in.stage_name + "'", in);
  return {};
}

}  // namespace

const std::string* Instruction::flag(std::string_view name) const {
  for (const Flag& f : flags)
    if (f.name == name) return &f.value;
  return nullptr;
}

Result<std::vector<Instruction>> parse_dockerfile(std::string_view text) {
  TRY(check_text(text));
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::vector<RawInstruction> raws = join_lines(text);
  if (raws.size() > kMaxInstructions)
    return fail("the Dockerfile has more than " + std::to_string(kMaxInstructions) +
                " instructions");
  std::vector<Instruction> instructions;
  instructions.reserve(raws.size());
  for (const RawInstruction& raw : raws)
    instructions.push_back(TRY(parse_instruction(raw)));
  TRY(check_order(instructions));
  return instructions;
}

std::vector<std::string> command_of(const Instruction& instruction) {
  if (instruction.form == Form::kExec) return instruction.args;
  return {"/bin/sh", "-c", instruction.args.empty() ? std::string() : instruction.args.front()};
}

}  // namespace kleene::builder
