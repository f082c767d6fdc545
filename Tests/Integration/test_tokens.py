"""Signed tokens through nginx (issue 4), checked from the outside.

Every JWT is verified by an independent implementation, joserfc, against the JWKS that the
served discovery document names: signature, ``kid``, ``alg`` (RS256, and ES256 with a second
configuration), ``typ``, issuer, audience and times. Then: id_token claims per scope, userinfo
(RFC 6750 challenges), refresh-token rotation with reuse detection (RFC 9700 §4.14.2),
introspection (RFC 7662), revocation (RFC 7009), key rotation without restart, opaque access
tokens, and the nginx ``auth_request`` gateway protecting a real upstream served by nginx
(nginx/devicegate-gateway.conf, included as shipped).

Stacks: the shared one (demo configuration, RS256), and per module one each for the gateway
(extra scopes, an audience, refresh tokens for demo-cli), ES256, key rotation and opaque tokens.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
import time

import pytest
import requests
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from harness import (
    AUTH_CHECK_PREFIX, FORM, HTTP_TIMEOUT, INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
    Stack, assert_oauth_error, assert_oauth_json, basic_auth, run_cli, run_threads, wait_until,
)

ALL_SCOPES = "openid profile email offline_access"
#: What a verifier may tolerate between this host's clock and the token's times.
SKEW = 5


# --------------------------------------------------------------------------- JOSE helpers


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jose_parts(token: str) -> tuple[dict, dict, bytes]:
    """Header, claims and raw signature of a compact JWS, without verifying anything."""
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def verify_jwt(stack: Stack, token: str, *, typ: str, alg: str = "RS256", audience: str | None = None,
               jwks: dict | None = None) -> tuple[dict, dict]:
    """Verifies ``token`` with joserfc against the served JWKS (found through discovery) and
    checks the header and the registered claims; returns (header, claims)."""
    discovery = stack.discovery()
    jwks = jwks if jwks is not None else stack.jwks()
    header, _, _ = jose_parts(token)
    assert header.get("typ") == typ, header
    assert header.get("alg") == alg, header
    assert header.get("kid") in {k["kid"] for k in jwks["keys"]}, (header, [k["kid"] for k in jwks["keys"]])
    # Only the algorithm we expect: joserfc refuses anything else (no "none", no HS256).
    decoded = jose_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])
    assert decoded.header["kid"] == header["kid"]
    claims = decoded.claims
    options = {"iss": {"essential": True, "value": discovery["issuer"]},
               "sub": {"essential": True}, "exp": {"essential": True}, "iat": {"essential": True}}
    if audience is not None:
        options["aud"] = {"essential": True, "value": audience}
    jose_jwt.JWTClaimsRegistry(leeway=SKEW, **options).validate(claims)
    now = time.time()
    assert now - 120 <= claims["iat"] <= now + SKEW, (claims["iat"], now)
    assert claims["exp"] > claims["iat"], claims
    return decoded.header, claims


def verify_access_token(stack: Stack, token: str, *, alg: str = "RS256", audience: str | None = None,
                        jwks: dict | None = None) -> tuple[dict, dict]:
    """RFC 9068 §2 and §4: typ at+jwt; iss, exp, aud, sub, client_id, iat, jti; scope."""
    header, claims = verify_jwt(stack, token, typ="at+jwt", alg=alg, audience=audience or stack.issuer, jwks=jwks)
    for name in ("client_id", "jti", "scope", "auth_time"):
        assert name in claims, (name, claims)
    assert claims["exp"] - claims["iat"] == 3600, claims
    assert claims["auth_time"] <= claims["iat"], claims
    return header, claims


def verify_id_token(stack: Stack, token: str, client_id: str = "demo-tv", *, alg: str = "RS256",
                    jwks: dict | None = None) -> tuple[dict, dict]:
    """OIDC Core §2 and §3.1.3.7: aud is the client, azp too; auth_time present."""
    header, claims = verify_jwt(stack, token, typ="JWT", alg=alg, audience=client_id, jwks=jwks)
    assert claims["aud"] == client_id, claims
    assert claims.get("azp") == client_id, claims
    assert claims["auth_time"] <= claims["iat"], claims
    assert claims["exp"] - claims["iat"] == 3600, claims
    return header, claims


def server_key(stack: Stack, kid: str | None = None):
    """(kid, alg, joserfc private key) of a signing key from the state directory (the active
    one unless ``kid`` is given): to craft tokens the server itself could have signed."""
    keys_dir = stack.state / "keys"
    for line in (keys_dir / "index").read_text().splitlines():
        k, alg, _, retired = line.split()
        if (kid is None and retired == "0") or k == kid:
            pem = (keys_dir / f"{k}.pem").read_bytes()
            return k, alg, (RSAKey if alg == "RS256" else ECKey).import_key(pem)
    raise AssertionError(f"no such key in {keys_dir}/index")


def craft(stack: Stack, overrides: dict | None = None, header: dict | None = None, drop=()) -> str:
    """An access token signed with the server's own active key, from claims that would be
    valid, changed by ``overrides`` and without the claims in ``drop``."""
    kid, alg, key = server_key(stack)
    now = int(time.time())
    claims = {"iss": stack.issuer, "sub": "alice", "aud": stack.issuer, "exp": now + 600, "iat": now,
              "auth_time": now, "jti": b64url(os.urandom(16)), "client_id": "demo-tv", "scope": "openid profile"}
    claims.update(overrides or {})
    for name in drop:
        claims.pop(name, None)
    h = {"alg": alg, "kid": kid, "typ": "at+jwt"}
    h.update(header or {})
    h = {k: v for k, v in h.items() if v is not None}  # {"typ": None}: no typ at all
    return jose_jwt.encode(h, claims, key, algorithms=[alg], default_type=None)


# --------------------------------------------------------------------------- HTTP helpers


def challenge(resp: requests.Response) -> str:
    """The single WWW-Authenticate header of a response (fails on none or several)."""
    values = resp.raw.headers.getlist("WWW-Authenticate")
    assert len(values) == 1, f"expected one WWW-Authenticate, got {values!r}"
    return values[0]


def assert_bearer_refusal(resp: requests.Response, status: int, error: str | None, scope: str | None = None):
    """RFC 6750 §3: the status, a Bearer challenge with realm, and error= only when a token was
    presented (§3.1: none at all for a request without authentication)."""
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    value = challenge(resp)
    assert value.startswith('Bearer realm="devicegate"'), value
    if error is None:
        assert "error=" not in value, value
    else:
        assert f'error="{error}"' in value, value
    if scope is not None:
        assert f'scope="{scope}"' in value, value
    return value


def auth_check(stack: Stack, token: str | None, scopes: str = "") -> requests.Response:
    """The gateway check itself, straight through the shared stack's catch-all location."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return stack.http.get(stack.url(AUTH_CHECK_PREFIX + scopes), headers=headers, timeout=HTTP_TIMEOUT)


def assert_rejected_everywhere(stack: Stack, access_token: str, times: int = 6):
    """The token fails at userinfo and at the gateway check, on every worker (several tries)
    and is inactive at introspection."""
    for _ in range(times):
        assert_bearer_refusal(stack.userinfo(access_token), 401, "invalid_token")
        assert_bearer_refusal(auth_check(stack, access_token, "openid"), 401, "invalid_token")
    assert assert_oauth_json(stack.introspect(access_token), 200) == {"active": False}


def warm(stack: Stack, access_token: str, times: int = 8):
    """Presents a valid token several times so that every worker has verified (and cached) it."""
    for _ in range(times):
        assert stack.userinfo(access_token).status_code == 200


# ============================================================================ discovery and JWKS


