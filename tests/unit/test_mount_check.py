"""The init container that refuses to start a Ray pod whose Blob mounts are not BlobFuse2, run as a pod runs it."""

from __future__ import annotations

import subprocess

import pytest

from manifests import mount_check, volumes
from manifests.raycluster import raycluster_manifest
from tests.unit.ray_pods import pods, settings_of

FUSE_LINE = (
    "{id} 30 0:{id} / {path} rw,nosuid,nodev,relatime shared:1 - fuse blobfuse2 rw,user_id=0,group_id=0,allow_other"
)
FUSE_SUBTYPE_LINE = "{id} 30 0:{id} / {path} rw,relatime - fuse.blobfuse2 blobfuse2 rw,user_id=0,group_id=0"
# What the driver leaves without the CSIDriver's tokenRequests: an empty directory of the node's disk.
BIND_LINE = "{id} 30 8:1 /var/lib/kubelet/plugins/kubernetes.io/csi/blob.csi.azure.com/x/globalmount {path} rw,relatime - ext4 /dev/sda1 rw"
OTHER_FUSE_LINE = "{id} 30 0:{id} / {path} rw,relatime - fuse.sshfs user@host:/ rw"


def run_mount_check(tmp_path, lines: list[str]) -> subprocess.CompletedProcess:
    s = settings_of()
    paths = [v.mount_path for v in volumes.blob_volumes(s)]
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        + "\n".join(line.format(id=40 + i, path=path) for i, (line, path) in enumerate(zip(lines, paths)))
        + "\n"
    )
    script = mount_check.mount_check_script(paths, str(mountinfo))
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("lines", [[FUSE_LINE, FUSE_LINE], [FUSE_SUBTYPE_LINE, FUSE_LINE]])
def test_the_mount_check_passes_when_both_paths_are_blobfuse2(tmp_path, lines):
    result = run_mount_check(tmp_path, lines)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "lines", [[FUSE_LINE, BIND_LINE], [BIND_LINE, FUSE_LINE], [FUSE_LINE, OTHER_FUSE_LINE], [FUSE_LINE]]
)
def test_the_mount_check_refuses_an_empty_bind_mount_another_fuse_or_a_missing_mount(tmp_path, lines):
    result = run_mount_check(tmp_path, lines)
    assert result.returncode == 1
    assert "is not a BlobFuse2 mount" in result.stderr


def test_a_bind_mount_over_a_blobfuse2_mount_is_what_the_container_sees_and_is_refused(tmp_path):
    s = settings_of()
    datasets, results = (v.mount_path for v in volumes.blob_volumes(s))
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "\n".join(
            [
                FUSE_LINE.format(id=40, path=datasets),
                FUSE_LINE.format(id=41, path=results),
                BIND_LINE.format(id=42, path=results),
            ]
        )
        + "\n"
    )
    script = mount_check.mount_check_script([datasets, results], str(mountinfo))
    assert subprocess.run(["sh", "-c", script], capture_output=True, timeout=30).returncode == 1


def test_every_ray_pod_checks_both_mounts_before_ray_starts():
    s = settings_of()
    paths = [v.mount_path for v in volumes.blob_volumes(s)]
    for template in pods(raycluster_manifest(s)).values():
        check = template["spec"]["initContainers"][0]
        assert check["command"][:2] == ["sh", "-c"]
        assert check["command"][2] == mount_check.mount_check_script(paths)
        assert {m["mountPath"] for m in check["volumeMounts"]} == set(paths)
        assert check["image"] == template["spec"]["containers"][0]["image"]  # already pulled for Ray
        assert check["resources"]["requests"] == check["resources"]["limits"]
