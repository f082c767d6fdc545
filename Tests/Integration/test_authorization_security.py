"""The authorization code flow's defences (issue 13), with requests only and every redirect
followed by hand (authorization.FormWalk), on the https stack:

- open redirect: a crafted redirect_uri gets a page, never a Location (RFC 6749 §4.1.2.1,
  RFC 9700 §4.1);
- code replay: invalid_grant, and the tokens of the first redemption are revoked (RFC 6749
  §4.1.2);
- PKCE downgrade and a wrong verifier are refused (RFC 7636 §4.6, RFC 9700 §2.1.1);
- a code is bound to its client (RFC 6749 §4.1.3);
- prompt=none without a session: login_required at the redirect, with state and iss (OIDC
  Core §3.1.2.6, RFC 9207);
- the consent POST without or with a wrong CSRF token: 403, no code.

Each test also does the legitimate thing next to the attack, so a refusal cannot come from a
broken setup."""

import urllib.parse

import pytest

from authorization import FormWalk, authorization_url, new_state, page_text, pkce_pair, query_of
from harness import TOKEN_PATH, InteropClients as C, assert_oauth_error, assert_oauth_json, basic_auth

#: A loopback redirect for the native app (any port matches the registered one); never
#: followed, so nothing listens there.
REDIRECT = "http://127.0.0.1:53682/cb"


@pytest.fixture(scope="module")
def endpoint(tls_stack):
    return tls_stack.discovery()["authorization_endpoint"]


