/* kl-probe: a static helper run inside the test containers; prints what one syscall gives.
 *   kl-probe shm|msg|sem|ping4|ping6|raw|packet|tcp|mlock|unshare|clone_ns|clone|personality
 * Prints "ok" (exit 0) or "errno N" (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc) {
  if (rc < 0) {
    printf("errno %d\n", errno);
    return 1;
  }
  printf("ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* what = argv[1];
  if (!strcmp(what, "shm")) return report(shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
  if (!strcmp(what, "msg")) return report(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
  if (!strcmp(what, "sem")) return report(semget(IPC_PRIVATE, 1, IPC_CREAT | 0600));
  if (!strcmp(what, "ping4"))
    return report(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!strcmp(what, "ping6")) return report(socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6));
  if (!strcmp(what, "raw")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  if (!strcmp(what, "packet")) return report(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
  if (!strcmp(what, "tcp")) return report(socket(AF_INET, SOCK_STREAM, 0));
  if (!strcmp(what, "mlock")) {
    static char page[4096];
    return report(mlock(page, sizeof page));
  }
  if (!strcmp(what, "unshare")) return report(unshare(CLONE_NEWUTS));
  if (!strcmp(what, "clone_ns") || !strcmp(what, "clone")) {
    long flags = SIGCHLD | (!strcmp(what, "clone_ns") ? CLONE_NEWUTS : 0);
    long pid = syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return report(pid);
  }
  if (!strcmp(what, "personality")) return report(personality(0x0400000 /* READ_IMPLIES_EXEC */));
  return 2;
}
