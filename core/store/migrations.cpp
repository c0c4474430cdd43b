// The metadata schema as an ordered list of migrations (see store.hpp). Columns follow the
// object shapes of Kleene's API (kleened-openapi.json); lists and maps are JSON text, booleans
// are 0/1 integers, timestamps ISO-8601 UTC text (util/time.hpp).
//
// Foreign keys and ON DELETE, and why:
//   containers.image_id -> images      RESTRICT: an image is not removed under its containers.
//   endpoints.container_id/network_id  RESTRICT: an endpoint stands for kernel state (veth,
//                                       addresses, rules) that a network plugin must undo first;
//                                       a cascade would forget it and leak it.
//   mounts.container_id -> containers  CASCADE: a mount row is configuration only; nothing is
//                                       mounted while the container is stopped.
//   mounts.volume -> volumes           RESTRICT: a volume in use is not removed.
// A container's running state is not stored: it is derived from its keeper at run time.
#include "store/store.hpp"

#include <array>

namespace kleene::store {

namespace {

constexpr std::string_view kV1 = R"sql(
CREATE TABLE images (
  id              TEXT PRIMARY KEY NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  tag             TEXT NOT NULL DEFAULT '',
  cmd             TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
  env             TEXT NOT NULL DEFAULT '[]',   -- JSON array of "KEY=VALUE"
  user            TEXT NOT NULL DEFAULT '',
  instructions    TEXT NOT NULL DEFAULT '[]',   -- JSON [[instruction, snapshot], ...]
  buildargs       TEXT NOT NULL DEFAULT '{}',   -- JSON object
  dataset         TEXT NOT NULL DEFAULT '',
  parent_snapshot TEXT NOT NULL DEFAULT '',     -- dataset@snapshot it was built on; '' = base
  created         TEXT NOT NULL
);
-- A name:tag points at one image at most; re-tagging clears the old holder first.
CREATE UNIQUE INDEX images_name_tag ON images (name, tag) WHERE name <> '';

CREATE TABLE containers (
  id             TEXT PRIMARY KEY NOT NULL,
  name           TEXT NOT NULL UNIQUE,
  image_id       TEXT NOT NULL REFERENCES images (id) ON DELETE RESTRICT,
  cmd            TEXT NOT NULL DEFAULT '[]',
  user           TEXT NOT NULL DEFAULT '',
  env            TEXT NOT NULL DEFAULT '[]',
  jail_param     TEXT NOT NULL DEFAULT '[]',    -- JSON array of "param[=value]"
  persist        INTEGER NOT NULL DEFAULT 0 CHECK (persist IN (0, 1)),
  restart_policy TEXT NOT NULL DEFAULT 'no' CHECK (restart_policy IN ('no', 'on-startup')),
  network_driver TEXT NOT NULL DEFAULT 'ipnet', -- a network plugin name, or 'disabled'
  public_ports   TEXT NOT NULL DEFAULT '[]',    -- JSON array of PublishedPort objects
  dataset        TEXT NOT NULL DEFAULT '',
  created        TEXT NOT NULL
);
CREATE INDEX containers_image ON containers (image_id);

CREATE TABLE networks (
  id        TEXT PRIMARY KEY NOT NULL,
  name      TEXT NOT NULL UNIQUE,
  type      TEXT NOT NULL,                 -- bridge | loopback | custom
  interface TEXT NOT NULL DEFAULT '',
  subnet    TEXT NOT NULL DEFAULT '',      -- CIDR, '' = none
  subnet6   TEXT NOT NULL DEFAULT '',
  gateway   TEXT NOT NULL DEFAULT '',
  gateway6  TEXT NOT NULL DEFAULT '',
  nat       TEXT NOT NULL DEFAULT '',      -- as configured, e.g. '<host-gateway>'
  nat_if    TEXT NOT NULL DEFAULT '',      -- the interface it resolved to
  icc       INTEGER NOT NULL DEFAULT 1 CHECK (icc IN (0, 1)),
  internal  INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
  created   TEXT NOT NULL
);

CREATE TABLE endpoints (
  id           TEXT PRIMARY KEY NOT NULL,
  network_id   TEXT NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
  container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE RESTRICT,
  interface    TEXT NOT NULL DEFAULT '',   -- host side of the veth pair (Kleene's "epair")
  ip_address   TEXT NOT NULL DEFAULT '',
  ip_address6  TEXT NOT NULL DEFAULT '',
  UNIQUE (network_id, container_id)
);
CREATE INDEX endpoints_container ON endpoints (container_id);
-- An address is held by one container per network.
CREATE UNIQUE INDEX endpoints_ip ON endpoints (network_id, ip_address) WHERE ip_address <> '';
CREATE UNIQUE INDEX endpoints_ip6 ON endpoints (network_id, ip_address6) WHERE ip_address6 <> '';

CREATE TABLE volumes (
  name       TEXT PRIMARY KEY NOT NULL,
  dataset    TEXT NOT NULL,
  mountpoint TEXT NOT NULL,
  created    TEXT NOT NULL
);

CREATE TABLE mounts (
  id           INTEGER PRIMARY KEY,
  container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
  type         TEXT NOT NULL CHECK (type IN ('volume', 'nullfs')),
  source       TEXT NOT NULL,              -- volume name, or host path for nullfs (bind)
  destination  TEXT NOT NULL,              -- path inside the container
  read_only    INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
  -- Set (= source) for volume mounts only, so the database itself keeps a used volume alive.
  volume       TEXT REFERENCES volumes (name) ON DELETE RESTRICT,
  CHECK ((type = 'volume' AND volume IS source) OR (type = 'nullfs' AND volume IS NULL)),
  UNIQUE (container_id, destination)
);
CREATE INDEX mounts_volume ON mounts (volume);
)sql";

// v2: every network gets a small number of its own, the interface group (kernel devgroup) of
// its routed endpoints' host-side links: the firewall matches iifgroup/oifgroup instead of
// listing each container's link, so container starts and stops never change the ruleset.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE networks ADD COLUMN fw_group INTEGER NOT NULL DEFAULT 0;
UPDATE networks SET fw_group = rowid;
CREATE UNIQUE INDEX networks_fw_group ON networks (fw_group);
)sql";

// v3: images keep what Kleene's Image has no field for (entrypoint, workdir, labels, exposed
// ports: a JSON object), and the builder's cache: the cache key of each step of a kept build and
// the snapshot it made, gone with its image.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE images ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
CREATE TABLE build_cache (
  key      TEXT PRIMARY KEY NOT NULL,      -- "sha256:<hex>" (builder/plan.hpp, cache_key)
  image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  snapshot TEXT NOT NULL                   -- "@<snapshot>" of the image's dataset
);
CREATE INDEX build_cache_image ON build_cache (image_id);
)sql";

// v4: the containers a build made. A build lives in kleened's memory; when kleened dies with a
// build under way, the next start removes these (container/reconcile.hpp), as the build would
// have.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE build_containers (
  container_id TEXT PRIMARY KEY NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
  build_id     TEXT NOT NULL
);
)sql";

constexpr std::array<std::string_view, 4> kMigrations = {kV1, kV2, kV3, kV4};

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

}  // namespace kleene::store
