"""Discovery conformance (issue 13): the document of the https stack against OpenID Connect
Discovery 1.0 §3 (REQUIRED and the RECOMMENDED members devicegate claims), RFC 8414 §2 and
RFC 9207 §3, and every endpoint it advertises answers (none is a 404 or an HTML error)."""

import urllib.parse

import pytest
import requests

from harness import DEVICE_GRANT, HTTP_TIMEOUT, InteropClients, assert_oauth_error

#: The grant types the https stack's clients allow, as the token endpoint names them: the demo
#: clients and the interop ones (harness.interop_clients).
CONFIGURED_GRANTS = {DEVICE_GRANT, "refresh_token", "authorization_code", "client_credentials"}


@pytest.fixture(scope="module")
def discovery(tls_stack):
    url = tls_stack.issuer + ".well-known/openid-configuration"
    r = tls_stack.http.get(url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"discovery at {url}: HTTP {r.status_code} {r.text[:300]}"
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json", r.headers
    return r.json()


def test_required_members_of_oidc_discovery(tls_stack, discovery):
    """OIDC Discovery 1.0 §3: issuer (§4.3: identical to the URL the document was fetched
    under), authorization_endpoint, token_endpoint (not implicit-only), jwks_uri,
    response_types_supported (with "code", the flow devicegate serves), subject_types_supported,
    id_token_signing_alg_values_supported (with RS256, which §3 requires)."""
    d = discovery
    assert d.get("issuer") == tls_stack.issuer, f"issuer {d.get('issuer')!r} differs from {tls_stack.issuer!r} (§4.3)"
    assert tls_stack.issuer.startswith("https://") and urllib.parse.urlsplit(tls_stack.issuer).path.strip("/"), \
        "the stack's issuer must be https with a path (what MSAL needs)"
    for member in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = d.get(member)
        assert isinstance(value, str) and value.startswith("https://127.0.0.1:"), f"{member} missing or not https: {value!r}"
    assert isinstance(d.get("response_types_supported"), list) and d["response_types_supported"], \
        f"response_types_supported must be a non-empty list: {d.get('response_types_supported')!r}"
    assert "code" in d["response_types_supported"], d["response_types_supported"]
    assert isinstance(d.get("subject_types_supported"), list) and d["subject_types_supported"], d.get("subject_types_supported")
    assert set(d["subject_types_supported"]) <= {"public", "pairwise"}, d["subject_types_supported"]
    algs = d.get("id_token_signing_alg_values_supported")
    assert isinstance(algs, list) and "RS256" in algs, f"id_token_signing_alg_values_supported needs RS256: {algs!r}"
    assert "none" not in algs, "unsigned id_tokens are never issued"


def test_recommended_members_devicegate_claims(discovery):
    """OIDC Discovery 1.0 §3 RECOMMENDED: userinfo_endpoint, scopes_supported (with openid,
    which §3 says the server MUST support if it lists scopes), claims_supported."""
    d = discovery
    assert isinstance(d.get("userinfo_endpoint"), str) and d["userinfo_endpoint"].startswith("https://"), d.get("userinfo_endpoint")
    assert "openid" in d.get("scopes_supported", []), f"scopes_supported without openid: {d.get('scopes_supported')!r}"
    for scope in ("profile", "email", "offline_access", *InteropClients.SERVICE_SCOPES):
        assert scope in d["scopes_supported"], f"{scope} is allowed to a client but not in scopes_supported"
    claims = d.get("claims_supported")
    assert isinstance(claims, list) and {"sub", "iss", "aud", "exp", "iat"} <= set(claims), claims
    assert {"email", "name"} <= set(claims), f"profile and email are offered, their claims are not listed: {claims}"


def test_rfc8414_and_rfc9207_members(discovery):
    """RFC 8414 §2: code_challenge_methods_supported is exactly S256 (plain is refused, issue
    13), grant_types_supported is what the configured clients allow, no more (discovery lists
    only what is supported); response_modes_supported is query and form_post. RFC 9207 §3: the iss flag."""
    d = discovery
    assert d.get("code_challenge_methods_supported") == ["S256"], d.get("code_challenge_methods_supported")
    assert set(d.get("grant_types_supported", [])) == CONFIGURED_GRANTS, \
        f"grant_types_supported {d.get('grant_types_supported')} != the clients' {sorted(CONFIGURED_GRANTS)}"
    assert "implicit" not in d["grant_types_supported"] and "password" not in d["grant_types_supported"]
    assert d.get("response_modes_supported") == ["query", "form_post"], d.get("response_modes_supported")
    assert d.get("authorization_response_iss_parameter_supported") is True, \
        "authorization_response_iss_parameter_supported must be true (RFC 9207 §3)"
    assert {"none", "login", "consent"} <= set(d.get("prompt_values_supported", [])), d.get("prompt_values_supported")
    methods = set(d.get("token_endpoint_auth_methods_supported", []))
    assert {"none", "client_secret_basic", "client_secret_post"} <= methods, methods
    assert d.get("device_authorization_endpoint", "").startswith("https://"), "RFC 8628 §4: device_authorization_endpoint"


def test_endpoints_are_under_the_issuers_origin(tls_stack, discovery):
    origin = tls_stack.base + "/"
    for member, value in discovery.items():
        if member.endswith("_endpoint") or member == "jwks_uri":
            assert value.startswith(origin), f"{member} {value!r} is not on the issuer's origin {origin}"


def _json(r: requests.Response) -> dict:
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json", \
        f"{r.request.method} {r.url}: HTTP {r.status_code} with Content-Type {r.headers.get('Content-Type')!r}: {r.text[:200]}"
    return r.json()


def test_every_advertised_endpoint_answers(tls_stack, discovery):
    """Each URL the document names is served (no 404, no nginx error page): OAuth endpoints
    answer a request without credentials with an RFC 6749 §5.2 / RFC 6750 §3 JSON error,
    the JWK Set and the pages answer GET."""
    d, http = discovery, tls_stack.http
    advertised = {k for k in d if k.endswith("_endpoint") or k == "jwks_uri"}
    checked = set()

    r = http.get(d["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and _json(r).get("keys"), f"jwks_uri: HTTP {r.status_code} {r.text[:200]}"
    assert all(k.get("kty") and k.get("kid") for k in r.json()["keys"])
    checked.add("jwks_uri")

    assert_oauth_error(http.post(d["token_endpoint"], data={"grant_type": "authorization_code"}, timeout=HTTP_TIMEOUT),
                       400, "invalid_request")
    checked.add("token_endpoint")
    assert_oauth_error(http.post(d["device_authorization_endpoint"], data={}, timeout=HTTP_TIMEOUT), 400, "invalid_request")
    checked.add("device_authorization_endpoint")
    r = http.post(d["introspection_endpoint"], data={"token": "x"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 401 and _json(r).get("error") == "invalid_client", f"introspection: {r.status_code} {r.text[:200]}"
    checked.add("introspection_endpoint")
    r = http.post(d["revocation_endpoint"], data={}, timeout=HTTP_TIMEOUT)
    assert r.status_code in (400, 401) and _json(r).get("error") in ("invalid_request", "invalid_client"), \
        f"revocation: {r.status_code} {r.text[:200]}"
    checked.add("revocation_endpoint")
    r = http.get(d["userinfo_endpoint"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", ""), \
        f"userinfo without a token: {r.status_code} {r.headers.get('WWW-Authenticate')!r}"
    checked.add("userinfo_endpoint")

    # The authorization endpoint with no parameters: a readable page (no client to redirect
    # to, RFC 6749 §4.1.2.1), not a 404 and never a redirect.
    r = http.get(d["authorization_endpoint"], allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers, \
        f"authorization_endpoint without parameters: HTTP {r.status_code} {r.headers.get('Location')!r} {r.text[:200]}"
    assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers.get("Content-Type")
    checked.add("authorization_endpoint")

    # RP-initiated logout without parameters: it answers (a page or a redirect to the
    # sign-out confirmation), not 404 and never a redirect off the issuer's origin.
    r = http.get(d["end_session_endpoint"], allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert r.status_code != 404 and r.status_code < 500, f"end_session_endpoint: HTTP {r.status_code} {r.text[:200]}"
    if "Location" in r.headers:
        assert urllib.parse.urljoin(d["end_session_endpoint"], r.headers["Location"]).startswith(tls_stack.base + "/"), \
            f"end_session_endpoint without post_logout_redirect_uri redirected to {r.headers['Location']!r}"
    checked.add("end_session_endpoint")

    assert advertised <= checked, f"advertised but not checked here: {sorted(advertised - checked)}"
