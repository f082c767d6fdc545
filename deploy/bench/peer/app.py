"""The Authlib peer of issue 15: a small RFC 8628 device authorization server on Authlib,
Flask and gunicorn, with SQLite storage, for deploy/bench/peer.sh to compare complete flows
per second with devicegate's.

Endpoints, shaped like devicegate's so that deploy/bench/flows.py --approve web drives both
unchanged:

  POST /application/o/device/   RFC 8628 §3.1-3.2 device authorization (Authlib's
                                DeviceAuthorizationEndpoint), public client demo-tv
  POST /application/o/token/    RFC 8628 §3.4-3.5 device access token request (Authlib's
                                DeviceCodeGrant): authorization_pending, slow_down, expired,
                                access_denied, or a bearer token; the device code is deleted in
                                the transaction that stores the token (redeemed once)
  GET  /device                  the verification page (RFC 8628 §3.3): a CSRF token
  POST /device/signin           password sign-in of the demo user, a session cookie
  POST /device                  the consent page for a user code, bound to its flow
  POST /device/decision         approve or deny, stored durably before 200

Storage: one SQLite file (PEER_DB), journal_mode=WAL and synchronous=FULL, so an answered
device authorization or decision has been fsynced, as devicegate's are. One connection per
worker process. Standard Authlib otherwise; nothing here is tuned.
"""

import hashlib
import hmac
import os
import secrets
import sqlite3
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict
from flask import Flask, abort, make_response, request

DB_PATH = os.environ.get("PEER_DB", "peer.sqlite3")
ISSUER = os.environ.get("PEER_ISSUER", "http://127.0.0.1/")
CLIENT_ID = "demo-tv"
DEMO_USER = os.environ.get("PEER_USER", "demo")
DEMO_PASSWORD = os.environ.get("PEER_PASSWORD", "demo-password")
EXPIRES_IN, INTERVAL = 600, 5
SCHEMA = """
CREATE TABLE IF NOT EXISTS device_credentials (
    device_code TEXT PRIMARY KEY, user_code TEXT UNIQUE NOT NULL, client_id TEXT NOT NULL,
    scope TEXT, expires_at REAL NOT NULL, interval INTEGER NOT NULL, last_poll REAL);
CREATE TABLE IF NOT EXISTS user_grants (
    user_code TEXT PRIMARY KEY, subject TEXT NOT NULL, approved INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    access_token TEXT PRIMARY KEY, client_id TEXT NOT NULL, subject TEXT, scope TEXT,
    issued_at REAL NOT NULL, expires_in INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, subject TEXT NOT NULL, csrf TEXT NOT NULL);
"""

_db = {"pid": None, "conn": None}


