#!/usr/bin/env python3
"""A steady worker's memory: requests of every kind to a running `devicegate serve`, for rss.sh.

    rss.py --socket PATH --bin devicegate --config devicegate.yaml [--requests N]

Talks FastCGI to the socket directly (instructions.py's client, one connection per request,
the parameters nginx/devicegate-fastcgi.conf passes) and sends, N of each and every answer
checked:

  device_authorization  POST /application/o/device/ -> 200
  poll_pending          POST /application/o/token/, each new code once -> 400 authorization_pending
  page_de, page_ja      GET /device?code=USER_CODE with Accept-Language de / ja -> 200, the
                        page in that language (its <html lang>)
  page_en_connected     GET /device/connected (Your devices, not signed in: its sign-in form) -> 200
  redemption            a few flows approved with `devicegate approve`, each redeemed -> 200
  auth_request          GET /_devicegate/auth/openid with those access tokens, cycling -> 200

Standard library only. Prints one line per kind and exits non-zero on an unexpected answer.
"""

import argparse
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions as fcgi  # noqa: E402  (its FastCGI client, paths and form)


def page(socket_path, path, query, language):
    """GET of a page as nginx passes it (devicegate-fastcgi.conf) with an Accept-Language:
    instructions.py's framing, with the query and that header. (status, body)."""
    params = [("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", path), ("QUERY_STRING", query),
              ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""), ("REMOTE_ADDR", "127.0.0.1"),
              ("HTTP_HOST", "127.0.0.1"), ("HTTP_ACCEPT_LANGUAGE", language),
              ("REQUEST_ID", secrets.token_hex(16))]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(socket_path)
        blob = b"".join(fcgi.name_value(k, v) for k, v in params)
        sock.sendall(fcgi.record(fcgi.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) + fcgi.record(fcgi.PARAMS, blob)
                     + fcgi.record(fcgi.PARAMS, b"") + fcgi.record(fcgi.STDIN, b""))
        return fcgi.read_response(sock, path)


def expect(kind, answer, status, contains=None):
    got, body = answer
    if got != status or (contains is not None and contains not in body):
        raise SystemExit(f"{kind}: expected {status} with {contains!r}, got {got}: {body[:300]!r}")
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redemptions", type=int, default=5)
    args = parser.parse_args()
    n, sock = args.requests, args.socket
    device = ("POST", fcgi.DEVICE_PATH, fcgi.form(client_id=fcgi.CLIENT_ID, scope="openid"))

    def poll(code):
        return fcgi.fastcgi_request(sock, "POST", fcgi.TOKEN_PATH, fcgi.form(
            grant_type=fcgi.GRANT, client_id=fcgi.CLIENT_ID, device_code=code))

    flows = [json.loads(expect("device_authorization", fcgi.fastcgi_request(sock, *device), 200)) for _ in range(n)]
    print(f"device_authorization {n}", flush=True)
    for flow in flows:
        expect("poll_pending", poll(flow["device_code"]), 400, b"authorization_pending")
    print(f"poll_pending {n}", flush=True)
    for language, lang_attr in (("de-DE,de;q=0.9", b'lang="de"'), ("ja", b'lang="ja"')):
        for flow in flows:
            query = urllib.parse.urlencode({"code": flow["user_code"]})
            expect(f"page {language}", page(sock, "/device", query, language), 200, lang_attr)
        print(f"page {language} {n}", flush=True)
    for _ in range(n):
        expect("your devices", page(sock, "/device/connected", "", "en"), 200, b'lang="en"')
    print(f"page_en_connected {n}", flush=True)
    tokens = []
    for flow in flows[:args.redemptions]:
        subprocess.run([args.bin, "approve", flow["user_code"], "--subject", "alice", "--config", args.config],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        tokens.append(json.loads(expect("redemption", poll(flow["device_code"]), 200))["access_token"])
    print(f"redemption {len(tokens)}", flush=True)
    for i in range(n):
        expect("auth_request", fcgi.fastcgi_request(sock, "GET", fcgi.GATEWAY_PATH, b"",
                                                     f"Bearer {tokens[i % len(tokens)]}"), 200)
    print(f"auth_request {n}", flush=True)


if __name__ == "__main__":
    main()
