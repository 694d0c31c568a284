#!/usr/bin/python3
"""A throwaway OAuth 2.0 / OpenID Connect identity provider on loopback, for
test/integration/oauth.sh: what psql's device flow (libpq-oauth) and rowguard's key
fetcher talk to. It answers the way Keycloak does (paths, JSON members, error codes and
descriptions), realm by realm, over HTTPS with a certificate made by the test (openssl).

  oauth_issuer.py init STATE BASE_URL             configuration (BASE_URL https://127.0.0.1:PORT)
  oauth_issuer.py realm STATE REALM               a realm: an RS256 signing key and an
                                                  RSA-OAEP encryption key, both published
  oauth_issuer.py client STATE REALM ID JSON      register a client, e.g.
        '{"public": true, "device": true, "audience": ["rowguard-db"],
          "default_scopes": ["profile", "email"], "optional_scopes": ["rowguard"]}'
        or a confidential one with "secret" and "service_account" (claims for the
        client_credentials grant)
  oauth_issuer.py user STATE REALM NAME JSON      a user and the claims its tokens carry
        (e.g. '{"sub": "<uuid>", "tenant_id": "<uuid>", "db_role": "analyst"}')
  oauth_issuer.py set STATE NAME VALUE            interval (s, default 1), device_expires_in
                                                  (600), access_token_lifespan (300)
  oauth_issuer.py rotate STATE REALM              new signing key; the old one stays
                                                  published (passive, as Keycloak keeps it);
                                                  prints the new kid
  oauth_issuer.py publish STATE REALM KID...      publish exactly these signing keys (and
                                                  the encryption key)
  oauth_issuer.py approve STATE USER_CODE NAME [JSON]   what the user does in the browser:
        open the verification page, sign in as NAME, accept. JSON: changes to the claims
        of the token this approval yields (a null removes a claim) and test knobs:
        "_lifetime" (seconds), "_kid" (sign with this key), "_realm_key" (sign with
        another realm's current key), "_slow_down" (answer slow_down to that many polls)
  oauth_issuer.py deny STATE USER_CODE NAME       the user declines
  oauth_issuer.py mint STATE REALM NAME [JSON]    print the access token an approval for
                                                  NAME would yield (for applications that
                                                  hold a token: test/oauth/bearer_hook.c)
  oauth_issuer.py serve STATE PORT CERT KEY       serve until killed

Paths (ISS = BASE_URL/realms/REALM, as Keycloak 17+):
  ISS/.well-known/openid-configuration, ISS/.well-known/oauth-authorization-server and
  BASE_URL/.well-known/oauth-authorization-server/realms/REALM (RFC 8414)   metadata
  ISS/protocol/openid-connect/certs          JWK Set
  ISS/protocol/openid-connect/auth/device    device authorization (RFC 8628 3.1)
  ISS/protocol/openid-connect/token          device_code and client_credentials grants
  ISS/device                                 the verification page (GET form, POST)
Every request is appended to STATE/hits.log ("<unix time> <method> <path>"); every token
issued to STATE/issued.jsonl (jti, sub, kid, exp; never the token).
"""
import base64
import hashlib
import html
import json
import os
import secrets
import ssl
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# --- state files ----------------------------------------------------------------------------
def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save(path, value):
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
    os.replace(tmp, path)


def config(state):
    c = {"interval": 1, "device_expires_in": 600, "access_token_lifespan": 300}
    c.update(load(os.path.join(state, "config.json"), {}))
    return c


def realm_dir(state, realm):
    return os.path.join(state, "realms", realm)


def issuer_of(state, realm):
    return config(state)["base"] + "/realms/" + realm


