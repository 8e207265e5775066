"""Each overlay renders the image its own ``images:`` entry names, and a new tag there takes
effect (the base once renamed the image first, so the overlays' entries matched nothing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import manifests
from tests.deploy.manifests import DEPLOY, OVERLAYS, Obj

WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet")


@pytest.fixture(autouse=True)
def _needs_kubectl() -> None:
    problem = manifests.kubectl_problem()
    if problem:
        pytest.skip(problem)


def _pod_spec(obj: Obj) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def platform_images(objects: list[Obj]) -> set[str]:
    """Images of every platform container (the ones built from this repository)."""
    found = set()
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        pod = _pod_spec(obj)
        for container in (*pod.get("initContainers", ()), *pod.get("containers", ())):
            image = container["image"]
            if image.rsplit("/", 1)[-1].split(":")[0].split("@")[0] == "mynumber":
                found.add(image)
    return found


def named_image(overlay_dir: Path) -> str:
    """The image the overlay's ``images:`` entry for "mynumber" names."""
    doc = yaml.safe_load((overlay_dir / "kustomization.yaml").read_text())
    [entry] = [e for e in doc.get("images", []) if e["name"] == "mynumber"]
    return f"{entry['newName']}:{entry['newTag']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_the_image_it_names(overlay: str) -> None:
    expected = named_image(DEPLOY / "overlays" / overlay)
    assert platform_images(manifests.render(f"overlays/{overlay}")) == {expected}


def test_a_new_tag_in_prod_changes_every_platform_container(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("secrets"))
    path = copy / "overlays" / "prod" / "kustomization.yaml"
    text = path.read_text()
    old = named_image(copy / "overlays" / "prod").rsplit(":", 1)[1]
    path.write_text(text.replace(f"newTag: {old}", "newTag: 9.9.9-test", 1))
    kubectl = manifests.kubectl_path()
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(copy / "overlays" / "prod")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    images = platform_images(objects)
    assert images == {named_image(copy / "overlays" / "prod")}
    assert all(image.endswith(":9.9.9-test") for image in images)
