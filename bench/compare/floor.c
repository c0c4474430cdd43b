// The floor of a container start: what the kernel costs, with nothing of an engine around it.
// clone(2) with new mount, PID, UTS, IPC and network namespaces, pivot_root(2) into ROOTFS and
// exec CMD; the parent waits and returns the child's exit status. No cgroup, no image, no
// monitor, no state.
//   usage: floor ROOTFS CMD [ARGS...]
// Built by bench/compare/run.sh with the system's C compiler.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char** child_argv;

static int child(void* arg) {
  const char* rootfs = arg;
  // Keep the host's mount table out of it, make ROOTFS a mount point, then swap roots.
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) != 0 || chdir(rootfs) != 0 ||
      syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    perror("floor: pivot_root");
    return 127;
  }
  execv(child_argv[0], child_argv);
  perror("floor: exec");
  return 127;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: floor ROOTFS CMD [ARGS...]\n");
    return 2;
  }
  child_argv = argv + 2;
  static char stack[64 * 1024] __attribute__((aligned(16)));
  int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
  pid_t pid = clone(child, stack + sizeof stack, flags, argv[1]);
  if (pid < 0) {
    perror("floor: clone");
    return 127;
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    perror("floor: waitpid");
    return 127;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
