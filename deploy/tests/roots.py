"""Running a binary of an assembled image root as the image would: chroot
into the root as uid/gid 65532, with only the image's environment."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from conftest import skip_or_fail

UID = "65532:65532"
# The image's ENV (deploy/images/offline/Containerfile.ort sets the same).
IMAGE_ENV = {
    "transformer": {},
    "predictor": {"ORT_DYLIB_PATH": "/opt/onnxruntime/lib/libonnxruntime.so"},
}
ENTRYPOINT = {"transformer": "/usr/local/bin/infergate", "predictor": "/usr/local/bin/infergate-predictor"}
LISTENING = re.compile(r" listening http=(\S+) grpc=(\S+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def need_root():
    if os.geteuid() != 0 or shutil.which("chroot") is None:
        skip_or_fail("chroot into the image roots needs root")


class RootProcess:
    """One process started from an image root; stdout/stderr go to files."""

    def __init__(self, out_dir: Path, role: str, args: list[str], net_namespace=False, tag="run", env=None):
        need_root()
        self.root = out_dir / "roots" / role
        logs = out_dir / "logs"
        logs.mkdir(exist_ok=True)
        self.stdout_path = logs / f"{role}-{tag}.out"
        self.stderr_path = logs / f"{role}-{tag}.err"
        env = {"PATH": "/usr/local/bin", "HOME": "/home/infergate", **IMAGE_ENV[role], **(env or {})}
        # Looked up here: the process's own PATH is the image's.
        cmd = [shutil.which("chroot"), f"--userspec={UID}", str(self.root), ENTRYPOINT[role], *args]
        if net_namespace:
            # Manifests name fixed ports (8080...): a fresh network namespace
            # keeps them from clashing with anything on this machine.
            cmd = [shutil.which("unshare"), "--net", "--", *cmd]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)

    def output(self) -> str:
        return ANSI.sub("", self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace"))

    def wait_listening(self, timeout=30.0):
        """(http, grpc) addresses once the process says it listens; None if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTENING.search(self.stdout_path.read_text(errors="replace"))
            if m:
                return m.group(1), m.group(2)
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        raise AssertionError(f"no listening line in {timeout}s:\n{self.output()}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def uid(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))


def post_json(url: str, body: dict, timeout=10.0) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def http_addr(addr: str) -> str:
    """A listening address (0.0.0.0:PORT or [::]:PORT) as a loopback URL."""
    port = addr.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}"
