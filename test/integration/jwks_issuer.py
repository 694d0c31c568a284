#!/usr/bin/python3
"""A throwaway HTTPS identity provider on loopback for test/integration/jwks.sh.

  jwks_issuer.py serve STATE_DIR PORT CERT KEY   serve until killed
  jwks_issuer.py keys STATE_DIR NAME...          make EC P-256 keys NAME.pem + NAME.jwk
  jwks_issuer.py publish STATE_DIR NAME...       serve a JWK Set of these public keys
  jwks_issuer.py mint STATE_DIR NAME ISS SUB     print a token signed by NAME (kid NAME)

Paths served (the issuer is https://127.0.0.1:PORT):
  /.well-known/openid-configuration   discovery document naming /jwks.json
  /jwks.json        STATE_DIR/jwks.json, with STATE_DIR/cache_control as Cache-Control;
                    STATE_DIR/mode = "500" makes it answer 500, "badset" a set
                    with a 1024-bit RSA key
  /status500        HTTP 500               /slow      answers after 30 s
  /big              a 1 MiB JSON body      /notjson   an HTML page
  /badset           a set with a 1024-bit RSA key   /emptyset  {"keys":[]}
  /redirect-same    302 to /jwks.json      /redirect-other  302 to https://localhost:PORT/jwks.json
  /redirect-http    302 to http://127.0.0.1:PORT/jwks.json
Every request is appended to STATE_DIR/hits.log ("<unix time> <path>").
"""
import base64
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

RSA1024 = {"kty": "RSA", "kid": "weak", "e": "AQAB",
           "n": "rJBIp6T1YK-RtPyvYqFFlcucqewSAA_IReSFchE8qyiQrbARqRlXWkB2DR8j_pJQnIpYELbQWZC5Cd0PTGAU8rMbar2AW6zpmBbi7aQf17lUBdt8XI9M9rq7FPVQ1dDdUXm1SVH_9qqWhvMPR422SbfHBEzCAtzK0ANDRo6qz78"}


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default


def serve(state, port, cert, key):
    port = int(port)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="application/json", headers=()):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (size cap): expected

        def redirect(self, location):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            with open(os.path.join(state, "hits.log"), "a") as f:
                f.write("%.3f %s\n" % (time.time(), self.path))
            base = "https://127.0.0.1:%d" % port
            p = self.path
            if p == "/.well-known/openid-configuration":
                self.send(200, json.dumps({"issuer": base, "jwks_uri": base + "/jwks.json",
                                           "id_token_signing_alg_values_supported": ["ES256"]}))
            elif p == "/jwks.json":
                mode = read(os.path.join(state, "mode"))
                if mode == "500":
                    self.send(500, "oops", "text/plain")
                    return
                if mode == "badset":
                    self.send(200, json.dumps({"keys": [RSA1024]}))
                    return
                cc = read(os.path.join(state, "cache_control"))
                self.send(200, read(os.path.join(state, "jwks.json"), '{"keys":[]}'),
                          headers=[("Cache-Control", cc)] if cc else [])
            elif p == "/status500":
                self.send(500, "internal error", "text/plain")
            elif p == "/slow":
                time.sleep(30)
                self.send(200, read(os.path.join(state, "jwks.json")))
            elif p == "/big":
                self.send(200, '{"keys":[],"pad":"' + "x" * (1024 * 1024) + '"}')
            elif p == "/notjson":
                self.send(200, "<html><body>login</body></html>", "text/html")
            elif p == "/badset":
                self.send(200, json.dumps({"keys": [RSA1024]}))
            elif p == "/emptyset":
                self.send(200, '{"keys":[]}')
            elif p == "/redirect-same":
                self.redirect("/jwks.json")
            elif p == "/redirect-other":
                self.redirect("https://localhost:%d/jwks.json" % port)
            elif p == "/redirect-http":
                self.redirect("http://127.0.0.1:%d/jwks.json" % port)
            else:
                self.send(404, "not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def keys(state, *names):
    for name in names:
        private = ec.generate_private_key(ec.SECP256R1())
        with open(os.path.join(state, name + ".pem"), "wb") as f:
            f.write(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        # Coordinates padded to the curve's 32 bytes (RFC 7518 6.2.1.2); some PyJWT
        # versions drop leading zero bytes, which makes about one key in 128 invalid.
        numbers = private.public_key().public_numbers()
        b64 = lambda n: base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64(numbers.x), "y": b64(numbers.y)}
        jwk.update({"kid": name, "alg": "ES256", "use": "sig"})
        with open(os.path.join(state, name + ".jwk"), "w") as f:
            json.dump(jwk, f)


def publish(state, *names):
    members = [json.load(open(os.path.join(state, n + ".jwk"))) for n in names]
    tmp = os.path.join(state, "jwks.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"keys": members}, f)
    os.replace(tmp, os.path.join(state, "jwks.json"))


def mint(state, name, iss, sub):
    with open(os.path.join(state, name + ".pem"), "rb") as f:
        key = f.read()
    print(jwt.encode({"iss": iss, "sub": sub, "exp": int(time.time()) + 3600}, key,
                     algorithm="ES256", headers={"kid": name}))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "keys": keys, "publish": publish, "mint": mint}[command](*args)
