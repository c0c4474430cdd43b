// kleene's firewall loaded into the kernel through libnftables (never by spawning `nft`).
//
// An Nftables owns one libnftables context whose netfilter netlink socket is opened in the
// network namespace of the thread that calls create(): every later call, from any thread, acts
// on that namespace. Output and errors are buffered into strings; a failed command's Error
// carries nft's own message. All calls are serialised by one process-wide mutex, because
// libnftables keeps some state in globals (the interface cache), not only in its context.
//
// Only the tables `inet kleene` and `bridge kleene` are ever named by remove_ours() and
// list_ours(); apply() loads whatever script it is given, so it is only ever given the
// renderer's output (firewall.hpp), never user text.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "network/firewall.hpp"
#include "util/error.hpp"

struct nft_ctx;

namespace kleene::network {

class Nftables {
 public:
  // A context for the calling thread's network namespace. The netlink socket is marked
  // close-on-exec (libnftables does not do it).
  [[nodiscard]] static Result<Nftables> create();

  Nftables(Nftables&&) noexcept = default;
  Nftables& operator=(Nftables&&) noexcept = default;
  ~Nftables();

  // Parses `script` and lets the kernel validate it without committing anything (nft -c).
  [[nodiscard]] Result<void> check(std::string_view script);
  // Loads `script` as one transaction: all of it or, on an error, none of it.
  [[nodiscard]] Result<void> apply(std::string_view script);
  // render(snapshot) + apply(): replaces our tables atomically.
  [[nodiscard]] Result<void> apply_snapshot(const firewall::Snapshot& snapshot);
  // Deletes our tables in one transaction; no error when they do not exist.
  [[nodiscard]] Result<void> remove_ours();
  // The text of our tables as nft lists them ("" when there are none), for tests and debugging.
  [[nodiscard]] Result<std::string> list_ours();

  // Whether table inet kleene or bridge kleene exists in the calling thread's network
  // namespace, asked over a netfilter netlink socket of its own without libnftables (which
  // create() loads): kleened starting with no networks and no leftovers never needs the library.
  [[nodiscard]] static Result<bool> ours_exist();

 private:
  struct Deleter {
    void operator()(nft_ctx* ctx) const noexcept;
  };
  explicit Nftables(nft_ctx* ctx) : ctx_(ctx) {}

  // Runs `script` (mutex held by the caller); the buffered output on success.
  Result<std::string> run_locked(std::string_view script);

  std::unique_ptr<nft_ctx, Deleter> ctx_;
};

}  // namespace kleene::network
