"""The offline images: their assembled roots are self-contained (the binary,
its ldd closure, ONNX Runtime for the predictor, users) and serve the iris
seed request from inside, as uid 65532; the transformer root carries no ONNX
Runtime or storage client; the podman images are configured as the
Kubernetes manifests expect. Needs deploy/scripts/build-images.sh to have
run (INFERGATE_DEPLOY_OUT); `podman run` does not work here, chroot does."""
import json
import os
import shutil
import subprocess
import urllib.request

import pytest

from conftest import skip_or_fail
from roots import RootProcess, http_addr, post_json

SEED = {"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}
PREDICT = "/v1/models/sklearn-iris:predict"
NO_PREDICTOR = "this build has no predictor; use the infergate-predictor image"


def files(root):
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def test_transformer_root_has_no_onnx_runtime_or_storage_client(out_dir):
    root = out_dir / "roots" / "transformer"
    assert not [f for f in files(root) if "onnxruntime" in f or "libstdc++" in f]
    binary = (root / "usr/local/bin/infergate").read_bytes()
    for crate in (b"object_store", b"ort::session", b"zip::read"):
        assert crate not in binary, crate
    predictor = (out_dir / "roots" / "predictor" / "usr/local/bin/infergate-predictor").read_bytes()
    assert b"object_store" in predictor  # the check above can fail


def test_roots_are_owned_by_root_and_hold_the_user(out_dir):
    for role in ("transformer", "predictor"):
        root = out_dir / "roots" / role
        assert "infergate:x:65532:65532:" in (root / "etc/passwd").read_text()
        # uid 65532 can write nowhere but /tmp: the root file system may be read-only.
        writable = [f for f in files(root) if os.stat(f).st_uid == 65532]
        assert not writable, writable[:5]
        assert oct(os.stat(root / "tmp").st_mode & 0o7777) == "0o1777"


@pytest.fixture(scope="module")
def predictor(out_dir):
    proc = RootProcess(out_dir, "predictor", ["--model_dir", "/mnt/models", "--http_port", "0", "--grpc_port", "0"])
    addrs = proc.wait_listening()
    assert addrs, proc.output()
    yield proc, http_addr(addrs[0])
    proc.stop()


def test_predictor_root_serves_the_iris_seed_request(predictor):
    proc, url = predictor
    assert proc.uid() == 65532
    assert post_json(url + PREDICT, SEED) == (200, {"predictions": [1, 1]})


@pytest.mark.parametrize("protocol", ["v1", "v2", "grpc-v2"])
def test_transformer_root_in_front_of_the_predictor_root(out_dir, predictor, protocol):
    _, predictor_url = predictor
    port = predictor_url.rsplit(":", 1)[1]
    if protocol == "grpc-v2":
        grpc = predictor[0].wait_listening()[1]
        port = grpc.rsplit(":", 1)[1]
    proc = RootProcess(out_dir, "transformer", [
        "--model_name", "sklearn-iris", "--predictor_host", f"127.0.0.1:{port}",
        "--predictor_protocol", protocol, "--http_port", "0", "--grpc_port", "0",
    ], tag=protocol)
    try:
        addrs = proc.wait_listening()
        assert addrs, proc.output()
        assert proc.uid() == 65532
        assert post_json(http_addr(addrs[0]) + PREDICT, SEED) == (200, {"predictions": [1, 1]})
    finally:
        proc.stop()


def test_transformer_build_refuses_to_serve_models(out_dir):
    proc = RootProcess(out_dir, "transformer", ["--model_dir", "/mnt/models", "--http_port", "0"], tag="refuse")
    try:
        assert proc.wait_listening(timeout=20) is None
        assert proc.proc.wait(timeout=10) != 0
        assert NO_PREDICTOR in proc.output()
    finally:
        proc.stop()


def test_transformer_build_still_serves_builtin_models(out_dir):
    """--builtin_models live in infergate-server, not the predictor."""
    proc = RootProcess(out_dir, "transformer", ["--builtin_models", "simple", "--http_port", "0",
                                                "--grpc_port", "0"], tag="builtin")
    try:
        addrs = proc.wait_listening()
        assert addrs, proc.output()
        with urllib.request.urlopen(http_addr(addrs[0]) + "/v2/models/simple", timeout=10) as resp:
            assert json.loads(resp.read())["name"] == "simple"
    finally:
        proc.stop()


# ---------- podman images ----------

IMAGES = ["infergate-base", "infergate-transformer", "infergate-ort-cpu", "infergate-predictor",
          "infergate-predictor-iris"]


@pytest.fixture(scope="module")
def sizes(out_dir):
    path = out_dir / "sizes.txt"
    if shutil.which("podman") is None or not path.exists():
        skip_or_fail("no podman images (podman not installed, or PODMAN=0)")
    lines = path.read_text().split("\n")
    return lines[0].split()[1], {n: int(s) for n, s in (line.split() for line in lines[1:] if line)}


def inspect(name):
    out = subprocess.run(["podman", "image", "inspect", f"localhost/{name}:latest"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]


def test_podman_images_run_as_65532_without_healthcheck(sizes):
    for name in IMAGES:
        config = inspect(name)["Config"]
        assert config.get("User") == "65532:65532", name
        assert not config.get("Healthcheck"), name
    assert inspect("infergate-transformer")["Config"]["Entrypoint"] == ["/usr/local/bin/infergate"]
    predictor = inspect("infergate-predictor-iris")["Config"]
    assert predictor["Entrypoint"] == ["/usr/local/bin/infergate-predictor"]
    assert predictor["Cmd"] == ["--model_dir", "/mnt/models"]
    assert "ORT_DYLIB_PATH=/opt/onnxruntime/lib/libonnxruntime.so" in predictor["Env"]


def test_podman_images_stack_the_three_layers(sizes):
    layers = {n: inspect(n)["RootFS"]["Layers"] for n in IMAGES}
    assert len(layers["infergate-base"]) == 1
    assert layers["infergate-transformer"][:1] == layers["infergate-base"]
    assert layers["infergate-predictor-iris"][:3] == layers["infergate-predictor"][:3]
    assert layers["infergate-predictor"][:2] == layers["infergate-ort-cpu"]
    assert layers["infergate-ort-cpu"][:1] == layers["infergate-base"]


def test_transformer_image_size(sizes):
    profile, by_name = sizes
    print(f"image sizes ({profile} binaries): " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in by_name.items()))
    if profile != "release":
        pytest.skip(f"{profile} binaries: the 30 MB target is for release builds")
    assert by_name["infergate-transformer"] <= 30_000_000
