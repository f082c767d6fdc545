/*
 * nofsync.c -- LD_PRELOAD shim that turns fsync(2) and fdatasync(2) into no-ops.
 *
 *     gcc -O2 -shared -fPIC -o nofsync.so nofsync.c
 *     LD_PRELOAD=$PWD/nofsync.so BenchPopulate STATE_DIR --flows 1000000 ...
 *     sync -f STATE_DIR
 *
 * For filling a benchmark state directory fast (deploy/bench/bench.sh --entries) through
 * the store's own code, which fsyncs every file and directory it writes. Never use it with
 * a server: a crash would lose what the store promised was durable.
 */
int fsync(int fd) {
    (void)fd;
    return 0;
}

int fdatasync(int fd) {
    (void)fd;
    return 0;
}
