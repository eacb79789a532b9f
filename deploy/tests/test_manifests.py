"""Every manifest under deploy/ renders, matches its schema (KServe CRDs,
Kubernetes' own OpenAPI), follows the KServe conventions the docs promise,
and passes a best-practice scan (checkov) with only justified skips."""
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import CRDS, DEPLOY, all_objects, kserve_containers, pod_containers, skip_or_fail

K8S_VERSION = "1.32"
KSERVE_GROUP = "serving.kserve.io"


# ---------- KServe objects against the CRD schemas ----------

def strict(schema):
    """The CRD schema with unknown fields refused: the API server prunes them
    silently, so a misspelt field would otherwise pass and do nothing."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_validators():
    if not CRDS.is_dir():
        skip_or_fail(f"no KServe CRDs at {CRDS}")
    out = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            out[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return out


@pytest.fixture(scope="module")
def validators():
    return crd_validators()


def kserve_objects(sources):
    return [(src, o) for src, o in all_objects(sources) if o["apiVersion"].startswith(KSERVE_GROUP + "/")]


def schema_errors(validators, obj):
    validator = validators.get((obj["apiVersion"], obj["kind"]))
    assert validator is not None, f"no CRD for {obj['apiVersion']} {obj['kind']}"
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def test_kserve_objects_match_crd_schemas(sources, validators):
    objs = kserve_objects(sources)
    kinds = {o["kind"] for _, o in objs}
    assert kinds == {"InferenceService", "ClusterServingRuntime"}, kinds
    for src, obj in objs:
        errors = schema_errors(validators, obj)
        assert not errors, f"{src} {obj['kind']}/{obj['metadata']['name']}: {errors}"


def test_crd_check_refuses_a_misspelt_field(sources, validators):
    """The schema check can fail: a field KServe does not know is reported."""
    _, isvc = next((s, o) for s, o in kserve_objects(sources) if o["kind"] == "InferenceService")
    bad = copy.deepcopy(isvc)
    bad["spec"]["predictor"]["minReplica"] = 1  # minReplicas
    assert any("minReplica" in e for e in schema_errors(validators, bad))


# ---------- Core objects against Kubernetes' OpenAPI ----------

def core_objects(sources):
    return [
        (src, o) for src, o in all_objects(sources)
        if not o["apiVersion"].startswith((KSERVE_GROUP + "/", "monitoring.coreos.com/"))
    ]


def test_core_objects_validate_strictly(sources):
    objs = core_objects(sources)
    kinds = {o["kind"] for _, o in objs}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
            "PodDisruptionBudget"} <= kinds, kinds
    for src, obj in objs:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_kserve_containers_are_valid_pod_containers(sources):
    """KServe copies its containers into pods: each must be a valid core
    Container (strictly: no unknown fields)."""
    count = 0
    for src, obj in kserve_objects(sources):
        for container in kserve_containers(obj):
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"},
                   "spec": {"containers": [container]}}
            kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
            count += 1
    assert count >= 4


def test_core_check_refuses_a_misspelt_field(sources):
    _, deployment = next((s, o) for s, o in core_objects(sources) if o["kind"] == "Deployment")
    bad = copy.deepcopy(deployment)
    bad["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_service_monitor_selects_the_service_and_its_metrics_port(sources):
    objs = sources["k8s/base"]
    monitor = next(o for o in objs if o["kind"] == "ServiceMonitor")
    service = next(o for o in objs if o["kind"] == "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    wanted = monitor["spec"]["selector"]["matchLabels"]
    assert wanted.items() <= service["metadata"]["labels"].items()
    ports = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in ports and endpoint["path"] == "/metrics"


# ---------- KServe conventions ----------

def isvcs(sources, folder):
    return {o["metadata"]["name"]: o for o in sources[folder] if o["kind"] == "InferenceService"}


@pytest.mark.parametrize("folder,mode", [("kserve/standard", "Standard"), ("kserve/knative", "Knative")])
def test_each_deployment_mode_is_annotated(sources, folder, mode):
    services = isvcs(sources, folder)
    assert set(services) == {"sklearn-iris", "onnx-iris", "iris-collocated"}
    for isvc in services.values():
        assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode


def health_probes(container, port):
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": port}
    if "livenessProbe" in container:
        assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": port}


def test_transformer_in_front_of_kserve_sklearn(sources):
    isvc = isvcs(sources, "kserve/standard")["sklearn-iris"]
    assert isvc["spec"]["predictor"]["model"]["modelFormat"]["name"] == "sklearn"
    container = isvc["spec"]["transformer"]["containers"][0]
    assert "infergate-transformer" in container["image"]
    flags = {a.split("=")[0]: a.partition("=")[2] for a in container["args"]}
    assert flags["--model_name"] == isvc["metadata"]["name"] and flags["--http_port"] == "8080"
    assert flags["--predictor_protocol"] == "v1"
    # The controller adds it with the namespace the service lands in.
    assert "--predictor_host" not in flags
    health_probes(container, 8080)


def test_cluster_serving_runtime(sources):
    runtime = next(o for o in sources["kserve/runtime"] if o["kind"] == "ClusterServingRuntime")
    spec = runtime["spec"]
    assert runtime["metadata"]["name"] == "infergate-onnx"
    assert {"name": "onnx", "version": "1", "autoSelect": True}.items() <= spec["supportedModelFormats"][0].items()
    assert spec["protocolVersions"] == ["v1", "v2", "grpc-v2"]
    assert spec["annotations"]["prometheus.kserve.io/port"] == "8080"
    assert spec["annotations"]["prometheus.kserve.io/path"] == "/metrics"
    container = spec["containers"][0]
    assert container["name"] == "kserve-container"
    assert "--model_dir=/mnt/models" in container["args"]
    health_probes(container, 8080)
    onnx = isvcs(sources, "kserve/standard")["onnx-iris"]["spec"]["predictor"]["model"]
    assert onnx["runtime"] == "infergate-onnx" and onnx["storageUri"]


def test_collocated_ports(sources):
    pod = isvcs(sources, "kserve/standard")["iris-collocated"]["spec"]["predictor"]["containers"]
    predictor, transformer = pod
    assert predictor["name"] == "kserve-container" and transformer["name"] == "transformer-container"
    assert "--http_port=8085" in predictor["args"] and "--enable_grpc=false" in predictor["args"]
    assert {"--http_port=8080", "--grpc_port=8081", "--predictor_host=localhost:8085"} <= set(transformer["args"])
    health_probes(predictor, 8085)
    health_probes(transformer, 8080)


def test_containers_run_as_non_root_on_a_read_only_root(sources):
    count = 0
    for src, obj in all_objects(sources):
        for container in pod_containers(obj):
            ctx = container.get("securityContext", {})
            assert ctx.get("runAsNonRoot") and ctx.get("readOnlyRootFilesystem"), (src, container["name"])
            assert ctx.get("runAsUser") == 65532 and ctx["capabilities"]["drop"] == ["ALL"]
            count += 1
    assert count >= 5


# ---------- checkov ----------

def checkov(args):
    exe = Path(sys.executable).parent / "checkov"
    if not exe.exists():
        skip_or_fail("checkov is not installed (deploy/requirements.txt)")
    run = subprocess.run([str(exe), *args, "--quiet", "--compact", "-o", "json"],
                         capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c.get('resource')} ({c.get('file_path')})"
        for r in reports for c in r.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    return failed, passed


def test_checkov_kubernetes(tmp_path, sources):
    for name, objs in sources.items():
        (tmp_path / (name.replace("/", "-") + ".yaml")).write_text(yaml.safe_dump_all(objs))
    failed, passed = checkov(["-d", str(tmp_path), "--framework", "kubernetes"])
    assert not failed, failed
    assert passed > 50, passed


def test_checkov_dockerfiles():
    files = sorted((DEPLOY / "images").glob("Dockerfile*"))
    assert files
    args = ["--framework", "dockerfile"]
    for f in files:
        args += ["-f", str(f)]
    failed, passed = checkov(args)
    assert not failed, failed
    assert passed > 0


SKIP = re.compile(r"(checkov\.io/skip\d*:\s*|checkov:skip=)(CKV\w+)")


def test_every_checkov_skip_is_justified():
    """A skip carries a reason after its id and a comment just above it."""
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix not in (".yaml", "") and not path.name.startswith("Dockerfile"):
            continue
        if not path.is_file() or "tests" in path.parts:
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = SKIP.search(line)
            if not m:
                continue
            reason = line[m.end():].lstrip("=: ").strip()
            assert len(reason) > 10, f"{path}:{i + 1}: a skip without a reason"
            assert lines[i - 1].strip().startswith("#"), f"{path}:{i + 1}: a skip without a comment above it"
