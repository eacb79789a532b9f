"""A V2 predictor that answers with the request headers it received, so a
test can see exactly what a transformer sends upstream.

Usage: header_echo_predictor.py   (prints "url http://127.0.0.1:PORT", runs until stdin closes)
POST /v2/models/<m>/infer -> {"outputs": [{"name": "headers", "datatype": "BYTES",
                               "shape": [1], "data": ["<JSON of the headers, lower-case names>"]}]}
GET  /v2/models/<m>/ready -> 200
"""
import http.server
import json
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        ok = self.path.endswith("/ready") or self.path.startswith("/v2/health")
        self.reply(200 if ok else 404, {"ready": True} if ok else {"error": "Not Found"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = json.dumps({k.lower(): v for k, v in self.headers.items()})
        model = self.path.split("/")[3] if self.path.count("/") >= 4 else "m"
        self.reply(200, {"model_name": model, "outputs": [{"name": "headers", "datatype": "BYTES", "shape": [1], "data": [seen]}]})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"url http://127.0.0.1:{server.server_address[1]}", flush=True)
sys.stdin.read()
server.shutdown()
