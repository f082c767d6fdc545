#!/usr/bin/env python3
"""Redeems approved device codes once each, for deploy/bench/bench.sh --entries.

    redeem.py --url http://127.0.0.1:PORT --codes FILE --tokens OUT [--client-id demo-tv]

POSTs the token endpoint (RFC 8628 section 3.4) for every device code in FILE, one keep-alive
connection, and writes the access_token of every 200 answer to OUT, one a line: the tokens of
the auth_request scenario. Prints how many of each status it got; fails if none was 200.
Standard library only.
"""

import argparse
import http.client
import json
import sys
import urllib.parse

TOKEN_PATH = "/application/o/token/"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--codes", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--client-id", default="demo-tv")
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
    statuses, tokens = {}, []
    with open(args.codes) as codes:
        for code in filter(None, (line.strip() for line in codes)):
            body = urllib.parse.urlencode({"grant_type": GRANT, "client_id": args.client_id, "device_code": code})
            conn.request("POST", TOKEN_PATH, body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            data = resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.status == 200:
                tokens.append(json.loads(data)["access_token"])
    with open(args.tokens, "w") as out:
        out.writelines(token + "\n" for token in tokens)
    print("redeemed:", ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
    return 0 if tokens else 1


if __name__ == "__main__":
    sys.exit(main())
