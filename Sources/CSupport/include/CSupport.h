#ifndef DEVICEGATE_CSUPPORT_H
#define DEVICEGATE_CSUPPORT_H

/// Installs SIGTERM/SIGINT handlers that only record the request to stop, and blocks both
/// signals: from then on they are delivered only inside dg_wait_readable_or_stop, so a request
/// in flight is never interrupted half-way (libfcgi does not retry reads on EINTR).
void dg_install_stop_handlers(void);
/// Non-zero once SIGTERM or SIGINT was received.
int dg_stop_requested(void);
/// Waits until `fd` is readable (a connection is pending on the listening socket) or a stop
/// signal arrives, with the stop signals unblocked only for the wait (ppoll). Returns 1 when
/// readable, 0 when a stop was requested, -1 on another error.
int dg_wait_readable_or_stop(int fd);
/// prctl(PR_SET_PDEATHSIG, sig): prctl is variadic and cannot be called from Swift.
int dg_set_parent_death_signal(int sig);
/// syncfs(2): writes out everything cached for the filesystem holding `fd` (Glibc's Swift
/// module does not export it).
int dg_syncfs(int fd);

#endif
