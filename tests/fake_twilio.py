"""A local fake of the part of Twilio's REST API we use, so the tests run the real SDK over
real HTTP and never the internet.

POST /2010-04-01/Accounts/{sid}/Messages.json  (form: To, From, Body) -> 201 with a sid
GET  /2010-04-01/Accounts/{sid}.json           -> 200 (the breaker's probe)

Each request takes the next mode from `script` (then `mode`): "ok", "429", "500", "drop"
(close the connection without an answer), "invalid" (400, code 21211), "unsubscribed" (400,
code 21610), "slow" (answer after `delay` seconds), "hold" (accept the message, set `held`,
then keep the answer back for `delay` seconds: its sender can be killed in between).
`stop()` takes the server down (connection refused) and `start()` brings it back on the same
port. A message whose idempotency key was
already accepted is answered with the same sid and not delivered again (`delivered`).
"""

import base64
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from notifications.sms.backends import IDEMPOTENCY_HEADER

SID = "AC" + "0" * 32
TOKEN = "test-auth-token"
FROM = "+15005550006"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(\w+)/Messages\.json$")
ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(\w+)\.json$")
ERRORS = {
    "invalid": (400, 21211, "The 'To' number is not a valid phone number."),
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
}


class FakeTwilio:
    def __init__(self, port):
        self.port = port
        self.mode = "ok"
        self.script = []
        self.delay = 0.0
        self.requests = []  # every POST: {"key", "to", "body", "mode"}
        self.delivered = []  # each message delivered once: {"sid", "key", "to", "body"}
        self.by_key = {}
        self.probes = 0
        self.held = threading.Event()
        self._sids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def next_mode(self):
        with self._lock:
            return self.script.pop(0) if self.script else self.mode

    def accept(self, key, to, body):
        with self._lock:
            if key and key in self.by_key:
                return self.by_key[key]
            sid = f"SM{next(self._sids):032d}"
            self.delivered.append({"sid": sid, "key": key, "to": to, "body": body})
            if key:
                self.by_key[key] = sid
            return sid


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTwilio

    def log_message(self, *args):
        pass

    def _authorized(self):
        expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {expected}"

    def do_GET(self):
        if not self._authorized():
            return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        self.owner.probes += 1
        if ACCOUNT.match(self.path):
            return self._json(200, {"sid": SID, "status": "active"})
        return self._json(404, {"code": 20404, "message": "Not found", "status": 404})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not self._authorized():
            return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if not MESSAGES.match(self.path):
            return self._json(404, {"code": 20404, "message": "Not found", "status": 404})
        mode, key = self.owner.next_mode(), self.headers.get(IDEMPOTENCY_HEADER, "")
        to, body = form.get("To", ""), form.get("Body", "")
        self.owner.requests.append({"key": key, "to": to, "body": body, "mode": mode})
        if mode == "drop":
            self.close_connection = True
            self.connection.close()
            return None
        if mode == "slow":
            time.sleep(self.owner.delay)
        if mode in ERRORS:
            status, code, message = ERRORS[mode]
            return self._json(status, {"code": code, "message": message, "status": status})
        sid = self.owner.accept(key, to, body)
        if mode == "hold":
            self.owner.held.set()
            time.sleep(self.owner.delay)
        payload = {"sid": sid, "account_sid": SID, "to": to, "from": form.get("From"),
                   "body": body, "status": "queued"}  # fmt: skip
        return self._json(201, payload)

    def _json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return None
