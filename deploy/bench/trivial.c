/*
 * trivial.c -- the ceiling for deploy/bench/bench.sh.
 *
 * The least a libfcgi responder can do per request: accept on the listening
 * socket inherited as fd 0 (FCGI_LISTENSOCK_FILENO, the same convention
 * devicegate's workers use), read the request body, and answer with the same
 * status, headers and body shape as devicegate's "authorization_pending"
 * token response. Whatever the real server spends beyond this is its own.
 *
 * It closes each connection as libfcgi does by default: shutdown(2) of the
 * write side, then wait until nginx closes its end (against a TCP RST). With
 * TRIVIAL_CLOSE=fast in the environment it closes at once instead, as
 * devicegate's workers do on a unix socket once the request was read to its
 * end (bench.sh --ceiling-close fast), for the same-footing comparison.
 *
 * Build: gcc -O2 -Wall -o trivial trivial.c -lfcgi
 * Run:   several copies sharing one socket on fd 0, e.g.
 *        python3 deploy/bench/prefork.py --socket /tmp/t.sock --workers 4 -- ./trivial
 */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char response[] =
    "Status: 400 Bad Request\r\n"
    "Content-Type: application/json\r\n"
    "Cache-Control: no-store\r\n"
    "Pragma: no-cache\r\n"
    "\r\n"
    "{\"error\":\"authorization_pending\","
    "\"error_description\":\"the user has not yet approved or denied this request\"}";

int main(void)
{
    static FCGX_Request request; /* static: libfcgi keeps pointers into it */
    char sink[4096];

    if (FCGX_Init() != 0) {
        fputs("trivial: FCGX_Init failed\n", stderr);
        return 1;
    }
    if (FCGX_InitRequest(&request, 0 /* fd 0 */, 0) != 0) {
        fputs("trivial: FCGX_InitRequest failed\n", stderr);
        return 1;
    }
    const char *close_mode = getenv("TRIVIAL_CLOSE");
    int fast_close = close_mode != NULL && strcmp(close_mode, "fast") == 0;
    while (FCGX_Accept_r(&request) >= 0) {
        /* Drain the (small) form body, as a real handler would parse it. */
        while (FCGX_GetStr(sink, sizeof sink, request.in) > 0) {
        }
        FCGX_PutStr(response, (int)(sizeof response - 1), request.out);
        if (fast_close && FCGX_HasSeenEOF(request.in) == EOF)
            request.detached = 1; /* FCGX_Finish_r then close(2)s without the wait */
        FCGX_Finish_r(&request);
    }
    return 0;
}