# --- keys -----------------------------------------------------------------------------------
def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def new_key(state, realm, use):
    """An RSA 2048 key with a self-signed certificate, as Keycloak's rsa-generated provider
    makes; returns its kid (random, 43 base64url characters like Keycloak's)."""
    d = realm_dir(state, realm)
    kid = b64u(secrets.token_bytes(32))
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, realm)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=2))
            .sign(private, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    pub = private.public_key().public_numbers()
    jwk = {"kid": kid, "kty": "RSA", "alg": "RS256" if use == "sig" else "RSA-OAEP", "use": use,
           "n": int_b64u(pub.n), "e": int_b64u(pub.e),
           "x5c": [base64.b64encode(der).decode()],
           "x5t": b64u(hashlib.sha1(der).digest()),
           "x5t#S256": b64u(hashlib.sha256(der).digest())}
    with open(os.path.join(d, "keys", kid + ".pem"), "wb") as f:
        f.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    save(os.path.join(d, "keys", kid + ".jwk"), jwk)
    return kid


def publish_set(state, realm, kids):
    d = realm_dir(state, realm)
    meta = load(os.path.join(d, "realm.json"))
    members = [load(os.path.join(d, "keys", k + ".jwk")) for k in kids]
    members.append(load(os.path.join(d, "keys", meta["enc"] + ".jwk")))
    for m in members:
        if m is None:
            sys.exit("oauth_issuer: no such key in realm %s" % realm)
    save(os.path.join(d, "jwks.json"), {"keys": members})


# --- tokens ---------------------------------------------------------------------------------
def granted_scope(client, requested):
    words = ["openid"] if "openid" in requested else []
    words += client.get("default_scopes", ["profile", "email"])
    words += [w for w in requested if w in client.get("optional_scopes", [])]
    seen = []
    for w in words:
        if w not in seen:
            seen.append(w)
    return " ".join(seen)


def build_token(state, realm, client_id, client, base_claims, scope, overrides):
    """Sign an access token the way Keycloak shapes one; overrides change claims (None
    removes one) and carry the _knobs described in the module's docstring."""
    c = config(state)
    d = realm_dir(state, realm)
    meta = load(os.path.join(d, "realm.json"))
    overrides = dict(overrides or {})
    lifetime = int(overrides.pop("_lifetime", c["access_token_lifespan"]))
    kid = overrides.pop("_kid", None)
    key_realm = overrides.pop("_realm_key", realm)
    overrides.pop("_slow_down", None)
    if kid is None:
        kid = load(os.path.join(realm_dir(state, key_realm), "realm.json"))["signing"]
    with open(os.path.join(realm_dir(state, key_realm), "keys", kid + ".pem"), "rb") as f:
        private = f.read()
    now = int(time.time())
    claims = {"exp": now + lifetime, "iat": now, "auth_time": now, "jti": str(uuid.uuid4()),
              "iss": issuer_of(state, realm), "aud": client.get("audience", ["account"]),
              "typ": "Bearer", "azp": client_id, "sid": str(uuid.uuid4()), "acr": "1",
              "realm_access": {"roles": ["offline_access", "uma_authorization",
                                         "default-roles-" + realm]},
              "scope": scope, "email_verified": False}
    if isinstance(claims["aud"], list) and len(claims["aud"]) == 1:
        claims["aud"] = claims["aud"][0]
    claims.update(base_claims)
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
    with open(os.path.join(state, "issued.jsonl"), "a") as f:
        f.write(json.dumps({"realm": realm, "jti": claims.get("jti"), "sub": claims.get("sub"),
                            "kid": kid, "exp": claims.get("exp"), "client": client_id}) + "\n")
    return token, lifetime, meta


def user_claims(state, realm, name):
    users = load(os.path.join(realm_dir(state, realm), "users.json"), {})
    if name not in users:
        return None
    claims = {"preferred_username": name}
    claims.update(users[name])
    return claims


# --- the server -----------------------------------------------------------------------------
def serve(state, port, cert, key):
    port = int(port)
    devices = {}        # device_code -> dict
    lock = threading.Lock()

    def user_code():
        letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
        return letters[:4] + "-" + letters[4:]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="application/json", headers=()):
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Pragma", "no-cache")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

        def oauth_error(self, status, error, description):
            self.send(status, {"error": error, "error_description": description})

        def hit(self):
            with open(os.path.join(state, "hits.log"), "a") as f:
                f.write("%.3f %s %s\n" % (time.time(), self.command, self.path))

        def form(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

        def route(self):
            """(realm, rest) for a path under /realms/REALM, else (None, path)."""
            path = urllib.parse.urlsplit(self.path).path
            prefix = "/.well-known/oauth-authorization-server/realms/"
            if path.startswith(prefix):
                return path[len(prefix):], "/.well-known/openid-configuration"
            if path.startswith("/realms/"):
                realm, _, rest = path[len("/realms/"):].partition("/")
                if os.path.isdir(realm_dir(state, realm)):
                    return realm, "/" + rest
            return None, path

        def not_found(self):
            self.send(404, {"error": "Unable to find matching target resource method"})

        def client(self, realm, f):
            """The client of a token/device request (HTTP Basic or form), or None after
            answering 401 as Keycloak does."""
            clients = load(os.path.join(realm_dir(state, realm), "clients.json"), {})
            cid, secret = f.get("client_id"), f.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                cid, secret = urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(pw)
            c = clients.get(cid or "")
            if c is None or (not c.get("public") and c.get("secret") != secret):
                self.oauth_error(401, "invalid_client", "Invalid client or Invalid client credentials")
                return None, None
            return cid, c

        def do_GET(self):
            self.hit()
            realm, rest = self.route()
            if realm is None:
                return self.not_found()
            iss = issuer_of(state, realm)
            if rest in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
                oidc = iss + "/protocol/openid-connect"
                self.send(200, {
                    "issuer": iss,
                    "authorization_endpoint": oidc + "/auth",
                    "token_endpoint": oidc + "/token",
                    "introspection_endpoint": oidc + "/token/introspect",
                    "userinfo_endpoint": oidc + "/userinfo",
                    "end_session_endpoint": oidc + "/logout",
                    "jwks_uri": oidc + "/certs",
                    "check_session_iframe": oidc + "/login-status-iframe.html",
                    "grant_types_supported": ["authorization_code", "client_credentials", "implicit",
                                              "password", "refresh_token",
                                              "urn:ietf:params:oauth:grant-type:device_code",
                                              "urn:ietf:params:oauth:grant-type:token-exchange",
                                              "urn:openid:params:grant-type:ciba"],
                    "response_types_supported": ["code", "none", "id_token", "token", "id_token token",
                                                 "code id_token", "code token", "code id_token token"],
                    "subject_types_supported": ["public", "pairwise"],
                    "id_token_signing_alg_values_supported": ["PS384", "RS384", "EdDSA", "ES384", "HS256",
                                                              "HS512", "ES256", "RS256", "HS384", "ES512",
                                                              "PS256", "PS512", "RS512"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic",
                                                              "client_secret_post", "tls_client_auth",
                                                              "client_secret_jwt"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access", "rowguard"],
                    "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name",
                                         "family_name", "preferred_username", "email", "acr"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                    "device_authorization_endpoint": oidc + "/auth/device",
                    "require_pushed_authorization_requests": False,
                })
            elif rest == "/protocol/openid-connect/certs":
                self.send(200, load(os.path.join(realm_dir(state, realm), "jwks.json")))
            elif rest == "/device":
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("user_code", [""])[0]
                self.send(200, "<html><body><form method='post'>Device login<br>"
                               "<input name='user_code' value='%s'><input name='username'>"
                               "<button name='action' value='approve'>Yes</button>"
                               "<button name='action' value='deny'>No</button></form></body></html>"
                          % html.escape(code), "text/html;charset=utf-8")
            else:
                self.not_found()

        def do_POST(self):
            self.hit()
            realm, rest = self.route()
            if realm is None:
                return self.not_found()
            f = self.form()
            if rest == "/protocol/openid-connect/auth/device":
                cid, c = self.client(realm, f)
                if c is None:
                    return
                if not c.get("device"):
                    return self.oauth_error(400, "unauthorized_client",
                                            "Client is not allowed to initiate OAuth 2.0 Device "
                                            "Authorization Grant. The flow is disabled for the client.")
                cfg = config(state)
                device_code = secrets.token_urlsafe(48)
                d = {"realm": realm, "client": cid, "scope": f.get("scope", "").split(),
                     "user_code": user_code(), "expires": time.time() + cfg["device_expires_in"],
                     "status": "pending", "last_poll": 0.0, "interval": cfg["interval"]}
                with lock:
                    devices[device_code] = d
                verify = issuer_of(state, realm) + "/device"
                self.send(200, {"device_code": device_code, "user_code": d["user_code"],
                                "verification_uri": verify,
                                "verification_uri_complete": verify + "?user_code=" + d["user_code"],
                                "expires_in": cfg["device_expires_in"], "interval": cfg["interval"]})
            elif rest == "/protocol/openid-connect/token":
                cid, c = self.client(realm, f)
                if c is None:
                    return
                grant = f.get("grant_type")
                if grant == DEVICE_GRANT:
                    self.device_token(realm, cid, c, f.get("device_code", ""))
                elif grant == "client_credentials":
                    if c.get("public") or "service_account" not in c:
                        return self.oauth_error(400, "unauthorized_client",
                                                "Client not enabled to retrieve service account")
                    scope = granted_scope(c, f.get("scope", "").split())
                    claims = {"sub": c["service_account"].get("sub", str(uuid.uuid5(uuid.NAMESPACE_URL, cid))),
                              "preferred_username": "service-account-" + cid}
                    claims.update(c["service_account"])
                    token, life, _ = build_token(state, realm, cid, c, claims, scope, {})
                    self.send(200, {"access_token": token, "expires_in": life, "refresh_expires_in": 0,
                                    "token_type": "Bearer", "not-before-policy": 0, "scope": scope})
                else:
                    self.oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
            elif rest == "/device":
                code = f.get("user_code", "").strip().upper()
                with lock:
                    match = [d for d in devices.values()
                             if d["user_code"] == code and d["realm"] == realm and d["status"] == "pending"]
                    if not match or match[0]["expires"] < time.time():
                        return self.send(400, "<html><body>Invalid code, please try again.</body></html>",
                                         "text/html;charset=utf-8")
                    d = match[0]
                    if f.get("action") == "deny":
                        d["status"] = "denied"
                        return self.send(200, "<html><body>Consent denied.</body></html>",
                                         "text/html;charset=utf-8")
                    claims = user_claims(state, realm, f.get("username", ""))
                    if claims is None:
                        return self.send(200, "<html><body>Invalid username or password.</body></html>",
                                         "text/html;charset=utf-8")
                    d["status"] = "approved"
                    d["claims"] = claims
                    d["overrides"] = json.loads(f.get("overrides") or "{}")
                    d["slow_down"] = int(d["overrides"].get("_slow_down", 0))
                self.send(200, "<html><body>Device Login Successful</body></html>", "text/html;charset=utf-8")
            else:
                self.not_found()

        def device_token(self, realm, cid, c, device_code):
            with lock:
                d = devices.get(device_code)
                if d is None or d["realm"] != realm or d["client"] != cid:
                    return self.oauth_error(400, "invalid_grant", "Device code not valid")
                now = time.time()
                if d["status"] == "used":
                    return self.oauth_error(400, "invalid_grant", "Device code not valid")
                if d["expires"] < now:
                    return self.oauth_error(400, "expired_token", "Device code is expired")
                # RFC 8628 3.5: polling faster than the interval is answered slow_down, and
                # the client adds 5 s to its interval (so does this server's bookkeeping).
                too_fast = now - d["last_poll"] < d["interval"] - 0.2
                d["last_poll"] = now
                if too_fast or d.get("slow_down", 0) > 0:
                    if not too_fast:
                        d["slow_down"] -= 1
                    d["interval"] += 5
                    with open(os.path.join(state, "slow_down.log"), "a") as f:
                        f.write("%.3f %s\n" % (now, d["user_code"]))
                    return self.oauth_error(400, "slow_down", "Slow down")
                if d["status"] == "pending":
                    return self.oauth_error(400, "authorization_pending",
                                            "The authorization request is still pending")
                if d["status"] == "denied":
                    d["status"] = "used"
                    return self.oauth_error(400, "access_denied",
                                            "The end user denied the authorization request")
                d["status"] = "used"
                claims, overrides, scope_req = d["claims"], d["overrides"], d["scope"]
            scope = overrides.pop("scope", None) or granted_scope(c, scope_req)
            token, life, _ = build_token(state, realm, cid, c, claims, scope, overrides)
            self.send(200, {"access_token": token, "expires_in": life, "refresh_expires_in": 1800,
                            "refresh_token": secrets.token_urlsafe(64), "token_type": "Bearer",
                            "not-before-policy": 0, "session_state": str(uuid.uuid4()), "scope": scope})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


# --- commands -------------------------------------------------------------------------------
def cmd_init(state, base):
    os.makedirs(os.path.join(state, "realms"), exist_ok=True)
    c = load(os.path.join(state, "config.json"), {})
    c["base"] = base.rstrip("/")
    save(os.path.join(state, "config.json"), c)


def cmd_set(state, name, value):
    c = load(os.path.join(state, "config.json"), {})
    c[name] = int(value)
    save(os.path.join(state, "config.json"), c)


def cmd_realm(state, realm):
    d = realm_dir(state, realm)
    os.makedirs(os.path.join(d, "keys"), exist_ok=True)
    sig = new_key(state, realm, "sig")
    enc = new_key(state, realm, "enc")
    save(os.path.join(d, "realm.json"), {"signing": sig, "enc": enc})
    publish_set(state, realm, [sig])
    print(sig)


def cmd_client(state, realm, cid, spec):
    path = os.path.join(realm_dir(state, realm), "clients.json")
    clients = load(path, {})
    clients[cid] = json.loads(spec)
    save(path, clients)


def cmd_user(state, realm, name, claims):
    path = os.path.join(realm_dir(state, realm), "users.json")
    users = load(path, {})
    users[name] = json.loads(claims)
    save(path, users)


def cmd_rotate(state, realm):
    d = realm_dir(state, realm)
    meta = load(os.path.join(d, "realm.json"))
    published = [k["kid"] for k in load(os.path.join(d, "jwks.json"))["keys"] if k.get("use") == "sig"]
    kid = new_key(state, realm, "sig")
    meta["signing"] = kid
    save(os.path.join(d, "realm.json"), meta)
    publish_set(state, realm, [kid] + published)
    print(kid)


def cmd_publish(state, realm, *kids):
    publish_set(state, realm, list(kids))


def browser(state, realm, fields):
    """POST the verification form as a browser would, trusting the test's CA."""
    url = issuer_of(state, realm) + "/device"
    ctx = ssl.create_default_context(cafile=os.path.join(state, "ca.pem"))
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(url, data, context=ctx, timeout=10) as r:
            body = r.read().decode()
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    if "Successful" not in body and "denied" not in body:
        sys.exit("oauth_issuer: the verification page answered: " + body)


def cmd_approve(state, code, name, overrides="{}", realm="rowguard"):
    browser(state, realm, {"user_code": code, "username": name, "action": "approve",
                           "overrides": overrides})


def cmd_deny(state, code, name, realm="rowguard"):
    browser(state, realm, {"user_code": code, "username": name, "action": "deny"})


def cmd_mint(state, realm, name, overrides="{}", client_id="psql"):
    clients = load(os.path.join(realm_dir(state, realm), "clients.json"), {})
    c = clients[client_id]
    claims = user_claims(state, realm, name)
    if claims is None:
        sys.exit("oauth_issuer: no user %s in realm %s" % (name, realm))
    ov = json.loads(overrides)
    scope = ov.pop("scope", None) or granted_scope(c, ["openid"] + c.get("optional_scopes", []))
    token, _, _ = build_token(state, realm, client_id, c, claims, scope, ov)
    print(token)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"init": cmd_init, "set": cmd_set, "realm": cmd_realm, "client": cmd_client, "user": cmd_user,
     "rotate": cmd_rotate, "publish": cmd_publish, "approve": cmd_approve, "deny": cmd_deny,
     "mint": cmd_mint, "serve": serve}[command](*args)
