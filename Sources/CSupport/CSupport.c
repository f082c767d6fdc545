#define _GNU_SOURCE
#include "CSupport.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;
/* The signal mask while waiting for a connection: the worker's mask without the stop signals,
 * computed once (not one sigprocmask per request). */
static sigset_t unblocked_while_waiting;

static void on_stop(int signo) {
    (void)signo;
    stop_requested = 1;
}

void dg_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, &unblocked_while_waiting);
    sigdelset(&unblocked_while_waiting, SIGTERM);
    sigdelset(&unblocked_while_waiting, SIGINT);
}

int dg_stop_requested(void) { return stop_requested != 0; }

int dg_wait_readable_or_stop(int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    for (;;) {
        if (stop_requested) return 0;
        int n = ppoll(&p, 1, NULL, &unblocked_while_waiting);
        if (n > 0) return 1;
        if (n < 0 && errno == EINTR) continue; /* loop re-checks stop_requested */
        if (n < 0) return -1;
    }
}

int dg_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }

int dg_syncfs(int fd) {
    return syncfs(fd);
}
