#ifndef DEVICEGATE_CSUPPORT_H
#define DEVICEGATE_CSUPPORT_H

/// Installs SIGTERM/SIGINT handlers (no SA_RESTART) that only record the request to stop and
/// tell libfcgi a shutdown is pending, so a worker blocked in accept() returns.
void dg_install_stop_handlers(void);
/// Non-zero once SIGTERM or SIGINT was received.
int dg_stop_requested(void);
/// Blocks (1) or unblocks (0) SIGTERM/SIGINT for the calling thread, so a request in flight
/// is never interrupted half-way.
void dg_block_stop_signals(int block);
/// prctl(PR_SET_PDEATHSIG, sig): prctl is variadic and cannot be called from Swift.
int dg_set_parent_death_signal(int sig);

#endif
