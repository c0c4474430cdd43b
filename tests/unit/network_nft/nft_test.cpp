// The firewall loaded through libnftables. Every test that loads rules does it in a network
// namespace of its own (a thread that unshares CLONE_NEWNET, or a forked child), so the host's
// ruleset is only ever read; a test checks that it is the same before and after.
#include "network/nft.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "util/unique_fd.hpp"

namespace fw = kleene::network::firewall;
using kleene::network::Nftables;

namespace {

ino_t netns_inode(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 ? st.st_ino : 0;
}

// `nft list tables` through libnftables in the calling thread's namespace (read-only).
std::string list_tables() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  std::string text;
  if (nft_run_cmd_from_buffer(ctx, "list tables") == 0) {
    text = nft_ctx_get_output_buffer(ctx);
  } else {
    text = std::string("ERROR ") + nft_ctx_get_error_buffer(ctx);
  }
  nft_ctx_free(ctx);
  return text;
}

// Runs `body` in a new thread inside a fresh network namespace (it goes away with the thread),
// with an Nftables created there. Refuses to run the body if the namespace did not change.
void in_private_netns(const std::function<void(Nftables&)>& body) {
  std::thread thread([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    ASSERT_NE(netns_inode("/proc/thread-self/ns/net"), netns_inode("/proc/self/ns/net"))
        << "not in a private network namespace: refusing to load rules";
    auto nft = Nftables::create();
    ASSERT_TRUE(nft) << nft.error().message;
    body(*nft);
  });
  thread.join();
}

fw::Snapshot one_bridge(const std::string& name = "testnet") {
  fw::Snapshot snapshot;
  fw::Network network;
  network.id = "id-" + name;
  network.name = name;
  network.interface = "kleene0";
  network.subnet = "10.13.37.0/24";
  network.gateway = "10.13.37.1";
  network.nat = true;
  network.nat_if = "eth0";
  network.icc = false;
  snapshot.networks.push_back(network);
  snapshot.endpoints.push_back({"c1", network.id, "kl-c1-0", "10.13.37.2", ""});
  snapshot.endpoints.push_back({"c2", network.id, "kl-c2-0", "10.13.37.3", ""});
  fw::PublishedPort port;
  port.container_id = "c1";
  port.host_port = "8080";
  port.container_port = "80";
  port.ip_address = "10.13.37.2";
  snapshot.ports.push_back(port);
  return snapshot;
}

// The same network without icc=false and without the published port.
fw::Snapshot smaller_bridge() {
  auto snapshot = one_bridge();
  snapshot.networks[0].icc = true;
  snapshot.ports.clear();
  return snapshot;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

const char* const kOtherTable =
    "table inet other {\n"
    "  chain input { type filter hook input priority 0; policy accept; tcp dport 22 accept; }\n"
    "}\n";

// A script the parser accepts but the kernel refuses (nat chains cannot hook forward), after
// a valid replacement of our tables: the kernel must roll all of it back.
std::string kernel_rejected(const fw::Snapshot& snapshot) {
  return fw::render(snapshot).value() +
         "add chain inet kleene bad { type nat hook forward priority 0; }\n";
}

TEST(Nftables, AppliedSnapshotCreatesExactlyOurTables) {
  in_private_netns([](Nftables& nft) {
    EXPECT_EQ(list_tables(), "");
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    // (icc false between bridge ports is the vnet driver's port isolation: no bridge table)
    EXPECT_EQ(list_tables(), "table inet kleene\n");
    const auto listing = nft.list_ours();
    ASSERT_TRUE(listing) << listing.error().message;
    EXPECT_EQ(count(*listing, "table inet kleene {"), 1U);
    EXPECT_EQ(count(*listing, "table bridge kleene {"), 0U);
    EXPECT_NE(listing->find("masquerade"), std::string::npos) << *listing;
    EXPECT_NE(listing->find("dnat"), std::string::npos) << *listing;
    EXPECT_NE(listing->find("10.13.37.2"), std::string::npos) << *listing;
  });
}

TEST(Nftables, ReapplyingReplacesWithoutDuplicates) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    const auto first = nft.list_ours();
    ASSERT_TRUE(first);
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    EXPECT_EQ(nft.list_ours().value(), *first);
    ASSERT_TRUE(nft.apply_snapshot(smaller_bridge()));
    const auto smaller = nft.list_ours().value();
    EXPECT_EQ(smaller.find("dnat"), std::string::npos) << smaller;
    EXPECT_EQ(count(smaller, "masquerade"), 1U) << smaller;
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    EXPECT_EQ(nft.list_ours().value(), *first);
  });
}

TEST(Nftables, EmptySnapshotLeavesNoTable) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    ASSERT_TRUE(nft.apply_snapshot(fw::Snapshot{}));
    EXPECT_EQ(list_tables(), "");
    EXPECT_EQ(nft.list_ours().value(), "");
  });
}

TEST(Nftables, BadScriptLeavesThePreviousRuleset) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    const auto before = nft.list_ours().value();

    auto syntax = nft.apply(fw::render(smaller_bridge()).value() + "this is not nft\n");
    ASSERT_FALSE(syntax);
    EXPECT_EQ(syntax.error().code, EINVAL);
    EXPECT_NE(syntax.error().message.find("syntax error"), std::string::npos)
        << syntax.error().message;
    EXPECT_EQ(nft.list_ours().value(), before);

    auto kernel = nft.apply(kernel_rejected(smaller_bridge()));
    ASSERT_FALSE(kernel);
    EXPECT_EQ(kernel.error().code, EOPNOTSUPP) << kernel.error().message;
    EXPECT_NE(kernel.error().message.find("Could not process rule"), std::string::npos);
    EXPECT_EQ(nft.list_ours().value(), before) << kernel.error().message;

    EXPECT_FALSE(nft.apply(std::string("table inet kleene\0delete", 24)));
    EXPECT_EQ(nft.list_ours().value(), before);
  });
}

TEST(Nftables, HostileSnapshotIsRefusedBeforeTheKernel) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    const auto before = nft.list_ours().value();
    auto hostile = one_bridge();
    hostile.networks[0].interface = "x\"; flush ruleset";
    auto result = nft.apply_snapshot(hostile);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, EINVAL);
    EXPECT_EQ(nft.list_ours().value(), before);
  });
}

TEST(Nftables, RemoveOursLeavesOtherTables) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply(kOtherTable));
    const std::string other = list_tables();
    ASSERT_EQ(other, "table inet other\n");
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    EXPECT_EQ(list_tables(), "table inet other\ntable inet kleene\n");

    ASSERT_TRUE(nft.remove_ours());
    EXPECT_EQ(list_tables(), other);
    EXPECT_EQ(nft.list_ours().value(), "");
    auto again = nft.remove_ours();
    EXPECT_TRUE(again) << again.error().message;
    EXPECT_EQ(list_tables(), other);

    // Applying a snapshot never touches the other table either.
    ASSERT_TRUE(nft.apply_snapshot(smaller_bridge()));
    ASSERT_TRUE(nft.apply_snapshot(fw::Snapshot{}));
    EXPECT_EQ(list_tables(), other);
  });
}

TEST(Nftables, CheckNeverChangesAnything) {
  in_private_netns([](Nftables& nft) {
    EXPECT_TRUE(nft.check(fw::render(one_bridge()).value()));
    EXPECT_EQ(list_tables(), "");

    ASSERT_TRUE(nft.apply_snapshot(smaller_bridge()));
    const auto before = nft.list_ours().value();
    auto valid = nft.check(fw::render(one_bridge()).value());
    EXPECT_TRUE(valid) << valid.error().message;
    EXPECT_TRUE(nft.check(fw::render(fw::Snapshot{}).value()));
    EXPECT_EQ(nft.list_ours().value(), before);

    auto bad = nft.check("this is not nft");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos);
    auto refused = nft.check(kernel_rejected(one_bridge()));
    EXPECT_FALSE(refused);
    EXPECT_EQ(nft.list_ours().value(), before);

    // The context is back in normal mode after a check.
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    EXPECT_NE(nft.list_ours().value(), before);
  });
}

