/* The -finstrument-functions hook of bench/memory/code-order.sh: each function's first call,
 * as its offset from the executable's load address (%016lx, as nm prints it), appended to
 * $KLEENE_CALL_LOG.<pid> in the order of first calls. Linked into every executable and module
 * of an instrumented build, it logs only in a process called kleened (not klee, the keeper or
 * the extract helper, whose argv[0] is extract-archive) with KLEENE_CALL_LOG set. Not part of
 * any product build. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_HOOK __attribute__((no_instrument_function))
#define SLOTS (1u << 18) /* more than the functions of kleened */

static uintptr_t seen[SLOTS];
static uintptr_t exe_base;
static int log_fd = -2;
static pid_t log_pid;

NO_HOOK static int first_object(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  exe_base = info->dlpi_addr; /* the first object is the executable */
  return 1;
}

NO_HOOK static int first_call(uintptr_t fn) {
  for (uintptr_t h = (fn * 0x9E3779B97F4A7C15ull) >> 46;; ++h) {
    h &= SLOTS - 1;
    uintptr_t cur = __atomic_load_n(&seen[h], __ATOMIC_RELAXED);
    if (cur == fn) return 0;
    if (cur == 0 &&
        __atomic_compare_exchange_n(&seen[h], &cur, fn, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return 1;
    if (cur == fn) return 0;
  }
}

NO_HOOK void __cyg_profile_func_enter(void* fn, void* site) {
  (void)site;
  if (!first_call((uintptr_t)fn)) return;
  pid_t pid = getpid();
  if (log_fd == -2 || log_pid != pid) { /* a forked child logs to a file of its own */
    const char* stem = getenv("KLEENE_CALL_LOG");
    log_fd = -1;
    log_pid = pid;
    dl_iterate_phdr(first_object, NULL);
    if (stem && strcmp(program_invocation_short_name, "kleened") == 0) {
      char path[4096];
      snprintf(path, sizeof path, "%s.%d", stem, (int)pid);
      log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
  }
  if (log_fd < 0) return;
  char line[32];
  int n = snprintf(line, sizeof line, "%016lx\n", (unsigned long)((uintptr_t)fn - exe_base));
  (void)!write(log_fd, line, (size_t)n);
}

NO_HOOK void __cyg_profile_func_exit(void* fn, void* site) {
  (void)fn;
  (void)site;
}
