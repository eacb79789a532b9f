"""Shared fixtures of the deploy checks: the repository's manifests as
rendered objects, and the image roots assembled by
deploy/scripts/build-images.sh (its OUT folder in INFERGATE_DEPLOY_OUT)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# CI has the shared specs beside the clone (../shared); here they may also
# live at an absolute path given by INFERGATE_SHARED.
SHARED = Path(os.environ.get("INFERGATE_SHARED", REPO.parent / "shared"))
CRDS = SHARED / "spec" / "kserve-crds"

# Kustomizations a user applies, and plain manifest folders.
KUSTOMIZATIONS = ["k8s/base", "kserve/standard", "kserve/knative"]
PLAIN = ["kserve/runtime"]


def required() -> bool:
    """In CI nothing may be skipped for want of a tool or a build."""
    return os.environ.get("INFERGATE_DEPLOY_REQUIRE") == "1"


def skip_or_fail(reason: str):
    if required():
        pytest.fail(reason + " (INFERGATE_DEPLOY_REQUIRE=1)")
    pytest.skip(reason)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        skip_or_fail("kubectl not installed (Debian: kubernetes-client)")
    return path


def render(kustomization: str) -> list[dict]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / kustomization)],
        check=True, capture_output=True, text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def plain(folder: str) -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / folder).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@pytest.fixture(scope="session")
def sources() -> dict[str, list[dict]]:
    """Every object a user applies, by the folder it comes from."""
    out = {k: render(k) for k in KUSTOMIZATIONS}
    out.update({p: plain(p) for p in PLAIN})
    return out


def all_objects(sources) -> list[tuple[str, dict]]:
    return [(src, obj) for src, objs in sources.items() for obj in objs]


def kserve_containers(obj: dict) -> list[dict]:
    """The containers of a KServe object (InferenceService components,
    ServingRuntime), as the pod will run them."""
    spec = obj.get("spec", {})
    if obj["kind"] in ("ServingRuntime", "ClusterServingRuntime"):
        return list(spec.get("containers", []))
    out = []
    for component in ("predictor", "transformer", "explainer"):
        out += spec.get(component, {}).get("containers", [])
    return out


def pod_containers(obj: dict) -> list[dict]:
    if obj.get("kind") == "Deployment":
        return obj["spec"]["template"]["spec"]["containers"]
    return kserve_containers(obj) if obj.get("apiVersion", "").startswith("serving.kserve.io/") else []


@pytest.fixture(scope="session")
def out_dir() -> Path:
    value = os.environ.get("INFERGATE_DEPLOY_OUT")
    if not value or not (Path(value) / "roots").is_dir():
        skip_or_fail("no assembled image roots: run deploy/scripts/build-images.sh and set INFERGATE_DEPLOY_OUT")
    return Path(value)