def request_url(endpoint, client_id=C.NATIVE_APP, redirect_uri=REDIRECT, challenge: str | None = "", **extra):
    """An authorization request; ``challenge=""`` draws a fresh S256 pair (the verifier is in
    ``request_url.verifier``), None sends no code_challenge."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid email",
              "state": extra.pop("state", new_state())}
    verifier = None
    if challenge == "":
        verifier, challenge = pkce_pair()
    if challenge is not None:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = extra.pop("code_challenge_method", "S256")
    params.update(extra)
    return authorization_url(endpoint, **params), params["state"], verifier


def obtain_code(stack, endpoint, walk: FormWalk | None = None, **kw) -> tuple[str, str | None, dict]:
    """Signs in and approves; returns (code, verifier, the redirect's query)."""
    url, state, verifier = request_url(endpoint, **kw)
    back = (walk or FormWalk(stack)).authorize(url)
    q = query_of(back)
    assert "code" in q and q.get("state") == state, f"authorization failed: {back}"
    assert q.get("iss") == stack.issuer, f"RFC 9207: iss {q.get('iss')!r}"
    return q["code"], verifier, q


def redeem(stack, code, client_id=C.NATIVE_APP, redirect_uri=REDIRECT, verifier=None, auth=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    if auth is None:
        data["client_id"] = client_id
    return stack.post(TOKEN_PATH, data=data, headers={"Authorization": auth} if auth else None)


def web_app_auth():
    return basic_auth(C.WEB_APP, C.WEB_APP_SECRET)


# --------------------------------------------------------------------------- open redirect

CRAFTED_REDIRECTS = [
    # (client, redirect_uri, what it tries)
    (C.WEB_APP, "https://evil.example/cb", "another host"),
    (C.WEB_APP, "https://app.example.com/cb/extra", "an extra path segment"),
    (C.WEB_APP, "https://app.example.com/cb?next=https://evil.example/", "an added query"),
    (C.WEB_APP, "https://app.example.com@evil.example/cb", "userinfo: the host is evil.example"),
    (C.WEB_APP, "https://app.example.com.evil.example/cb", "a registered host as a prefix"),
    (C.WEB_APP, "https://app.example.com:8443/cb", "another port on a non-loopback URI"),
    (C.WEB_APP, "http://app.example.com/cb", "http for an https registration"),
    (C.WEB_APP, "https://APP.example.com/cb/../../evil", "dot segments"),
    (C.WEB_APP, "https://app.example.com/cb#frag", "a fragment (RFC 6749 §3.1.2)"),
    (C.NATIVE_APP, "http://127.0.0.1:53682/cb/../other", "loopback with another path"),
    (C.NATIVE_APP, "http://127.0.0.1.evil.example:53682/cb", "a loopback lookalike host"),
    (C.NATIVE_APP, "http://evil.example:53682/cb", "any port is for loopback only"),
    (C.NATIVE_APP, "https://127.0.0.1:53682/cb", "https for an http loopback registration"),
    ("demo-tv", REDIRECT, "a client with no redirect URIs"),
    ("no-such-client", REDIRECT, "an unknown client"),
]


@pytest.mark.parametrize("client,redirect_uri,attempt", CRAFTED_REDIRECTS, ids=[c[2] for c in CRAFTED_REDIRECTS])
def test_a_crafted_redirect_uri_gets_a_page_and_no_redirect(tls_stack, endpoint, client, redirect_uri, attempt):
    url, _, _ = request_url(endpoint, client_id=client, redirect_uri=redirect_uri)
    r = tls_stack.http.get(url, allow_redirects=False)
    assert "Location" not in r.headers, f"{attempt}: redirected to {r.headers['Location']!r}"
    assert r.status_code == 400, f"{attempt}: HTTP {r.status_code} (expected a 400 page): {page_text(r.text)[:300]!r}"
    assert r.headers.get("Content-Type", "").startswith("text/html"), f"{attempt}: {r.headers.get('Content-Type')!r}"
    assert "evil.example" not in r.text, f"{attempt}: the page links to the crafted URI"


def test_registered_redirect_uris_are_accepted(tls_stack, endpoint):
    """The control for the refusals above: the same requests with registered URIs go on to the
    sign-in page (a redirect inside devicegate, never to the client yet)."""
    for client, uri in ((C.WEB_APP, C.WEB_APP_HTTPS_REDIRECT), (C.NATIVE_APP, REDIRECT),
                        (C.NATIVE_APP, "http://127.0.0.1:40001/cb"), (C.WEB_APP, "http://127.0.0.1:40002/cb")):
        walk = FormWalk(tls_stack)
        url, _, _ = request_url(endpoint, client_id=client, redirect_uri=uri)
        left, r = walk.follow(url)
        assert left is None, f"{client} {uri}: left the stack for {left!r} before signing in"
        assert r.status_code == 200 and walk.form_with(r, lambda f: "password" in f["fields"]), \
            f"{client} {uri}: HTTP {r.status_code}, no sign-in page: {page_text(r.text)[:300]!r}"


# --------------------------------------------------------------------------- code replay


def test_code_replay_is_refused_and_revokes_the_first_tokens(tls_stack, endpoint):
    code, verifier, _ = obtain_code(tls_stack, endpoint)
    first = assert_oauth_json(redeem(tls_stack, code, verifier=verifier), 200)
    assert first.get("access_token") and first.get("id_token"), first
    assert tls_stack.userinfo(first["access_token"]).status_code == 200

    assert_oauth_error(redeem(tls_stack, code, verifier=verifier), 400, "invalid_grant")
    r = tls_stack.userinfo(first["access_token"])
    assert r.status_code == 401, f"the access token of a replayed code still works at userinfo: {r.status_code} {r.text[:200]}"
    info = assert_oauth_json(tls_stack.introspect(first["access_token"]), 200)
    assert info.get("active") is False, f"introspection after the replay: {info}"
    if first.get("refresh_token"):
        assert_oauth_error(tls_stack.refresh(first["refresh_token"], client_id=C.NATIVE_APP), 400, "invalid_grant")


# --------------------------------------------------------------------------- PKCE


def test_a_challenge_without_its_verifier_is_refused(tls_stack, endpoint):
    walk = FormWalk(tls_stack)
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    r = redeem(tls_stack, code, verifier=None)
    assert r.status_code == 400 and r.json().get("error") in ("invalid_grant", "invalid_request"), \
        f"a code with a challenge redeemed without code_verifier: {r.status_code} {r.text[:200]}"
    assert "access_token" not in r.json()
    # Control: another code with its verifier is redeemed.
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    assert_oauth_json(redeem(tls_stack, code, verifier=verifier), 200)


def test_a_wrong_verifier_is_refused(tls_stack, endpoint):
    walk = FormWalk(tls_stack)
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    other, _ = pkce_pair()
    assert_oauth_error(redeem(tls_stack, code, verifier=other), 400, "invalid_grant")
    # The challenge itself, sent as the verifier (a plain-method downgrade), is wrong too.
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    challenge = query_of(walk.steps[0].url)["code_challenge"]
    assert_oauth_error(redeem(tls_stack, code, verifier=challenge), 400, "invalid_grant")


def test_a_verifier_without_a_challenge_is_refused(tls_stack, endpoint):
    """RFC 9700 §2.1.1: a code issued without code_challenge (allowed for a confidential client)
    is refused when the token request carries a code_verifier."""
    walk = FormWalk(tls_stack)
    code, _, _ = obtain_code(tls_stack, endpoint, walk, client_id=C.WEB_APP, redirect_uri=C.WEB_APP_HTTPS_REDIRECT,
                             challenge=None)
    verifier, _ = pkce_pair()
    r = redeem(tls_stack, code, redirect_uri=C.WEB_APP_HTTPS_REDIRECT, verifier=verifier, auth=web_app_auth())
    assert r.status_code == 400 and r.json().get("error") in ("invalid_grant", "invalid_request"), \
        f"code_verifier for a code without a challenge: {r.status_code} {r.text[:200]}"
    # Control: the confidential client without PKCE at all is served.
    code, _, _ = obtain_code(tls_stack, endpoint, walk, client_id=C.WEB_APP, redirect_uri=C.WEB_APP_HTTPS_REDIRECT,
                             challenge=None)
    assert_oauth_json(redeem(tls_stack, code, redirect_uri=C.WEB_APP_HTTPS_REDIRECT, auth=web_app_auth()), 200)


def _error_redirect(tls_stack, url) -> dict:
    left, r = FormWalk(tls_stack).follow(url)
    assert left is not None, f"no error redirect: HTTP {r.status_code} {page_text(r.text)[:300]!r}"
    assert left.startswith(REDIRECT + "?"), f"error sent to {left!r}"
    q = query_of(left)
    assert "code" not in q, f"a code despite the error: {left}"
    return q


def test_plain_and_missing_challenges_get_an_error_redirect(tls_stack, endpoint):
    # plain is refused (issue 13; RFC 9700 §2.1.1 prefers S256): invalid_request at the redirect.
    url, state, _ = request_url(endpoint, challenge="x" * 43, code_challenge_method="plain")
    q = _error_redirect(tls_stack, url)
    assert q.get("error") == "invalid_request" and q.get("state") == state and q.get("iss") == tls_stack.issuer, q
    # A public client without code_challenge: PKCE is required for it.
    url, state, _ = request_url(endpoint, challenge=None)
    q = _error_redirect(tls_stack, url)
    assert q.get("error") == "invalid_request" and q.get("state") == state, q


# --------------------------------------------------------------------------- client binding


def test_a_code_issued_to_one_client_is_refused_for_another(tls_stack, endpoint):
    walk = FormWalk(tls_stack)
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    # The web app (authenticated, same loopback redirect URI, right verifier) cannot take it.
    assert_oauth_error(redeem(tls_stack, code, verifier=verifier, auth=web_app_auth()), 400, "invalid_grant")
    # And the other way round: the web app's code is not the native app's.
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk, client_id=C.WEB_APP)
    assert_oauth_error(redeem(tls_stack, code, verifier=verifier), 400, "invalid_grant")
    # The redirect URI is bound too (RFC 6749 §4.1.3).
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk)
    assert_oauth_error(redeem(tls_stack, code, verifier=verifier, redirect_uri="http://127.0.0.1:53682/other"),
                       400, "invalid_grant")
    # Control: the right client gets its own code's tokens.
    code, verifier, _ = obtain_code(tls_stack, endpoint, walk, client_id=C.WEB_APP)
    assert_oauth_json(redeem(tls_stack, code, verifier=verifier, auth=web_app_auth()), 200)


