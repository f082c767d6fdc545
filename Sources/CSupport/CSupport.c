#include "CSupport.h"
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

extern void FCGX_ShutdownPending(void) __attribute__((weak));

static volatile sig_atomic_t stop_requested = 0;

static void on_stop(int signo) {
    (void)signo;
    stop_requested = 1;
    if (FCGX_ShutdownPending) FCGX_ShutdownPending();
}

void dg_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: accept() must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int dg_stop_requested(void) { return stop_requested != 0; }

void dg_block_stop_signals(int block) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int dg_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }
