// The jail-parameter table and parser.
#include <gtest/gtest.h>

#include "runtime/jail_params.hpp"

namespace kleene::runtime {
namespace {

TEST(JailParams, DefaultsAreAJail) {
  const auto p = parse_jail_params({});
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->devfs);
  EXPECT_TRUE(p->clean_env);
  EXPECT_FALSE(p->raw_sockets);
  EXPECT_FALSE(p->sysvipc);
  EXPECT_FALSE(p->mlock);
  EXPECT_FALSE(p->chflags);
  EXPECT_FALSE(p->persist);
  EXPECT_TRUE(p->jail_user.empty());
  EXPECT_TRUE(p->hostname.empty());
}

TEST(JailParams, BooleansAndTheirNegations) {
  const auto p =
      parse_jail_params({"mount.nodevfs", "exec.noclean", "allow.raw_sockets", "allow.sysvipc=1",
                         "allow.mlock=true", "allow.chflags=yes", "persist"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_FALSE(p->devfs);
  EXPECT_FALSE(p->clean_env);
  EXPECT_TRUE(p->raw_sockets);
  EXPECT_TRUE(p->sysvipc);
  EXPECT_TRUE(p->mlock);
  EXPECT_TRUE(p->chflags);
  EXPECT_TRUE(p->persist);

  const auto q = parse_jail_params({"allow.raw_sockets", "allow.noraw_sockets", "mount.devfs=0",
                                    "persist=false", "allow.mlock=1", "allow.mlock=0",
                                    "mount.nodevfs=false", "exec.clean=FALSE"});
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_FALSE(q->raw_sockets);
  EXPECT_TRUE(q->devfs);  // the later mount.nodevfs=false wins
  EXPECT_FALSE(q->persist);
  EXPECT_FALSE(q->mlock);
  EXPECT_FALSE(q->clean_env);
}

TEST(JailParams, ValuesAndLists) {
  const auto p =
      parse_jail_params({"exec.jail_user=nobody", "host.hostname=web", "exec.start=echo a=b",
                         "exec.start=touch /x", "exec.stop=echo bye", "exec.prestart=logger up",
                         "exec.poststop=logger down", "exec.jail_user=root"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->jail_user, "root");
  EXPECT_EQ(p->hostname, "web");
  EXPECT_EQ(p->exec_start, (std::vector<std::string>{"echo a=b", "touch /x"}));
  EXPECT_EQ(p->exec_stop, std::vector<std::string>{"echo bye"});
  EXPECT_EQ(p->exec_prestart, std::vector<std::string>{"logger up"});
  EXPECT_EQ(p->exec_poststop, std::vector<std::string>{"logger down"});
}

TEST(JailParams, UnsupportedListsTheSupportedOnes) {
  const auto p = parse_jail_params({"allow.raw_sockets", "vnet"});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, EINVAL);
  EXPECT_TRUE(p.error().message.starts_with("unsupported jail parameter 'vnet'; supported: "))
      << p.error().message;
  for (const auto& info : supported_jail_params())
    EXPECT_NE(p.error().message.find(std::string(info.name)), std::string::npos) << info.name;
  EXPECT_FALSE(parse_jail_params({"allow.nothing"}).has_value());
  EXPECT_FALSE(parse_jail_params({"exec.nojail_user"}).has_value());
  EXPECT_FALSE(parse_jail_params({""}).has_value());
}

TEST(JailParams, BadValues) {
  auto p = parse_jail_params({"allow.mlock=maybe"});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, EINVAL);
  EXPECT_NE(p.error().message.find("allow.mlock"), std::string::npos);
  EXPECT_FALSE(parse_jail_params({"exec.jail_user"}).has_value());
  EXPECT_FALSE(parse_jail_params({"exec.start"}).has_value());
  EXPECT_FALSE(parse_jail_params({"exec.start="}).has_value());
  EXPECT_FALSE(parse_jail_params({"host.hostname=" + std::string(65, 'a')}).has_value());
}

TEST(JailParams, TableAndLiveness) {
  const auto& table = supported_jail_params();
  auto find = [&](std::string_view name) -> const JailParamInfo* {
    for (const auto& info : table)
      if (info.name == name) return &info;
    return nullptr;
  };
  for (const char* name :
       {"mount.devfs", "mount.nodevfs", "exec.clean", "exec.noclean", "exec.jail_user",
        "host.hostname", "allow.raw_sockets", "allow.sysvipc", "allow.mlock", "allow.chflags",
        "persist", "exec.start", "exec.stop", "exec.prestart", "exec.poststop"}) {
    const auto* info = find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_FALSE(info->linux_meaning.empty()) << name;
  }
  for (const char* name :
       {"exec.jail_user", "exec.start", "exec.stop", "exec.prestart", "exec.poststop"})
    EXPECT_TRUE(find(name)->live) << name;
  for (const char* name : {"mount.devfs", "host.hostname", "allow.raw_sockets", "persist"})
    EXPECT_FALSE(find(name)->live) << name;
}

TEST(JailParams, RestartNeededOnlyForNonLiveChanges) {
  const auto a = *parse_jail_params({"exec.jail_user=a", "exec.start=x"});
  const auto b = *parse_jail_params({"exec.jail_user=b", "exec.stop=y", "exec.poststop=z"});
  EXPECT_TRUE(params_needing_restart(a, b).empty());
  const auto c =
      *parse_jail_params({"allow.raw_sockets", "mount.nodevfs", "host.hostname=h", "persist",
                          "allow.sysvipc", "allow.mlock", "allow.chflags", "exec.noclean"});
  EXPECT_EQ(
      params_needing_restart(a, c),
      (std::vector<std::string>{"mount.devfs", "exec.clean", "host.hostname", "allow.raw_sockets",
                                "allow.sysvipc", "allow.mlock", "allow.chflags", "persist"}));
}

}  // namespace
}  // namespace kleene::runtime