def db():
    """This process's connection (gunicorn forks the workers after importing the app)."""
    if _db["pid"] != os.getpid():
        conn = sqlite3.connect(DB_PATH, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        _db.update(pid=os.getpid(), conn=conn)
    return _db["conn"]


def init_db():
    conn = db()
    conn.executescript(SCHEMA)
    _db.update(pid=None, conn=None)
    conn.close()


class Client(ClientMixin):
    """The one public client, demo-tv (token_endpoint_auth_method none)."""

    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile"))

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "none"

    def check_token_endpoint_auth_method(self, method):
        return method == "none"

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == DeviceCodeGrant.GRANT_TYPE


CLIENT = Client()


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    """RFC 8628 §3.1-3.2, stored durably before the answer."""

    CLIENT_AUTH_METHODS = ["none"]
    EXPIRES_IN, INTERVAL = EXPIRES_IN, INTERVAL

    def get_verification_uri(self):
        return ISSUER.rstrip("/") + "/device"

    def save_device_credential(self, client_id, scope, data):
        db().execute("INSERT INTO device_credentials VALUES (?, ?, ?, ?, ?, ?, NULL)",
                     (data["device_code"], data["user_code"], client_id, scope,
                      time.time() + data["expires_in"], data["interval"]))


class DeviceGrant(DeviceCodeGrant):
    """RFC 8628 §3.4-3.5 on the rows above."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def query_device_credential(self, device_code):
        row = db().execute("SELECT device_code, user_code, client_id, scope, expires_at, interval, last_poll"
                           " FROM device_credentials WHERE device_code = ?", (device_code,)).fetchone()
        if row is None:
            return None
        keys = ("device_code", "user_code", "client_id", "scope", "expires_at", "interval", "last_poll")
        return DeviceCredentialDict(zip(keys, row))

    def query_user_grant(self, user_code):
        row = db().execute("SELECT subject, approved FROM user_grants WHERE user_code = ?", (user_code,)).fetchone()
        return None if row is None else (row[0], bool(row[1]))

    def should_slow_down(self, credential):
        """§3.5: polled again within the interval. Each pending poll records its time."""
        now = time.time()
        db().execute("UPDATE device_credentials SET last_poll = ? WHERE device_code = ?",
                     (now, credential["device_code"]))
        last = credential.get("last_poll")
        return last is not None and now - last < credential["interval"]

    def save_token(self, token):
        credential = self.request.credential
        conn = db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = conn.execute("DELETE FROM device_credentials WHERE device_code = ?",
                                (credential["device_code"],)).rowcount
            if gone != 1:   # redeemed by a concurrent request: exactly once
                raise InvalidRequestError("Invalid 'device_code' in payload")
            conn.execute("DELETE FROM user_grants WHERE user_code = ?", (credential["user_code"],))
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
                         (token["access_token"], CLIENT_ID, self.request.user, token.get("scope"),
                          time.time(), token["expires_in"]))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


app = Flask(__name__)
server = AuthorizationServer(app, query_client=lambda cid: CLIENT if cid == CLIENT_ID else None,
                             save_token=lambda token, req: None)
server.register_grant(DeviceGrant)
server.register_endpoint(DeviceAuthorization)


@app.post("/application/o/device/")
def device_authorization():
    return server.create_endpoint_response(DeviceAuthorization.ENDPOINT_NAME)


@app.post("/application/o/token/")
def token():
    return server.create_token_response()


# ---- The verification page, in the shape flows.py --approve web expects ----------------

def page(body):
    return f"<!doctype html><html><body>{body}</body></html>"


def session():
    sid = request.cookies.get("devicegate_session")
    if not sid:
        return None
    row = db().execute("SELECT subject, csrf FROM sessions WHERE id = ?", (sid,)).fetchone()
    return row


def checked_session():
    row = session()
    if row is None or not hmac.compare_digest(row[1], request.form.get("csrf_token", "")):
        abort(403)
    return row


@app.get("/device")
def verification_page():
    row = session()
    csrf = row[1] if row else secrets.token_urlsafe(24)
    return page(f'<form method="post"><input name="csrf_token" value="{csrf}"><input name="user_code"></form>')


PASSWORD_SALT = secrets.token_bytes(16)
PASSWORD_HASH = hashlib.scrypt(DEMO_PASSWORD.encode(), salt=PASSWORD_SALT, n=2**14, r=8, p=1)


@app.post("/device/signin")
def signin():
    given = hashlib.scrypt(request.form.get("password", "").encode(), salt=PASSWORD_SALT, n=2**14, r=8, p=1)
    if request.form.get("username") != DEMO_USER or not hmac.compare_digest(given, PASSWORD_HASH):
        return page("wrong username or password"), 401
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    db().execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, DEMO_USER, csrf))
    resp = make_response("", 303)
    resp.headers["Location"] = "/device"
    resp.set_cookie("devicegate_session", sid, httponly=True, samesite="Lax")
    return resp


@app.post("/device")
def consent():
    subject, csrf = checked_session()
    user_code = request.form.get("user_code", "")
    row = db().execute("SELECT device_code, expires_at FROM device_credentials WHERE user_code = ?",
                       (user_code,)).fetchone()
    if row is None or row[1] < time.time():
        return page("unknown or expired code"), 400
    binding = hashlib.sha256(row[0].encode()).hexdigest()
    return page(f'<form method="post" action="/device/decision"><input name="csrf_token" value="{csrf}">'
                f'<input name="user_code" value="{user_code}"><input name="flow" value="{binding}">'
                f'<button name="action" value="approve">Allow</button>'
                f'<button name="action" value="deny">Deny</button></form>')


@app.post("/device/decision")
def decision():
    subject, _ = checked_session()
    user_code = request.form.get("user_code", "")
    row = db().execute("SELECT device_code FROM device_credentials WHERE user_code = ?", (user_code,)).fetchone()
    if row is None or not hmac.compare_digest(hashlib.sha256(row[0].encode()).hexdigest(),
                                              request.form.get("flow", "")):
        return page("this code is no longer waiting"), 400
    approved = 1 if request.form.get("action") == "approve" else 0
    db().execute("INSERT OR IGNORE INTO user_grants VALUES (?, ?, ?)", (user_code, subject, approved))
    return page("done")


init_db()