# --------------------------------------------------------------------------- prompt=none


def test_prompt_none_without_a_session_is_login_required_at_the_redirect(tls_stack, endpoint):
    url, state, _ = request_url(endpoint, prompt="none")
    q = _error_redirect(tls_stack, url)
    assert q.get("error") == "login_required", f"prompt=none without a session: {q}"
    assert q.get("state") == state and q.get("iss") == tls_stack.issuer, q


# --------------------------------------------------------------------------- CSRF


def test_consent_post_needs_the_csrf_token(tls_stack, endpoint):
    walk = FormWalk(tls_stack)
    url, state, verifier = request_url(endpoint)
    left, r = walk.follow(url)
    assert left is None, left
    left, r = walk.sign_in(r)
    assert left is None and walk.consent_form(r), f"no consent page after signing in: {page_text(r.text)[:300]!r}"
    form = walk.consent_form(r)
    assert "csrf_token" in form["fields"], f"the consent form carries no csrf_token: {form['fields'].keys()}"

    for label, kw in (("without", {"drop": ("csrf_token",)}),
                      ("with a wrong", {"overrides": {"csrf_token": form["fields"]["csrf_token"][:-4] + "AAAA"}}),
                      ("with an empty", {"overrides": {"csrf_token": ""}})):
        out, refused = walk.submit(r, form, button=("action", "approve"), **kw)
        assert out is None, f"consent {label} CSRF token redirected to {out!r}"
        assert refused.status_code == 403, f"consent {label} CSRF token: HTTP {refused.status_code}"
        assert "code=" not in refused.headers.get("Location", "") and "code=" not in refused.text
    # A fresh session's token is not this session's either.
    other = FormWalk(tls_stack)
    _, page = other.follow(request_url(endpoint)[0])
    _, page = other.sign_in(page)
    foreign = other.consent_form(page)["fields"]["csrf_token"]
    out, refused = walk.submit(r, form, button=("action", "approve"), overrides={"csrf_token": foreign})
    assert out is None and refused.status_code == 403, f"another session's CSRF token: {out!r} HTTP {refused.status_code}"

    # Control: the form as the page gave it is accepted.
    out, _ = walk.submit(r, form, button=("action", "approve"))
    assert out and query_of(out).get("state") == state and "code" in query_of(out), f"consent as served: {out!r}"
    assert urllib.parse.urlsplit(out).netloc == "127.0.0.1:53682"
