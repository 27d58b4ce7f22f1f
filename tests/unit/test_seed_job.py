"""The seed Job (manifests/seed_job.py) and the seed step it runs (workloads/mnist_source.py): the full
MNIST, checksums verified, written once."""

from __future__ import annotations

import gzip
import hashlib
import shlex

import kubernetes_validate
import numpy as np
import pytest

import versions
from manifests import pools, seed_job, volumes, workload_identity
from settings import parse
from workloads import data, mnist_source, seed, sources

VALID = {"ray-aks:apiServerAuthorizedIpRanges": '["20.37.0.1/32"]'}
S = parse(VALID)


def pod(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]


def test_the_job_is_a_valid_batch_v1_job():
    kubernetes_validate.validate(seed_job.seed_job(S), f"{versions.KUBERNETES_VERSION}.0", strict=True)


def test_the_job_meets_pod_security_restricted():
    # kubernetes.io/docs/concepts/security/pod-security-standards, "Restricted".
    spec = pod(seed_job.seed_job(S))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "privileged" not in context
    assert all("hostPath" not in volume for volume in spec["volumes"])
    assert not {"hostNetwork", "hostPID", "hostIPC"} & spec.keys()


def test_the_job_runs_on_the_cpu_pool_as_the_ray_identity_with_the_datasets_claim():
    manifest = seed_job.seed_job(S)
    spec = pod(manifest)
    assert spec["nodeSelector"] == pools.cpu_node_selector()
    assert spec["serviceAccountName"] == S.ray_service_account
    assert manifest["metadata"]["namespace"] == S.ray_namespace
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert workload_identity.pod_labels().items() <= labels.items()
    datasets = volumes.blob_volumes(S)[0]
    assert spec["volumes"] == [
        {"name": datasets.claim_name, "persistentVolumeClaim": {"claimName": datasets.claim_name}}
    ]
    assert spec["containers"][0]["volumeMounts"] == [{"name": datasets.claim_name, "mountPath": S.datasets_mount_path}]


def test_the_job_runs_the_cpu_image_and_the_seed_command_on_the_datasets_mount():
    container = pod(seed_job.seed_job(S))["containers"][0]
    assert container["image"] == S.ray_image
    assert container["command"][:4] == ["python", "-m", "workloads.seed", "--data-dir"]
    assert container["command"][container["command"].index("--data-dir") + 1] == S.datasets_mount_path


def test_the_job_is_never_deleted_behind_pulumis_back_and_a_failed_one_is_replaced():
    manifest = seed_job.seed_job(S)
    assert "ttlSecondsAfterFinished" not in manifest["spec"]
    assert manifest["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    assert manifest["spec"]["activeDeadlineSeconds"] > 0


# --- the seed step -----------------------------------------------------------------------------------


def idx(array: np.ndarray) -> bytes:
    return gzip.compress(data.encode_idx(array), mtime=0)


@pytest.fixture
def small_source(tmp_path):
    """A stand-in for the four MNIST files (same names, its own checksums): 60 train, 10 test digits."""
    rng = np.random.default_rng(0)
    directory = tmp_path / "source"
    directory.mkdir()
    files = []
    for prefix, count in (("train", 60), ("t10k", 10)):
        for kind, array in (
            ("images", rng.integers(0, 255, (count, 28, 28), dtype=np.uint8)),
            ("labels", rng.integers(0, 10, count, dtype=np.uint8)),
        ):
            name = f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz"
            body = idx(array)
            (directory / name).write_bytes(body)
            files.append(mnist_source.SourceFile(name, len(body), hashlib.sha256(body).hexdigest(), ""))
    return directory, files, {"train": 60, "val": 10}


def test_seeding_writes_both_packs_then_a_second_run_writes_nothing(small_source, tmp_path):
    source, files, sizes = small_source
    target = tmp_path / "datasets"
    written = seed.seed(target, source, files, sizes)
    assert sorted(p.name for p in written) == ["train.pack", "val.pack"]
    before = {p: p.stat().st_mtime_ns for p in written}
    assert seed.seed(target, source, files, sizes) == []
    assert {p: p.stat().st_mtime_ns for p in written} == before
    assert len(data.load_split(target, "train", cache=tmp_path / "cache")) == 60


def test_seeding_refuses_a_source_file_whose_checksum_is_not_the_published_one(small_source, tmp_path):
    source, files, sizes = small_source
    body = (source / files[1].name).read_bytes()
    (source / files[1].name).write_bytes(body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(mnist_source.SourceError, match=files[1].name):
        seed.seed(tmp_path / "datasets", source, files, sizes)
    assert not (tmp_path / "datasets" / "mnist").exists()


def test_seeding_replaces_packs_that_are_not_the_full_dataset(small_source, tmp_path):
    source, files, sizes = small_source
    target = tmp_path / "datasets"
    data.prepare(target, "offline")  # 4,000 / 1,000 digits: valid packs, but not the full MNIST
    assert sorted(p.name for p in seed.seed(target, source, files, sizes)) == ["train.pack", "val.pack"]


def test_the_published_files_are_the_full_mnist():
    assert [f.name for f in mnist_source.FILES] == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert mnist_source.SPLIT_SIZES == {"train": 60_000, "val": 10_000}


def test_prepare_downloads_through_the_image_builds_checked_fetch(tmp_path, monkeypatch):
    # One download of the MNIST files, with one set of mirrors and SHA-256s: workloads/mnist_source.py.
    calls = []
    monkeypatch.setattr(mnist_source, "fetch", lambda *args: calls.append(args) or args[0])
    assert sources.download_idx(tmp_path) == tmp_path
    assert calls == [(tmp_path, mnist_source.MIRRORS, 30.0)]


def test_the_seed_command_parses_as_the_module_cli(tmp_path, capsys):
    words = seed_job.command(S)
    assert shlex.join(words).startswith("python -m workloads.seed --data-dir")
    # The same arguments, pointed at an empty source: a clear error naming the missing file, exit 1.
    assert seed.main([*words[3:-1], str(tmp_path / "d"), "--from", str(tmp_path / "none")]) == 1
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err
