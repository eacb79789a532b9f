"""Every infergate container in deploy/ starts from its image root with the
args the manifest gives it (plus those KServe adds): the real binary parses
them with no unknown-flag or unknown-key warning and reaches its listening
line. Each runs in its own network namespace, so the manifests' fixed ports
(8080, 8085...) cannot clash with this machine's."""
import re
import shutil

import pytest

from conftest import KUSTOMIZATIONS, PLAIN, plain, render
from roots import RootProcess

# Flags KServe passes that infergate accepts and ignores on purpose would go
# here; the manifests use none today.
IGNORED_BY_DESIGN: set[str] = set()
WARNINGS = re.compile(r"unknown flag ignored: (\S+)|unknown key '([^']+)' ignored")


def launches():
    """(role, args, files to mount, env) for each infergate container."""
    seen, out = set(), []
    objs = [o for k in KUSTOMIZATIONS for o in render(k)] + [o for p in PLAIN for o in plain(p)]
    configmaps = {o["metadata"]["name"]: o["data"] for o in objs if o["kind"] == "ConfigMap"}
    for obj in objs:
        kind, name, spec = obj["kind"], obj["metadata"]["name"], obj.get("spec", {})
        groups = []
        if kind == "InferenceService":
            for component in ("predictor", "transformer"):
                for c in spec.get(component, {}).get("containers", []):
                    injected = []
                    if component == "transformer":
                        # What the KServe controller appends to a transformer's
                        # args, each unless an arg already starts with it.
                        controller = {"--model_name": name, "--predictor_host": f"{name}-predictor.default",
                                      "--http_port": "8080"}
                        for flag, value in controller.items():
                            if not any(a.startswith(flag) for a in c.get("args", [])):
                                injected += [flag, value]
                    groups.append((c, injected, {}))
        elif kind in ("ClusterServingRuntime", "ServingRuntime"):
            for c in spec["containers"]:
                # KServe fills the template with the InferenceService's name.
                c = {**c, "args": [a.replace("{{.Name}}", "sklearn-iris") for a in c.get("args", [])]}
                groups.append((c, [], {}))
        elif kind == "Deployment":
            pod = spec["template"]["spec"]
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for c in pod["containers"]:
                mounts = {}
                for m in c.get("volumeMounts", []):
                    cm = volumes[m["name"]].get("configMap")
                    if cm:
                        for key, text in configmaps[cm["name"]].items():
                            mounts[f"{m['mountPath']}/{key}"] = text
                groups.append((c, [], mounts))
        for c, injected, mounts in groups:
            if "infergate" not in c.get("image", ""):
                continue
            role = "transformer" if "infergate-transformer" in c["image"] else "predictor"
            args = [*c.get("args", []), *injected]
            env = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
            key = (role, tuple(args), tuple(sorted(mounts.items())), tuple(sorted(env.items())))
            if key not in seen:
                seen.add(key)
                out.append(pytest.param(role, args, mounts, env, id=f"{kind}-{name}-{c['name']}"))
    return out


@pytest.mark.parametrize("role,args,mounts,env", launches())
def test_manifest_args_start_the_image(out_dir, role, args, mounts, env):
    root = out_dir / "roots" / role
    made = []
    for path, text in mounts.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        made.append(target)
    proc = RootProcess(out_dir, role, args, net_namespace=True, tag="manifest", env=env)
    try:
        addrs = proc.wait_listening()
        output = proc.output()
        assert addrs, f"{role} {args} did not start:\n{output}"
        unknown = {a or b for a, b in WARNINGS.findall(output)} - IGNORED_BY_DESIGN
        assert not unknown, f"{role} ignored {unknown} of {args}"
    finally:
        proc.stop()
        for target in made:
            target.unlink()
        if made:
            shutil.rmtree(made[0].parent, ignore_errors=True)


def test_the_warning_check_can_fail(out_dir):
    """A flag the binary does not know is reported, and this test sees it."""
    proc = RootProcess(out_dir, "transformer", ["--model_name", "m", "--predictor_host", "h:1",
                                                "--http_port", "0", "--grpc_port", "0", "--no_such_flag"],
                       net_namespace=True, tag="unknown")
    try:
        assert proc.wait_listening()
        assert WARNINGS.search(proc.output()).group(1) == "--no_such_flag"
    finally:
        proc.stop()
