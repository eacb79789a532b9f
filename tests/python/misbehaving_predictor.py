"""A predictor that misbehaves on purpose, for the transformer's tests. The
model name in the path picks the misbehaviour, for V1 (`/v1/models/<m>:predict`)
and V2 (`/v2/models/<m>/infer`) alike:

  endless     200, no Content-Length, JSON streamed until the client leaves
              (at most 256 MiB); GET /stats tells how many bytes went out
  declared    200 with Content-Length 10 GB, then a little data and a stall
  status599   599 with a JSON error;  status302: 302 to elsewhere
  longerror   500 with a 100 kB error message
  ragged      {"predictions": [[1, 2], [3]]}
  string      {"predictions": "x"}
  emptyobj    {}
  emptylist   {"predictions": []}
  anything else: V1 {"predictions": [0, 2]} (a class per row)

GET /v1/models/<m> and /v2/models/<m>/ready -> 200; GET /v2/models/<m> -> 404
(a V1-only predictor: no V2 metadata).

Usage: misbehaving_predictor.py   (prints "url http://127.0.0.1:PORT", runs until stdin closes)
"""
import http.server
import json
import sys
import threading
import time

SENT = {"endless": 0}
LIMIT = 256 << 20
CHUNK = b"[" + b"0," * 32767 + b"0],"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:1/")
        self.end_headers()
        self.wfile.write(data)

    def model(self):
        parts = self.path.split("/")
        return parts[3].split(":")[0] if len(parts) > 3 else ""

    def do_GET(self):
        if self.path == "/stats":
            return self.reply(200, SENT)
        ready = self.path.startswith("/v1/models/") or self.path.endswith("/ready")
        self.reply(200 if ready else 404, {"ready": True} if ready else {"error": "Not Found"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        model = self.model()
        if model == "endless":
            return self.endless()
        if model == "declared":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 << 30))
            self.end_headers()
            self.wfile.write(b'{"predictions": [')
            self.wfile.flush()
            time.sleep(10)
            return
        answers = {
            "status599": (599, {"error": "odd"}),
            "status302": (302, {"error": "moved"}),
            "longerror": (500, {"error": "e" * 100_000}),
            "ragged": (200, {"predictions": [[1, 2], [3]]}),
            "string": (200, {"predictions": "x"}),
            "emptyobj": (200, {}),
            "emptylist": (200, {"predictions": []}),
        }
        code, body = answers.get(model, (200, {"predictions": [0, 2]}))
        self.reply(code, body)

    def endless(self):
        # HTTP/1.0 style: no length, the body ends when the connection does.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b'{"predictions": [')
            while SENT["endless"] < LIMIT:
                self.wfile.write(CHUNK)
                SENT["endless"] += len(CHUNK)
            self.wfile.write(b"[0]]}")
        except OSError:
            pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"url http://127.0.0.1:{server.server_address[1]}", flush=True)
sys.stdin.read()