TEST(Nftables, ListOursIsEmptyWithoutOurTables) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply("table inet kleene2\ntable bridge kleeneX\n"));
    auto listing = nft.list_ours();
    ASSERT_TRUE(listing) << listing.error().message;
    EXPECT_EQ(*listing, "");
    ASSERT_TRUE(nft.remove_ours());
    EXPECT_EQ(list_tables(), "table inet kleene2\ntable bridge kleeneX\n");
  });
}

TEST(Nftables, ConcurrentAppliesAreSerialised) {
  in_private_netns([](Nftables& nft) {
    ASSERT_TRUE(nft.apply_snapshot(one_bridge()));
    const auto full = nft.list_ours().value();
    ASSERT_TRUE(nft.apply_snapshot(smaller_bridge()));
    const auto smaller = nft.list_ours().value();

    // Threads started here inherit this thread's namespace.
    std::vector<std::thread> workers;
    for (int worker = 0; worker < 4; ++worker) {
      workers.emplace_back([&nft, worker] {
        for (int round = 0; round < 10; ++round) {
          auto result = (worker + round) % 2 == 0 ? nft.apply_snapshot(one_bridge())
                                                  : nft.apply_snapshot(smaller_bridge());
          EXPECT_TRUE(result) << result.error().message;
          EXPECT_TRUE(nft.list_ours());
        }
      });
    }
    for (auto& worker : workers)
      worker.join();
    const auto last = nft.list_ours().value();
    EXPECT_TRUE(last == full || last == smaller) << last;
  });
}

TEST(Nftables, SocketIsCloseOnExec) {
  in_private_netns([](Nftables&) {
    // Every netfilter netlink socket of this process must be close-on-exec.
    for (int fd = 0; fd < 1024; ++fd) {
      int protocol = 0;
      socklen_t length = sizeof(protocol);
      if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0) continue;
      int domain = 0;
      length = sizeof(domain);
      ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length);
      if (domain != AF_NETLINK || protocol != NETLINK_NETFILTER) continue;
      EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "fd " << fd;
    }
  });
}

// A forked child unshares, loads our tables and exits: the host's ruleset (read in the parent)
// is the same before and after, and the child's namespace was not the host's.
TEST(Nftables, HostRulesetIsUnchanged) {
  const ino_t host_netns = netns_inode("/proc/self/ns/net");
  const std::string host_before = list_tables();
  ASSERT_EQ(host_before.rfind("ERROR", 0), std::string::npos) << host_before;

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  kleene::UniqueFd read_end(fds[0]);
  kleene::UniqueFd write_end(fds[1]);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char verdict = 'F';
    if (::unshare(CLONE_NEWNET) == 0 && netns_inode("/proc/self/ns/net") != host_netns) {
      auto nft = Nftables::create();
      if (nft && nft->apply_snapshot(one_bridge()) && list_tables() == "table inet kleene\n") {
        verdict = 'K';
      }
    }
    (void)!::write(write_end.get(), &verdict, 1);
    ::_exit(0);
  }
  write_end.reset();
  char verdict = 0;
  EXPECT_EQ(::read(read_end.get(), &verdict, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(verdict, 'K') << "the child could not load our tables in its namespace";

  EXPECT_EQ(list_tables(), host_before);
  // The host never had our tables from this test (they lived and died with the namespace).
  EXPECT_EQ(host_before.find("table inet kleene\n"), std::string::npos);
}

}  // namespace