def test_discovery_is_consistent_with_the_config(stack):
    r = stack.http.get(stack.issuer + ".well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json"), r.headers
    d = r.json()
    # OIDC Discovery §4.3: the issuer is exactly the configured one, with its trailing slash.
    assert d["issuer"] == stack.issuer
    base = stack.base
    assert d["device_authorization_endpoint"] == base + "/application/o/device/"
    assert d["token_endpoint"] == base + TOKEN_PATH
    assert d["userinfo_endpoint"] == base + USERINFO_PATH
    assert d["introspection_endpoint"] == base + INTROSPECT_PATH
    assert d["revocation_endpoint"] == base + REVOKE_PATH
    # authentik's per-application shape.
    assert d["jwks_uri"] == stack.issuer + "jwks/"
    assert set(d["grant_types_supported"]) == {"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}
    # demo-tv is public (none), demo-cli confidential (basic and post).
    assert set(d["token_endpoint_auth_methods_supported"]) == {"none", "client_secret_basic", "client_secret_post"}
    assert d["id_token_signing_alg_values_supported"] == ["RS256"]
    # The union of the clients' allowed_scopes.
    assert set(d["scopes_supported"]) == {"openid", "profile", "email", "offline_access"}
    assert set(d["claims_supported"]) >= {"sub", "iss", "aud", "exp", "iat", "auth_time", "name",
                                          "preferred_username", "email", "email_verified"}
    assert "public" in d["subject_types_supported"]
    assert isinstance(d["response_types_supported"], list)

    # Every advertised endpoint is routed to devicegate (a JSON error, not a 404).
    for name in ("device_authorization_endpoint", "token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        resp = stack.http.post(d[name], data="", headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
        assert resp.status_code in (400, 401), (name, resp.status_code, resp.text[:200])
    assert stack.http.get(d["userinfo_endpoint"], timeout=HTTP_TIMEOUT).status_code == 401


@pytest.mark.parametrize("suffix", [".well-known/openid-configuration", "jwks/"])
def test_metadata_is_get_only(stack, suffix):
    r = stack.http.post(stack.issuer + suffix, data={"x": "1"}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, 405, "invalid_request")
    assert "GET" in r.headers.get("Allow", ""), r.headers


@pytest.mark.one_host("checks the key files in the state directory")
def test_jwks_publishes_public_keys_only(stack):
    jwks = stack.jwks()
    assert jwks["keys"], jwks
    index = [line.split()[0] for line in (stack.state / "keys" / "index").read_text().splitlines()]
    assert [k["kid"] for k in jwks["keys"]] == index[::-1]
    for key in jwks["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig", key
        assert len(b64url_decode(key["n"])) * 8 >= 2048, "RSA modulus under 2048 bits"
        assert b64url_decode(key["e"]) == b"\x01\x00\x01"
        # RFC 7518 §6.3.2: no private members.
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(key), key
        # The kid is the key's RFC 7638 thumbprint, as joserfc computes it.
        assert RSAKey.import_key(key).thumbprint() == key["kid"], key
    # The private keys on disk: 0600 files in a 0700 directory.
    keys_dir = stack.state / "keys"
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700, oct(keys_dir.stat().st_mode)
    for pem in keys_dir.glob("*.pem"):
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600, (pem, oct(pem.stat().st_mode))


# ============================================================================ issued tokens


def test_device_flow_tokens_verify_against_the_served_jwks(stack):
    before = int(time.time())
    t = stack.grant(ALL_SCOPES)
    assert t["token_type"] == "Bearer" and t["expires_in"] == 3600 and t["scope"] == ALL_SCOPES, t

    header, at = verify_access_token(stack, t["access_token"])
    assert at["sub"] == "alice" and at["client_id"] == "demo-tv", at
    assert at["aud"] == stack.issuer, at  # tokens.audience not set: the issuer
    assert at["scope"] == ALL_SCOPES, at
    assert before - 1 <= at["auth_time"] <= at["iat"] <= int(time.time()) + 1, at
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", at["jti"]), at

    id_header, it = verify_id_token(stack, t["id_token"])
    assert id_header["kid"] == header["kid"]
    assert it["sub"] == "alice" and it["auth_time"] == at["auth_time"], it
    assert it["email"] == "alice@example.com" and it["email_verified"] is True, it
    assert it["name"] == "Alice Example" and it["preferred_username"] == "alice", it

    # The refresh token is opaque (RFC 6749 §1.5): no structure to read.
    assert "." not in t["refresh_token"] and len(t["refresh_token"]) >= 32, t["refresh_token"]


CLAIMS_BY_SCOPE = [
    ("openid", set()),
    ("openid email", {"email", "email_verified"}),
    ("openid profile", {"name", "preferred_username"}),
    ("openid profile email", {"email", "email_verified", "name", "preferred_username"}),
]
PROFILE_CLAIMS = {"email", "email_verified", "name", "preferred_username"}


@pytest.mark.parametrize("scope,claims", CLAIMS_BY_SCOPE)
def test_id_token_and_userinfo_claims_follow_the_scope(stack, scope, claims):
    t = stack.grant(scope)
    _, it = verify_id_token(stack, t["id_token"])
    assert PROFILE_CLAIMS & set(it) == claims, it
    info = assert_oauth_json(stack.userinfo(t["access_token"]), 200)
    assert info["sub"] == "alice"
    assert set(info) - {"sub"} == claims, info
    for name in claims:
        assert info[name] == it[name], (name, info, it)
    # No offline_access, no refresh token (demo-tv has no refresh_tokens setting).
    assert "refresh_token" not in t, t


def test_no_id_token_without_openid(stack):
    t = stack.grant("profile email")
    assert "id_token" not in t, t
    assert "refresh_token" not in t, t
    _, at = verify_access_token(stack, t["access_token"])
    assert at["scope"] == "profile email"
    # userinfo is an OpenID Connect resource: it needs openid (OIDC Core §5.3).
    r = stack.userinfo(t["access_token"])
    assert_bearer_refusal(r, 403, "insufficient_scope", scope="openid")
    assert r.json()["error"] == "insufficient_scope"


def test_every_redemption_gets_its_own_tokens(stack):
    # Dex returned the same stored tokens on every poll; each grant must get fresh ones.
    a, b = stack.grant(ALL_SCOPES), stack.grant(ALL_SCOPES)
    assert a["access_token"] != b["access_token"] and a["refresh_token"] != b["refresh_token"]
    assert jose_parts(a["access_token"])[1]["jti"] != jose_parts(b["access_token"])[1]["jti"]


def test_a_user_without_configured_claims_gets_only_sub_and_username(stack):
    t = stack.grant("openid profile email", subject="bob")
    _, it = verify_id_token(stack, t["id_token"])
    assert it["sub"] == "bob" and it.get("preferred_username") == "bob", it
    assert not {"name", "email", "email_verified"} & set(it), it
    assert assert_oauth_json(stack.userinfo(t["access_token"]), 200) == {"sub": "bob", "preferred_username": "bob"}


# ============================================================================ userinfo


def test_userinfo_get_and_post(stack):
    t = stack.grant("openid email")
    token = t["access_token"]
    expected = {"sub": "alice", "email": "alice@example.com", "email_verified": True}
    assert assert_oauth_json(stack.userinfo(token), 200) == expected
    assert assert_oauth_json(stack.userinfo(token, method="POST"), 200) == expected
    # RFC 6750 §2.2: the form-encoded body parameter.
    r = stack.post(USERINFO_PATH, data={"access_token": token})
    assert assert_oauth_json(r, 200) == expected
    # RFC 7235 §2.1: the scheme is case-insensitive.
    r = stack.http.get(stack.url(USERINFO_PATH), headers={"Authorization": f"bearer {token}"}, timeout=HTTP_TIMEOUT)
    assert assert_oauth_json(r, 200) == expected
    # RFC 6750 §2: never more than one method at once.
    r = stack.post(USERINFO_PATH, data={"access_token": token}, headers={"Authorization": f"Bearer {token}"})
    assert_bearer_refusal(r, 400, "invalid_request")
    r = stack.http.put(stack.url(USERINFO_PATH), headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 405 and "GET" in r.headers.get("Allow", ""), (r.status_code, r.headers)


def test_userinfo_without_a_token_has_no_error_code(stack):
    r = stack.userinfo(None)
    assert_bearer_refusal(r, 401, None)
    assert r.headers.get("Cache-Control") == "no-store"
    # Another scheme is no bearer token either.
    r = stack.http.get(stack.url(USERINFO_PATH), headers={"Authorization": stack.cli_basic}, timeout=HTTP_TIMEOUT)
    assert_bearer_refusal(r, 401, None)


def _forged_tokens(stack: Stack, good: str, id_token: str, refresh_token: str | None = None) -> dict[str, str]:
    """Tokens that must all be refused with invalid_token, derived from a valid one."""
    h, p, s = good.split(".")
    header, claims, _ = jose_parts(good)
    kid = header["kid"]
    forged = {
        "garbage": "not-a-token",
        "truncated": f"{h}.{p}",
        "bad base64": f"{h}.{p}.***",
        # The payload changed under the original signature.
        "tampered claims": f"{h}.{b64url(json.dumps({**claims, 'sub': 'mallory'}).encode())}.{s}",
        # RFC 8725 §2.1: "none" and algorithm confusion.
        "alg none": f"{b64url(json.dumps({'alg': 'none', 'kid': kid, 'typ': 'at+jwt'}).encode())}.{p}.",
        "unknown kid": jose_jwt.encode({"alg": "RS256", "kid": "no-such-kid", "typ": "at+jwt"}, claims,
                                       RSAKey.generate_key(2048), algorithms=["RS256"]),
        "right kid, other key": jose_jwt.encode({"alg": "RS256", "kid": kid, "typ": "at+jwt"}, claims,
                                                RSAKey.generate_key(2048), algorithms=["RS256"]),
        # An id_token is not an access token (RFC 9068 §4: typ must be at+jwt).
        "id_token": id_token,
    }
    if refresh_token:
        forged["refresh_token"] = refresh_token
    # HS256 with the published public key as the HMAC secret.
    jwk = next(k for k in stack.jwks()["keys"] if k["kid"] == kid)
    public_pem = RSAKey.import_key(jwk).as_pem(private=False)
    hs_header = b64url(json.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}).encode())
    mac = hmac.new(public_pem, f"{hs_header}.{p}".encode(), hashlib.sha256).digest()
    forged["HS256 with the public key"] = f"{hs_header}.{p}.{b64url(mac)}"
    return forged


def test_userinfo_and_gateway_refuse_forged_tokens(stack):
    t = stack.grant("openid profile offline_access")
    forged = _forged_tokens(stack, t["access_token"], t["id_token"], t["refresh_token"])
    for name, token in forged.items():
        for resp in (stack.userinfo(token), auth_check(stack, token)):
            assert resp.status_code == 401, (name, resp.status_code, resp.text[:200])
            assert_bearer_refusal(resp, 401, "invalid_token")
        if name != "refresh_token":  # which introspection rightly reports as an active refresh token
            assert assert_oauth_json(stack.introspect(token), 200) == {"active": False}, name
    # The genuine token still works.
    assert stack.userinfo(t["access_token"]).status_code == 200


@pytest.mark.parametrize("case,overrides,header,drop,detail", [
    ("expired", {"exp": int(time.time()) - 10, "iat": int(time.time()) - 700}, None, (), "expired"),
    ("other issuer", {"iss": "https://evil.example/application/o/devicegate/"}, None, (), None),
    ("typ JWT", {}, {"typ": "JWT"}, (), None),
    ("no typ", {}, {"typ": None}, (), None),
    ("no client_id", {}, None, ("client_id",), None),
    ("no jti", {}, None, ("jti",), None),
    ("no sub", {}, None, ("sub",), None),
])
def test_tokens_signed_with_the_real_key_but_wrong_claims_are_refused(stack, case, overrides, header, drop, detail):
    token = craft(stack, overrides, header=header, drop=drop)
    assert ("typ" in jose_parts(token)[0]) == (header != {"typ": None})
    value = assert_bearer_refusal(stack.userinfo(token), 401, "invalid_token")
    if detail:
        assert detail in value, value
    assert_bearer_refusal(auth_check(stack, token), 401, "invalid_token")


def test_a_crafted_valid_token_is_accepted(stack):
    # Control for the test above: the same construction with nothing wrong passes.
    token = craft(stack, {"scope": "openid email"})
    assert assert_oauth_json(stack.userinfo(token), 200)["email"] == "alice@example.com"
    r = auth_check(stack, token, "email")
    assert r.status_code == 200 and r.headers["X-Devicegate-Subject"] == "alice", r.headers


# ============================================================================ refresh tokens


def test_refresh_rotates_the_refresh_token(stack):
    t0 = stack.grant(ALL_SCOPES)
    _, at0 = verify_access_token(stack, t0["access_token"])
    t1 = assert_oauth_json(stack.refresh(t0["refresh_token"]), 200)
    assert t1["refresh_token"] != t0["refresh_token"]
    assert t1["access_token"] != t0["access_token"]
    assert t1["scope"] == ALL_SCOPES and t1["token_type"] == "Bearer" and t1["expires_in"] == 3600, t1
    _, at1 = verify_access_token(stack, t1["access_token"])
    assert at1["jti"] != at0["jti"] and at1["sub"] == "alice" and at1["scope"] == ALL_SCOPES
    # The approval time carries over (OIDC Core §12.2).
    assert at1["auth_time"] == at0["auth_time"]
    _, it1 = verify_id_token(stack, t1["id_token"])
    assert it1["auth_time"] == at0["auth_time"] and it1["sub"] == "alice", it1
    # Only the newest refresh token is active.
    assert assert_oauth_json(stack.introspect(t0["refresh_token"]), 200) == {"active": False}
    assert assert_oauth_json(stack.introspect(t1["refresh_token"]), 200)["active"] is True
    # A rotation alone does not revoke the earlier access token.
    assert stack.userinfo(t0["access_token"]).status_code == 200
    assert stack.userinfo(t1["access_token"]).status_code == 200
    # And the chain continues.
    t2 = assert_oauth_json(stack.refresh(t1["refresh_token"]), 200)
    assert t2["refresh_token"] not in (t0["refresh_token"], t1["refresh_token"])


def test_refresh_narrows_the_scope_and_never_widens_it(stack):
    t0 = stack.grant(ALL_SCOPES)
    # RFC 6749 §6: a narrower scope for the new access token.
    t1 = assert_oauth_json(stack.refresh(t0["refresh_token"], scope="openid email offline_access"), 200)
    assert t1["scope"] == "openid email offline_access", t1
    assert verify_access_token(stack, t1["access_token"])[1]["scope"] == "openid email offline_access"
    _, it1 = verify_id_token(stack, t1["id_token"])
    assert "email" in it1 and "name" not in it1, it1
    assert set(assert_oauth_json(stack.userinfo(t1["access_token"]), 200)) == {"sub", "email", "email_verified"}

    # Wider than the original grant: invalid_scope (and demo-tv may not ask for it at all).
    for wider in ("openid groups", "openid api.read", ALL_SCOPES + " phone"):
        assert_oauth_error(stack.refresh(t1["refresh_token"], scope=wider), 400, "invalid_scope")
    assert_oauth_error(stack.refresh(t1["refresh_token"], scope='openid "x"'), 400, "invalid_scope")
    # A refused request does not consume the refresh token.
    # Omitting scope means the scope originally granted (RFC 6749 §6), not the narrowed one.
    t2 = assert_oauth_json(stack.refresh(t1["refresh_token"]), 200)
    assert t2["scope"] == ALL_SCOPES, t2
    # Narrowed past openid: no id_token, and userinfo says insufficient_scope.
    t3 = assert_oauth_json(stack.refresh(t2["refresh_token"], scope="profile"), 200)
    assert t3["scope"] == "profile" and "id_token" not in t3 and t3.get("refresh_token"), t3
    assert_bearer_refusal(stack.userinfo(t3["access_token"]), 403, "insufficient_scope")
    # Back to the original scope once more.
    t4 = assert_oauth_json(stack.refresh(t3["refresh_token"], scope=ALL_SCOPES), 200)
    assert t4["scope"] == ALL_SCOPES and "id_token" in t4


def test_reusing_a_rotated_refresh_token_revokes_the_family(stack):
    t0 = stack.grant(ALL_SCOPES)
    t1 = assert_oauth_json(stack.refresh(t0["refresh_token"]), 200)
    t2 = assert_oauth_json(stack.refresh(t1["refresh_token"]), 200)
    for t in (t0, t1, t2):
        warm(stack, t["access_token"], times=4)  # verified and cached on the workers
    # RFC 9700 §4.14.2: the replay of t0's refresh token...
    body = assert_oauth_error(stack.refresh(t0["refresh_token"]), 400, "invalid_grant")
    assert "access_token" not in body
    # ...revokes the whole family: the newest refresh token too,
    assert_oauth_error(stack.refresh(t2["refresh_token"]), 400, "invalid_grant")
    assert assert_oauth_json(stack.introspect(t2["refresh_token"]), 200) == {"active": False}
    # and every access token issued from it, at userinfo, the gateway and introspection.
    for t in (t0, t1, t2):
        assert_rejected_everywhere(stack, t["access_token"])
    # Another grant of the same user is untouched.
    other = stack.grant(ALL_SCOPES)
    assert stack.userinfo(other["access_token"]).status_code == 200
    assert_oauth_json(stack.refresh(other["refresh_token"]), 200)


def test_concurrent_use_of_one_refresh_token_redeems_it_once(stack):
    t0 = stack.grant(ALL_SCOPES)
    results = []

    def use():
        results.append(stack.refresh(t0["refresh_token"]))

    run_threads([use] * 6, timeout=60)
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, [(r.status_code, r.text[:100]) for r in results]
    for r in results:
        if r.status_code != 200:
            assert_oauth_error(r, 400, "invalid_grant")
    # The losers replayed a rotated token: the family, the winner's tokens included, is revoked.
    winner = ok[0].json()
    assert_oauth_error(stack.refresh(winner["refresh_token"]), 400, "invalid_grant")
    assert_bearer_refusal(stack.userinfo(winner["access_token"]), 401, "invalid_token")


def test_refresh_token_of_another_client_is_invalid_grant(stack):
    t0 = stack.grant(ALL_SCOPES)
    # demo-cli (authenticated) presents demo-tv's refresh token.
    assert_oauth_error(stack.refresh(t0["refresh_token"], client_id=None, auth=stack.cli_basic), 400, "invalid_grant")
    assert_oauth_error(stack.refresh(t0["refresh_token"], client_id="demo-cli", client_secret=stack.cli_secret),
                       400, "invalid_grant")
    # That was no replay by the owner: the token still works for demo-tv.
    assert_oauth_json(stack.refresh(t0["refresh_token"]), 200)


@pytest.mark.parametrize("case,kwargs,status,error", [
    ("missing refresh_token", {"refresh_token": None}, 400, "invalid_request"),
    ("empty refresh_token", {"refresh_token": ""}, 400, "invalid_request"),
    ("unknown refresh_token", {"refresh_token": "x" * 43}, 400, "invalid_grant"),
    ("missing client_id", {"client_id": None}, 400, "invalid_request"),
    ("unknown client", {"client_id": "no-such-client"}, 401, "invalid_client"),
    ("public client with a secret", {"client_secret": "s3cret"}, 401, "invalid_client"),
    ("confidential client without its secret", {"client_id": "demo-cli"}, 401, "invalid_client"),
])
def test_refresh_grant_errors(stack, case, kwargs, status, error):
    t0 = stack.grant(ALL_SCOPES)
    args = {"refresh_token": t0["refresh_token"]}
    args.update(kwargs)
    assert_oauth_error(stack.refresh(args.pop("refresh_token"), **args), status, error)
    # None of these consumed or revoked the token.
    assert_oauth_json(stack.refresh(t0["refresh_token"]), 200)


def test_refresh_grant_other_malformed_requests(stack):
    t0 = stack.grant(ALL_SCOPES)
    rt = t0["refresh_token"]
    # Repeated parameter (RFC 6749 §3.2: parameters MUST NOT be included more than once).
    r = stack.post(TOKEN_PATH, data=f"grant_type=refresh_token&client_id=demo-tv&refresh_token={rt}&refresh_token={rt}",
                   headers={"Content-Type": FORM})
    assert_oauth_error(r, 400, "invalid_request")
    # An access token or an id_token is no refresh token.
    assert_oauth_error(stack.refresh(t0["access_token"]), 400, "invalid_grant")
    assert_oauth_error(stack.refresh(t0["id_token"]), 400, "invalid_grant")
    # Some other grant type.
    r = stack.post(TOKEN_PATH, data={"grant_type": "password", "client_id": "demo-tv", "username": "a", "password": "b"})
    assert_oauth_error(r, 400, "unsupported_grant_type")
    assert_oauth_json(stack.refresh(rt), 200)


# ============================================================================ introspection


def test_introspection_of_an_access_token(stack):
    t = stack.grant("openid email")
    _, at = verify_access_token(stack, t["access_token"])
    expected = {"active": True, "scope": "openid email", "client_id": "demo-tv", "sub": "alice", "exp": at["exp"],
                "iat": at["iat"], "iss": stack.issuer, "token_type": "Bearer", "jti": at["jti"], "aud": at["aud"]}
    for how in ({"auth": "demo-cli"}, {"auth": None, "client_id": "demo-cli", "client_secret": stack.cli_secret}):
        r = stack.introspect(t["access_token"], **how)
        assert assert_oauth_json(r, 200) == expected, how
    # The hint orders the lookups, it does not limit them (RFC 7662 §2.1); unknown hints are ignored.
    for hint in ("access_token", "refresh_token", "something_else"):
        assert assert_oauth_json(stack.introspect(t["access_token"], token_type_hint=hint), 200) == expected, hint


def test_introspection_of_a_refresh_token(stack):
    t0 = stack.grant(ALL_SCOPES)
    for hint in (None, "refresh_token", "access_token"):
        extra = {"token_type_hint": hint} if hint else {}
        body = assert_oauth_json(stack.introspect(t0["refresh_token"], **extra), 200)
        assert body["active"] is True and body["token_type"] == "refresh_token", body
        assert body["client_id"] == "demo-tv" and body["sub"] == "alice" and body["scope"] == ALL_SCOPES, body
        assert body["iss"] == stack.issuer and body["exp"] > time.time() + 86400, body


@pytest.mark.parametrize("what", ["unknown", "garbage JWT", "id_token", "rotated refresh token", "revoked access token"])
def test_introspection_of_inactive_tokens_says_only_active_false(stack, what):
    t = stack.grant(ALL_SCOPES)
    token = {
        "unknown": "u" * 43,
        "garbage JWT": "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "id_token": t["id_token"],
    }.get(what)
    if what == "rotated refresh token":
        token = t["refresh_token"]
        assert_oauth_json(stack.refresh(token), 200)
    elif what == "revoked access token":
        token = t["access_token"]
        assert stack.revoke(token).status_code == 200
    # RFC 7662 §2.2: an inactive token reveals nothing else.
    assert assert_oauth_json(stack.introspect(token), 200) == {"active": False}


@pytest.mark.parametrize("case,status,error", [
    ("missing token", 400, "invalid_request"),
    ("repeated token", 400, "invalid_request"),
    ("public client", 401, "invalid_client"),
    ("confidential client without secret", 401, "invalid_client"),
    ("wrong secret (basic)", 401, "invalid_client"),
    ("wrong secret (post)", 401, "invalid_client"),
    ("unknown client", 401, "invalid_client"),
    ("basic and post at once", 400, "invalid_request"),
    ("not a form", 400, "invalid_request"),
])
def test_introspection_errors(stack, case, status, error):
    token = stack.grant("openid")["access_token"]
    if case == "missing token":
        r = stack.introspect(None)
    elif case == "repeated token":
        r = stack.post(INTROSPECT_PATH, data=f"token={token}&token={token}", headers={"Content-Type": FORM,
                                                                                   "Authorization": stack.cli_basic})
    elif case == "public client":
        r = stack.introspect(token, auth=None, client_id="demo-tv")
    elif case == "confidential client without secret":
        r = stack.introspect(token, auth=None, client_id="demo-cli")
    elif case == "wrong secret (basic)":
        r = stack.introspect(token, auth=basic_auth("demo-cli", "wrong"))
    elif case == "wrong secret (post)":
        r = stack.introspect(token, auth=None, client_id="demo-cli", client_secret="wrong")
    elif case == "unknown client":
        r = stack.introspect(token, auth=basic_auth("nobody", "x"))
    elif case == "basic and post at once":
        r = stack.introspect(token, client_secret=stack.cli_secret)
    else:
        r = stack.http.post(stack.url(INTROSPECT_PATH), json={"token": token},
                            headers={"Authorization": stack.cli_basic}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, status, error)
    if status == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    r = stack.http.get(stack.url(INTROSPECT_PATH), headers={"Authorization": stack.cli_basic}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, 405, "invalid_request")


def test_introspection_without_any_client_authentication_is_invalid_client(stack):
    token = stack.grant("openid")["access_token"]
    assert_oauth_error(stack.introspect(token, auth=None), 401, "invalid_client")


# ============================================================================ revocation


def test_revoking_an_access_token(stack):
    t = stack.grant(ALL_SCOPES)
    warm(stack, t["access_token"])  # cached as valid on every worker first
    r = stack.revoke(t["access_token"])
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store", (r.status_code, r.headers)
    value = assert_bearer_refusal(stack.userinfo(t["access_token"]), 401, "invalid_token")
    assert "revoked" in value, value
    assert_rejected_everywhere(stack, t["access_token"])
    # A garbage-collection pass keeps the revocation (the token has not expired yet).
    gc = run_cli("gc", "-c", stack.config)
    assert gc.returncode == 0, gc.stderr
    assert_rejected_everywhere(stack, t["access_token"], times=2)
    # Idempotent (RFC 7009 §2.2), and with a hint of either kind.
    assert stack.revoke(t["access_token"]).status_code == 200
    assert stack.revoke(t["access_token"], token_type_hint="refresh_token").status_code == 200
    # Only that access token: the grant's refresh token still works.
    assert_oauth_json(stack.refresh(t["refresh_token"]), 200)


def test_revoking_a_refresh_token_revokes_its_family(stack):
    t0 = stack.grant(ALL_SCOPES)
    t1 = assert_oauth_json(stack.refresh(t0["refresh_token"]), 200)
    warm(stack, t1["access_token"])
    # The hint is only a hint (RFC 7009 §2.1), even a wrong one.
    r = stack.revoke(t1["refresh_token"], token_type_hint="access_token")
    assert r.status_code == 200, r.text
    assert_oauth_error(stack.refresh(t1["refresh_token"]), 400, "invalid_grant")
    assert assert_oauth_json(stack.introspect(t1["refresh_token"]), 200) == {"active": False}
    for t in (t0, t1):
        assert_rejected_everywhere(stack, t["access_token"], times=3)
    assert stack.revoke(t1["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["u" * 43, "not.a.jwt", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"])
def test_revoking_unknown_tokens_is_200(stack, token):
    # RFC 7009 §2.2: invalid tokens do not cause an error response.
    r = stack.revoke(token)
    assert r.status_code == 200 and r.content == b"", (r.status_code, r.text)
    r = stack.revoke(token, client_id=None, auth=stack.cli_basic)
    assert r.status_code == 200, (r.status_code, r.text)


def test_revoking_another_clients_access_token_is_refused(stack):
    t = stack.grant(ALL_SCOPES)
    r = stack.revoke(t["access_token"], client_id=None, auth=stack.cli_basic)
    assert_oauth_error(r, 400, "unauthorized_client")
    assert stack.userinfo(t["access_token"]).status_code == 200


def test_another_client_cannot_revoke_a_refresh_token(stack):
    t = stack.grant(ALL_SCOPES)
    r = stack.revoke(t["refresh_token"], client_id=None, auth=stack.cli_basic)
    assert r.status_code in (200, 400), (r.status_code, r.text)
    # Whatever the answer, nothing was revoked.
    assert stack.userinfo(t["access_token"]).status_code == 200
    assert_oauth_json(stack.refresh(t["refresh_token"]), 200)


def test_revoking_another_clients_refresh_token_is_refused(stack):
    t = stack.grant(ALL_SCOPES)
    r = stack.revoke(t["refresh_token"], client_id=None, auth=stack.cli_basic)
    assert_oauth_error(r, 400, "unauthorized_client")


@pytest.mark.parametrize("case,status,error", [
    ("missing token", 400, "invalid_request"),
    ("missing client_id", 400, "invalid_request"),
    ("public client with a secret", 401, "invalid_client"),
    ("confidential client without secret", 401, "invalid_client"),
    ("wrong secret", 401, "invalid_client"),
    ("unknown client", 401, "invalid_client"),
    ("not a form", 400, "invalid_request"),
])
def test_revocation_errors(stack, case, status, error):
    t = stack.grant("openid")
    token = t["access_token"]
    if case == "missing token":
        r = stack.revoke(None)
    elif case == "missing client_id":
        r = stack.revoke(token, client_id=None)
    elif case == "public client with a secret":
        r = stack.revoke(token, client_secret="x")
    elif case == "confidential client without secret":
        r = stack.revoke(token, client_id="demo-cli")
    elif case == "wrong secret":
        r = stack.revoke(token, client_id=None, auth=basic_auth("demo-cli", "wrong"))
    elif case == "unknown client":
        r = stack.revoke(token, client_id="no-such-client")
    else:
        r = stack.http.post(stack.url(REVOKE_PATH), json={"token": token, "client_id": "demo-tv"}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, status, error)
    # The token survived the refused request.
    assert stack.userinfo(token).status_code == 200
    r = stack.http.get(stack.url(REVOKE_PATH), timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, 405, "invalid_request")


# ============================================================================ the nginx gateway

#: A protected location exactly as nginx/example-server.conf shows it.
PROTECTED = """
        location {path} {{
            auth_request     /_devicegate/auth/{scopes};
            auth_request_set $devicegate_subject $upstream_http_x_devicegate_subject;
            auth_request_set $devicegate_client  $upstream_http_x_devicegate_client;
            auth_request_set $devicegate_scope   $upstream_http_x_devicegate_scope;
            proxy_set_header X-Subject      $devicegate_subject;
            proxy_set_header X-Client-Id    $devicegate_client;
            proxy_set_header X-Scope        $devicegate_scope;
            auth_request_set $devicegate_challenge $upstream_http_www_authenticate;
            error_page 401 = @devicegate_unauthorized;
            error_page 403 = @devicegate_forbidden;
            error_page 500 = @devicegate_gateway_unavailable;
            proxy_pass http://127.0.0.1:{{port2}};
        }}
"""

GATEWAY_SERVER = """
        include devicegate/devicegate-gateway.conf;
""" + "".join(PROTECTED.format(path=p, scopes=s) for p, s in [
    ("/api/read/", "api.read"), ("/api/write/", "api.read%20api.write"), ("/api/any/", "")]) + """
        # The bare minimum: nginx's own 401/403 pages.
        location /plain/ {
            auth_request     /_devicegate/auth/api.read;
            auth_request_set $devicegate_subject $upstream_http_x_devicegate_subject;
            proxy_set_header X-Subject $devicegate_subject;
            proxy_pass http://127.0.0.1:{port2};
        }
"""

#: The upstream API: a second nginx server that answers with what it received, and logs it.
GATEWAY_HTTP = """
    log_format devicegate_upstream '$request_method $uri sub=$http_x_subject';
    server {
        listen 127.0.0.1:{port2};
        access_log {root}/upstream.log devicegate_upstream;
        location / {
            default_type application/json;
            return 200 '{"method":"$request_method","uri":"$uri","subject":"$http_x_subject","client":"$http_x_client_id","scope":"$http_x_scope"}';
        }
    }
"""


def _gateway_config(text: str) -> str:
    """Extra scopes for the API, an audience, refresh tokens for demo-cli and a user whose
    claims need JSON escaping."""
    replacements = [
        ("    allowed_scopes: [openid, profile, email, offline_access]\n",
         "    allowed_scopes: [openid, profile, email, offline_access, api.read, api.write]\n"),
        ("    allowed_scopes: [openid, profile, email]\n    default_scopes: [openid]\n",
         "    allowed_scopes: [openid, profile, email]\n    default_scopes: [openid]\n    refresh_tokens: true\n"),
        ("users:\n", 'users:\n  carol:\n    name: "Zo\\u00eb \\"Z\\" O\'Brien \\\\ <b>&"\n'
                     '    email: "carol+tag@example.com"\n    email_verified: false\n'),
        ("tokens:\n", "tokens:\n  audience: https://api.example.test\n"),
    ]
    for old, new in replacements:
        assert old in text, f"demo config changed: {old!r} not found"
        text = text.replace(old, new, 1)
    return text


def gateway_stack(workers: int, server: str = GATEWAY_SERVER, transform=_gateway_config):
    """A started stack whose nginx protects /api/... of an upstream nginx server with the
    gateway (`server`: the nginx server block), removed when the fixture that yields from it
    ends: the module fixtures of the gateway's tests."""
    s = Stack(workers=workers, transform=transform, nginx_http=GATEWAY_HTTP, nginx_server=server)
    try:
        s.start()
        wait_until(lambda: _upstream_log(s) is not None, 10, what="upstream access log")
        yield s
    finally:
        s.cleanup()


@pytest.fixture(scope="module")
def gw():
    """A stack whose nginx protects /api/... of an upstream nginx server with the gateway."""
    yield from gateway_stack(workers=3)


def _upstream_log(stack: Stack) -> list[str] | None:
    try:
        return (stack.root / "upstream.log").read_text().splitlines()
    except FileNotFoundError:
        return None


def _upstream_saw(stack: Stack, seen: int, token: str) -> list[str]:
    """The upstream's log lines after the first ``seen``, up to a marker request made now with
    a valid ``token``. nginx writes a log line after answering, so a line may land a moment
    after the response; the marker, logged last, shows that everything before it is in."""
    marker = f"/api/any/marker-{os.urandom(4).hex()}"
    assert _api(stack, marker, token).status_code == 200
    line = f"GET {marker} sub="
    lines = wait_until(lambda: (lambda got: got if any(x.startswith(line) for x in got) else None)(_upstream_log(stack)[seen:]),
                       10, what="the marker request in the upstream log")
    return [x for x in lines if not x.startswith(line)]


def _api(stack: Stack, path: str, token: str | None, method: str = "GET", **kw) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return stack.http.request(method, stack.url(path), headers=headers, timeout=HTTP_TIMEOUT, **kw)


def test_gateway_passes_a_valid_token_to_the_upstream_with_its_subject(gw):
    t = gw.grant("openid api.read")
    seen = len(_upstream_log(gw))
    # The client's own X-Subject is replaced, never passed on.
    r = _api(gw, "/api/read/orders?x=1", t["access_token"], headers={"X-Subject": "mallory"})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json() == {"method": "GET", "uri": "/api/read/orders", "subject": "alice", "client": "demo-tv",
                        "scope": "openid api.read"}
    assert _upstream_saw(gw, seen, t["access_token"]) == ["GET /api/read/orders sub=alice"]
    # A body is no problem for the check (it is not forwarded to the worker).
    r = _api(gw, "/api/read/orders", t["access_token"], method="POST", data="a=" + "b" * 20000,
             headers={"Content-Type": FORM})
    assert r.status_code == 200 and r.json()["method"] == "POST", (r.status_code, r.text[:200])
    # A location that needs no particular scope takes any valid token.
    narrow = gw.grant("profile")
    r = _api(gw, "/api/any/x", narrow["access_token"])
    assert r.status_code == 200 and r.json()["scope"] == "profile", (r.status_code, r.text[:200])
    # The minimal location works the same for a valid token.
    r = _api(gw, "/plain/x", t["access_token"])
    assert r.status_code == 200 and r.json()["subject"] == "alice", (r.status_code, r.text[:200])


def test_gateway_401_without_or_with_an_invalid_token(gw):
    seen = len(_upstream_log(gw))
    r = _api(gw, "/api/read/x", None)
    assert_bearer_refusal(r, 401, None)
    assert r.json()["error"] == "invalid_request", r.text
    for token in ("garbage", craft(gw, {"exp": int(time.time()) - 5, "scope": "api.read"})):
        r = _api(gw, "/api/read/x", token)
        assert_bearer_refusal(r, 401, "invalid_token")
        assert r.json()["error"] == "invalid_token", r.text
        assert r.headers.get("Cache-Control") == "no-store"
    # Without the error_page lines nginx still copies the challenge of a 401.
    assert_bearer_refusal(_api(gw, "/plain/x", None), 401, None)
    assert_bearer_refusal(_api(gw, "/plain/x", "garbage"), 401, "invalid_token")
    assert _upstream_saw(gw, seen, gw.grant("openid")["access_token"]) == [], "a refused request reached the upstream"


def test_gateway_403_for_insufficient_scope_carries_the_challenge(gw):
    seen = len(_upstream_log(gw))
    only_openid = gw.grant("openid")["access_token"]
    r = _api(gw, "/api/read/x", only_openid)
    assert_bearer_refusal(r, 403, "insufficient_scope", scope="api.read")
    assert r.json()["error"] == "insufficient_scope"
    read_only = gw.grant("openid api.read")["access_token"]
    assert_bearer_refusal(_api(gw, "/api/write/x", read_only), 403, "insufficient_scope", scope="api.read api.write")
    # nginx alone (no error_page 403) drops the challenge of a 403: what the conf comments say.
    r = _api(gw, "/plain/x", only_openid)
    assert r.status_code == 403 and not r.raw.headers.getlist("WWW-Authenticate"), r.headers
    assert _upstream_saw(gw, seen, only_openid) == [], "a refused request reached the upstream"
    both = gw.grant("api.read api.write")["access_token"]
    r = _api(gw, "/api/write/x", both)
    assert r.status_code == 200 and r.json()["scope"] == "api.read api.write", r.text


def test_gateway_refuses_revoked_and_replayed_family_tokens(gw):
    t = gw.grant("openid offline_access api.read")
    for _ in range(6):
        assert _api(gw, "/api/read/x", t["access_token"]).status_code == 200
    assert gw.revoke(t["access_token"]).status_code == 200
    for _ in range(6):
        assert_bearer_refusal(_api(gw, "/api/read/x", t["access_token"]), 401, "invalid_token")

    t1 = assert_oauth_json(gw.refresh(t["refresh_token"]), 200)
    assert _api(gw, "/api/read/x", t1["access_token"]).status_code == 200
    assert_oauth_error(gw.refresh(t["refresh_token"]), 400, "invalid_grant")  # replay
    for _ in range(6):
        assert_bearer_refusal(_api(gw, "/api/read/x", t1["access_token"]), 401, "invalid_token")


def test_gateway_check_location_is_internal(gw):
    token = gw.grant("openid api.read")["access_token"]
    for path in ("/_devicegate/auth/api.read", "/_devicegate/auth/"):
        r = _api(gw, path, token)
        assert r.status_code == 404, (path, r.status_code)
        assert not any(h.lower().startswith("x-devicegate") for h in r.headers), r.headers


@pytest.mark.one_host("stops and restarts one host's serve")
def test_gateway_fails_closed_when_devicegate_is_down(gw):
    token = gw.grant("openid api.read")["access_token"]
    seen = len(_upstream_log(gw))
    gw.serve.terminate()
    gw.serve.wait(timeout=15)
    try:
        r = _api(gw, "/api/read/x", token)
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", (r.status_code, r.text[:200])
        assert r.headers.get("Retry-After") == "5"
        assert _api(gw, "/plain/x", token).status_code == 500  # nginx's default
    finally:
        gw.serve_log.close()
        gw.start_devicegate()
        gw.wait_ready()
    assert _api(gw, "/api/read/x", token).status_code == 200
    assert _upstream_saw(gw, seen, token) == ["GET /api/read/x sub=alice"], "a refused request reached the upstream"


def test_configured_audience_and_scopes(gw):
    d = gw.discovery()
    assert set(d["scopes_supported"]) == {"openid", "profile", "email", "offline_access", "api.read", "api.write"}
    t = gw.grant("openid api.read")
    _, at = verify_access_token(gw, t["access_token"], audience="https://api.example.test")
    assert at["aud"] == "https://api.example.test"
    # The id_token's audience stays the client.
    verify_id_token(gw, t["id_token"])
    assert assert_oauth_json(gw.introspect(t["access_token"]), 200)["aud"] == "https://api.example.test"


def test_per_client_refresh_tokens_for_a_confidential_client(gw):
    t = gw.grant("openid", confidential=True)
    assert t["scope"] == "openid" and t.get("refresh_token"), t  # refresh_tokens: true, no offline_access
    verify_id_token(gw, t["id_token"], client_id="demo-cli")
    # A confidential client must authenticate to refresh.
    assert_oauth_error(gw.refresh(t["refresh_token"], client_id="demo-cli"), 401, "invalid_client")
    assert_oauth_error(gw.refresh(t["refresh_token"], client_id=None, auth=basic_auth("demo-cli", "no")),
                       401, "invalid_client")
    t1 = assert_oauth_json(gw.refresh(t["refresh_token"], client_id=None, auth=gw.cli_basic), 200)
    t2 = assert_oauth_json(gw.refresh(t1["refresh_token"], client_id="demo-cli", client_secret=gw.cli_secret), 200)
    # The public client cannot use it.
    assert_oauth_error(gw.refresh(t2["refresh_token"]), 400, "invalid_grant")
    # Revoked by its owner with client_secret_post.
    r = gw.revoke(t2["refresh_token"], client_id="demo-cli", client_secret=gw.cli_secret)
    assert r.status_code == 200, r.text
    assert_oauth_error(gw.refresh(t2["refresh_token"], client_id=None, auth=gw.cli_basic), 400, "invalid_grant")
    assert_bearer_refusal(gw.userinfo(t2["access_token"]), 401, "invalid_token")


def test_claims_with_quotes_and_unicode_survive_json(gw):
    t = gw.grant("openid profile email", subject="carol")
    _, it = verify_id_token(gw, t["id_token"])
    name = 'Zo\u00eb "Z" O\'Brien \\ <b>&'
    assert it["name"] == name and it["email"] == "carol+tag@example.com" and it["email_verified"] is False, it
    info = assert_oauth_json(gw.userinfo(t["access_token"]), 200)
    assert info == {"sub": "carol", "preferred_username": "carol", "name": name,
                    "email": "carol+tag@example.com", "email_verified": False}


def test_subject_with_crlf_cannot_inject_gateway_headers(gw):
    flow = gw.new_flow(scope="openid api.read")
    approved = gw.approve(flow["user_code"], subject="mallory\r\nX-Devicegate-Scope: admin")
    if approved.returncode != 0:  # refusing such a subject is a fix too
        return
    t = assert_oauth_json(gw.token(flow["device_code"]), 200)
    r = _api(gw, "/api/read/x", t["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "openid api.read", r.json()
    assert "admin" not in r.json()["subject"].replace("X-Devicegate-Scope: admin", ""), r.json()
    assert "\n" not in r.json()["subject"] and "\r" not in r.json()["subject"]


# ============================================================================ ES256


@pytest.fixture(scope="module")
def es256():
    s = Stack(workers=2, transform=lambda t: t.replace("signing_alg: RS256", "signing_alg: ES256"))
    try:
        yield s.start()
    finally:
        s.cleanup()


def test_es256_tokens_verify_against_the_served_jwks(es256):
    d = es256.discovery()
    assert d["id_token_signing_alg_values_supported"] == ["ES256"]
    jwks = es256.jwks()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256" and key["use"] == "sig", key
    assert len(b64url_decode(key["x"])) == 32 and len(b64url_decode(key["y"])) == 32, key
    assert "d" not in key, key
    assert ECKey.import_key(key).thumbprint() == key["kid"], key

    t = es256.grant(ALL_SCOPES)
    _, at = verify_access_token(es256, t["access_token"], alg="ES256")
    _, it = verify_id_token(es256, t["id_token"], alg="ES256")
    assert at["sub"] == it["sub"] == "alice" and it["email"] == "alice@example.com"
    # RFC 7518 §3.4: the JWS signature is R || S, 64 bytes, not DER.
    assert len(jose_parts(t["access_token"])[2]) == 64 and len(jose_parts(t["id_token"])[2]) == 64
    assert assert_oauth_json(es256.userinfo(t["access_token"]), 200)["email"] == "alice@example.com"
    assert auth_check(es256, t["access_token"], "openid").status_code == 200
    t1 = assert_oauth_json(es256.refresh(t["refresh_token"]), 200)
    verify_access_token(es256, t1["access_token"], alg="ES256")
    # ES256 has its own forgeries: the DER form of a valid signature, and RS256 claimed for an EC key.
    h, p, sig = t["access_token"].split(".")
    raw = b64url_decode(sig)
    der = _der_ecdsa(raw[:32], raw[32:])
    for token in (f"{h}.{p}.{b64url(der)}",
                  f"{b64url(json.dumps({**jose_parts(t['access_token'])[0], 'alg': 'RS256'}).encode())}.{p}.{sig}"):
        assert_bearer_refusal(es256.userinfo(token), 401, "invalid_token")


def _der_ecdsa(r: bytes, s: bytes) -> bytes:
    def integer(b: bytes) -> bytes:
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return b"\x02" + bytes([len(b)]) + b
    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


# ============================================================================ key rotation


@pytest.fixture(scope="module")
def rotating():
    s = Stack(workers=3)
    try:
        yield s.start()
    finally:
        s.cleanup()


def _kid(token: str) -> str:
    return jose_parts(token)[0]["kid"]


def _rewrite_index(stack: Stack, kid: str, retired_ms: int):
    """Sets a key's retirement time in the keys index, as `keys rotate` writes it: under
    index.lock, replaced atomically (a new inode, which workers notice)."""
    keys_dir = stack.state / "keys"
    with open(keys_dir / "index.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = []
        for line in (keys_dir / "index").read_text().splitlines():
            k, alg, created, retired = line.split()
            lines.append(f"{k} {alg} {created} {retired_ms if k == kid else retired}\n")
        tmp = keys_dir / "index.test-tmp"
        tmp.write_text("".join(lines))
        os.rename(tmp, keys_dir / "index")


@pytest.mark.one_host("rewrites the keys index in the state directory (two-host rotation: test_two_hosts.py)")
def test_key_rotation_without_restart(rotating):
    s = rotating
    # Tokens signed by the first key: some used now, some never shown to any worker before the
    # rotation (so no worker has them cached).
    used = s.grant(ALL_SCOPES)
    unseen = s.grant(ALL_SCOPES)
    unseen_later = s.grant("openid")
    old_kid = _kid(used["access_token"])
    assert _kid(unseen["id_token"]) == old_kid
    warm(s, used["access_token"])
    listed = s.keys_cli("list")
    assert listed.returncode == 0 and old_kid in listed.stdout and "active" in listed.stdout, listed

    # `keys generate` never replaces an existing key.
    gen = s.keys_cli("generate")
    assert gen.returncode == 0 and "already exists" in gen.stdout, (gen.stdout, gen.stderr)
    bad = s.keys_cli("rotate", "--alg", "HS256")
    assert bad.returncode != 0 and "RS256" in bad.stderr, (bad.stdout, bad.stderr)

    rotated_at = time.monotonic()
    out = s.keys_cli("rotate")
    assert out.returncode == 0, out.stderr
    new_kid = re.search(r"new active key (\S+)", out.stdout).group(1)
    assert new_kid != old_kid
    lines = s.keys_cli("list").stdout
    assert re.search(rf"^{re.escape(old_kid)}\s+RS256\s+created \d+\s+retired at \d+$", lines, re.M), lines
    assert re.search(rf"^{re.escape(new_kid)}\s+RS256\s+created \d+\s+active$", lines, re.M), lines

    # Workers notice within about a second, without a restart.
    wait_until(lambda: time.monotonic() - rotated_at >= 1.5, 5, what="1.5 s")
    jwks = s.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid], jwks
    chain = used["refresh_token"]
    for _ in range(6):  # several tokens, issued by whichever worker answers
        t = assert_oauth_json(s.refresh(chain), 200)
        chain = t["refresh_token"]
        assert _kid(t["access_token"]) == new_kid and _kid(t["id_token"]) == new_kid
        verify_access_token(s, t["access_token"], jwks=jwks)
    fresh = s.grant(ALL_SCOPES)
    assert _kid(fresh["access_token"]) == new_kid

    # Tokens of the retired key still verify: independently against the JWKS with both keys,
    # and at userinfo and the gateway on every worker, including tokens no worker saw before.
    verify_access_token(s, unseen["access_token"], jwks=jwks)
    verify_id_token(s, unseen["id_token"], jwks=jwks)
    for _ in range(6):
        assert s.userinfo(unseen["access_token"]).status_code == 200
        assert s.userinfo(used["access_token"]).status_code == 200
        assert auth_check(s, unseen["access_token"], "openid").status_code == 200

    # A second rotation, to ES256: three keys published, both algorithms advertised.
    out = s.keys_cli("rotate", "--alg", "ES256")
    assert out.returncode == 0, out.stderr
    es_kid = re.search(r"new active key (\S+)", out.stdout).group(1)
    wait_until(lambda: len(s.jwks()["keys"]) == 3, 5, what="three keys in the JWKS")
    time.sleep(1.1)
    assert s.discovery()["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    t = s.grant("openid")
    assert _kid(t["access_token"]) == es_kid
    verify_access_token(s, t["access_token"], alg="ES256")
    verify_id_token(s, t["id_token"], alg="ES256")

    # Once the first key's tokens have all expired (its retirement moved back by two hours,
    # beyond the one-hour token lifetimes), it is no longer published and no longer verifies...
    _rewrite_index(s, old_kid, int((time.time() - 7200) * 1000))
    wait_until(lambda: old_kid not in {k["kid"] for k in s.jwks()["keys"]}, 5, what="the old key to be unpublished")
    time.sleep(1.1)
    for _ in range(6):
        assert_bearer_refusal(s.userinfo(unseen_later["access_token"]), 401, "invalid_token")
    # ...and the next rotation forgets it.
    assert (s.state / "keys" / f"{old_kid}.pem").exists()
    assert s.keys_cli("rotate").returncode == 0
    assert not (s.state / "keys" / f"{old_kid}.pem").exists()
    assert old_kid not in s.keys_cli("list").stdout


# ============================================================================ opaque access tokens


@pytest.fixture(scope="module")
def opaque():
    s = Stack(workers=2, transform=lambda t: t.replace("format: jwt", "format: opaque"))
    try:
        yield s.start()
    finally:
        s.cleanup()


def test_opaque_access_tokens(opaque):
    s = opaque
    t = s.grant(ALL_SCOPES)
    assert "." not in t["access_token"] and len(t["access_token"]) >= 43, t["access_token"]
    # The id_token is still a signed JWT.
    _, it = verify_id_token(s, t["id_token"])
    assert it["email"] == "alice@example.com"
    assert assert_oauth_json(s.userinfo(t["access_token"]), 200)["name"] == "Alice Example"
    r = auth_check(s, t["access_token"], "openid%20email")
    assert r.status_code == 200 and r.headers["X-Devicegate-Subject"] == "alice", r.headers
    body = assert_oauth_json(s.introspect(t["access_token"]), 200)
    assert body["active"] is True and body["token_type"] == "Bearer" and body["sub"] == "alice", body
    assert body["scope"] == ALL_SCOPES and body["client_id"] == "demo-tv", body

    # A garbage-collection pass keeps the records of unexpired tokens.
    assert run_cli("gc", "-c", s.config).returncode == 0
    assert s.userinfo(t["access_token"]).status_code == 200
    # Revocation of the access token, then of a family through replay.
    assert s.revoke(t["access_token"]).status_code == 200
    assert_rejected_everywhere(s, t["access_token"], times=3)
    t1 = assert_oauth_json(s.refresh(t["refresh_token"]), 200)
    assert "." not in t1["access_token"]
    assert s.userinfo(t1["access_token"]).status_code == 200
    assert_oauth_error(s.refresh(t["refresh_token"]), 400, "invalid_grant")
    assert_rejected_everywhere(s, t1["access_token"], times=3)
    # Made-up opaque tokens are refused.
    assert_bearer_refusal(s.userinfo("A" * 43), 401, "invalid_token")


# ============================================================================ expiry (runs last)


@pytest.mark.expiry
def test_access_tokens_expire_and_refresh_still_works(expiring_flows):
    # The conftest stack issues access tokens for 60 s; "used" was presented (and cached as
    # valid by the workers) at session start, "unused" never.
    s, tokens = expiring_flows["stack"], expiring_flows["tokens"]
    claims = {name: jose_parts(t["access_token"])[1] for name, t in tokens.items()}
    for c in claims.values():
        assert c["exp"] - c["iat"] == 60, c
    exp = max(c["exp"] for c in claims.values())
    # Past exp, and past the leeway joserfc is given below.
    wait_until(lambda: time.time() >= exp + SKEW + 1, 90, interval=0.5, what="the access tokens to expire")
    for t in tokens.values():
        for _ in range(3):
            assert "expired" in assert_bearer_refusal(s.userinfo(t["access_token"]), 401, "invalid_token")
            assert_bearer_refusal(auth_check(s, t["access_token"], "openid"), 401, "invalid_token")
        assert assert_oauth_json(s.introspect(t["access_token"]), 200) == {"active": False}
        # joserfc agrees: the signature is fine, the token is expired.
        with pytest.raises(JoseError):
            verify_jwt(s, t["access_token"], typ="at+jwt")
    # The refresh token outlives them (and a gc pass keeps it): a fresh access token.
    assert run_cli("gc", "-c", s.config).returncode == 0
    fresh = assert_oauth_json(s.refresh(tokens["used"]["refresh_token"]), 200)
    assert assert_oauth_json(s.userinfo(fresh["access_token"]), 200)["sub"] == "alice"
