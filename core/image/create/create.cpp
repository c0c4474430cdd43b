#include "image/create/create.hpp"

#include <fcntl.h>

#include <cstdlib>

#include "image/create/dataset_guard.hpp"
#include "image/create/extract.hpp"
#include "image/create/host_files.hpp"
#include "image/create/source.hpp"
#include "image/create/stream_process.hpp"
#include "storage/storage.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/unique_fd.hpp"

namespace kleene::image {
namespace {

Error cancelled_error() {
  return Error{ECANCELED, "client disconnected"};
}

Result<void> check_cancel(Reporter& reporter) {
  if (reporter.cancelled()) return std::unexpected(cancelled_error());
  return {};
}

// Prefix a failure with Kleene's message for the step, keeping a cancellation as it is.
template <typename T>
Result<T> step(Result<T> result, std::string_view what) {
  if (!result && result.error().code != ECANCELED) {
    return std::unexpected(result.error().wrap(what));
  }
  return result;
}

Result<UniqueFd> open_root(storage::Storage& storage, const std::string& dataset) {
  const auto mountpoint = TRY(storage.mountpoint(dataset));
  UniqueFd fd(::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno_error("open " + mountpoint.string());
  return fd;
}

Result<void> create_dataset(storage::Storage& storage, DatasetGuard& guard,
                            const std::string& dataset) {
  if (auto made = storage.create_dataset(dataset); !made) {
    return make_error(made.error().code,
                      "error creating dataset " + dataset + ": " + made.error().message);
  }
  guard.add(dataset);
  return {};
}

Result<void> copy_host_files(const CreateConfig& config, CreateEnv& env, Reporter& reporter,
                             int root) {
  if (config.dns) {
    auto copied = copy_host_file(env.host.resolv_conf, root, "etc/resolv.conf");
    if (!copied) {
      return std::unexpected(
          copied.error().wrap("could not copy host '" + env.host.resolv_conf.string() + "'"));
    }
    if (!*copied)
      reporter.info(env.host.resolv_conf.string() + " not found on host, skipping...\n");
  }
  if (config.localtime) {
    auto copied = copy_host_file(env.host.localtime, root, "etc/localtime");
    if (!copied) {
      return std::unexpected(
          copied.error().wrap("could not copy host '" + env.host.localtime.string() + "'"));
    }
    if (!*copied) reporter.info(env.host.localtime.string() + " not found on host, skipping...\n");
  }
  return {};
}

// The steps every method ends with: host files, the @image snapshot, the row.
Result<Image> finish(const CreateConfig& config, CreateEnv& env, Reporter& reporter,
                     const std::string& id, const std::string& dataset, const std::string& tag) {
  TRY(check_cancel(reporter));
  auto root = TRY(open_root(env.storage, dataset));
  TRY(copy_host_files(config, env, reporter, root.get()));
  const std::string snapshot = dataset + std::string(kImageSnapshot);
  if (auto snap = env.storage.snapshot(snapshot); !snap) {
    return make_error(snap.error().code,
                      "could not create snapshot " + snapshot + ": " + snap.error().message);
  }
  TRY(check_cancel(reporter));
  Image image;
  image.id = id;
  if (!tag.empty()) std::tie(image.name, image.tag) = TRY(parse_nametag(tag));
  image.cmd = {"/bin/sh"};
  image.env = {};
  image.user = "root";
  image.dataset = dataset;
  image.created = iso8601_now();
  TRY(step(env.images.insert(image), "could not save the image"));
  return image;
}

Result<Image> create_by_fetch(const CreateConfig& config, CreateEnv& env, Reporter& reporter,
                              const std::string& tag) {
  const std::string id = generate_id();
  const std::string dataset = env.storage.layout().image(id);
  reporter.info("Fetching " + config.url + "\n");
  FetchOptions options;
  options.cancelled = [&reporter] { return reporter.cancelled(); };
  auto source = TRY(step(open_url(config.url, options), "could not fetch file from url"));
  reporter.info("Unpacking contents and creating image...\n");

  DatasetGuard guard(env.storage);
  TRY(create_dataset(env.storage, guard, dataset));
  auto root = TRY(open_root(env.storage, dataset));
  ExtractCallbacks callbacks;
  callbacks.progress = [&reporter](const Progress& p) {
    reporter.info(format_progress(p));
    return !reporter.cancelled();
  };
  callbacks.warning = [&reporter](const std::string& w) { reporter.info("warning: " + w + "\n"); };
  TRY(step(extract_archive(*source, root.get(), env.limits, callbacks),
           "could not extract tar archive"));
  reporter.info("Succesfully extracted binaries, creating image...\n");
  auto image = TRY(finish(config, env, reporter, id, dataset, tag));
  guard.commit();
  return image;
}

Result<Image> create_by_debootstrap(const CreateConfig& config, CreateEnv& env,
                                    Reporter& reporter) {
  const auto release = TRY(detect_host_release(env.host.release, config.force));
  const std::string tag = config.autotag ? release.autotag() : config.tag;
  const std::string id = generate_id();
  const std::string dataset = env.storage.layout().image(id);
  reporter.info("Building " + release.distro + " " + release.version + " (" + release.codename +
                ") from " + release.mirror + " with debootstrap, this can take a while...\n");

  DatasetGuard guard(env.storage);
  TRY(create_dataset(env.storage, guard, dataset));
  const auto mountpoint = TRY(env.storage.mountpoint(dataset));
  guard.unmount_below(mountpoint);
  StreamSpec spec;
  spec.argv = {env.host.debootstrap.string(), "--variant=minbase", release.codename,
               mountpoint.string(), release.mirror};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root"};
  for (const char* name : {"http_proxy", "https_proxy", "no_proxy"}) {
    if (const char* value = std::getenv(name)) spec.env.push_back(std::string(name) + "=" + value);
  }
  spec.on_output = [&reporter](std::string_view out) { reporter.info(out); };
  spec.cancelled = [&reporter] { return reporter.cancelled(); };
  const int code = TRY(step(run_streaming(spec), "could not run debootstrap"));
  unmount_below(mountpoint);
  if (code != 0)
    return make_error(EIO, "debootstrap failed with exit code " + std::to_string(code));

  auto image = TRY(finish(config, env, reporter, id, dataset, tag));
  reporter.info("Created image from the automatically detected version: " + release.distro + "-" +
                release.version + " " + release.arch + ".\n");
  guard.commit();
  return image;
}

Result<Image> create_from_dataset(const CreateConfig& config, CreateEnv& env, Reporter& reporter) {
  const std::string& source = config.zfs_dataset;
  auto exists = env.storage.exists(source);
  if (source.find('@') != std::string::npos || !exists || !*exists) {
    return make_error(ENOENT, "invalid dataset");
  }
  const std::string id = generate_id();
  const std::string dataset = env.storage.layout().image(id);
  const std::string source_snapshot = source + "@" + id;
  DatasetGuard guard(env.storage);
  if (auto snap = env.storage.snapshot(source_snapshot); !snap) {
    return make_error(snap.error().code,
                      "could not create snapshot " + source_snapshot + ": " + snap.error().message);
  }
  guard.add(source_snapshot);
  if (config.method == "zfs-copy") {
    reporter.info("copying dataset into the new image, this can take a while...\n");
    if (auto copied = env.storage.copy(source_snapshot, dataset); !copied) {
      return std::unexpected(copied.error().wrap("error copying image dataset"));
    }
  } else {
    reporter.info("cloning dataset...\n");
    if (auto cloned = env.storage.clone(source_snapshot, dataset); !cloned) {
      return std::unexpected(cloned.error().wrap("error cloning image dataset"));
    }
  }
  guard.add(dataset);
  auto image = TRY(finish(config, env, reporter, id, dataset, config.tag));
  // The copy no longer needs the source's snapshot; the clone depends on it (as in Kleene).
  guard.commit();
  if (config.method == "zfs-copy") (void)env.storage.destroy(source_snapshot);
  return image;
}

}  // namespace

Result<Image> create_image(const CreateConfig& config, CreateEnv& env, Reporter& reporter) {
  if (config.method == "fetch") return create_by_fetch(config, env, reporter, config.tag);
  if (config.method == "fetch-auto") return create_by_debootstrap(config, env, reporter);
  if (config.method == "zfs-copy" || config.method == "zfs-clone") {
    return create_from_dataset(config, env, reporter);
  }
  return make_error(EINVAL, "unknown method '" + config.method + "'");
}

}  // namespace kleene::image
