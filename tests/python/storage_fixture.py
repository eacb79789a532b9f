"""Real storage servers for the storage tests, on loopback:

    storage_fixture.py s3 SRC_DIR BUCKET PREFIX [EXTRA_KEY]
        starts moto's S3-compatible server, creates BUCKET and uploads every
        file under SRC_DIR to PREFIX/<relative path> (plus an object named
        EXTRA_KEY, verbatim, when given); prints "endpoint http://HOST:PORT".
    storage_fixture.py http DIR
        serves DIR over HTTP; prints "url http://HOST:PORT". One more path,
        /huge.onnx, declares a Content-Length of 40 GiB and sends zeros
        until the client leaves (a download that must be refused).

Either runs until its standard input closes.
"""
import http.server
import os
import socket
import sys
import threading


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3(src, bucket, prefix, extra=None):
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    client.create_bucket(Bucket=bucket)
    for root, _, files in os.walk(src):
        for f in files:
            path = os.path.join(root, f)
            key = f"{prefix}/{os.path.relpath(path, src)}"
            client.upload_file(path, bucket, key)
    if extra:
        client.put_object(Bucket=bucket, Key=extra, Body=b"payload")
    print(f"endpoint {endpoint}", flush=True)
    sys.stdin.read()
    server.stop()


HUGE = 40 << 30


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/huge.onnx":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        zeros = bytes(1 << 16)
        try:
            for _ in range(HUGE // len(zeros)):
                self.wfile.write(zeros)
        except OSError:
            pass  # the client left, as it should

    def log_message(self, *args):
        pass


def serve_http(directory):
    handler = lambda *a, **kw: Handler(*a, directory=directory, **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(f"url http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "s3":
        s3(*sys.argv[2:])
    else:
        serve_http(sys.argv[2])
