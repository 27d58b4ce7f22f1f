"""The Blob volumes: valid Kubernetes objects, bound to one container each through the managed identity,
with BlobFuse2 options that exist and fit each volume's job."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
from hypothesis import given
from hypothesis import strategies as st

import versions
from manifests import volumes
from manifests.volumes import (
    BLOCK_POOL_MB,
    BLOCK_PREFETCH,
    BLOCK_SIZE_MB,
    blob_volumes,
    persistent_volume,
    persistent_volume_claim,
    storage_class,
    volume_handle,
)
from settings import DATASETS_CONTAINER, EXAMPLE_PUBLIC_CIDR, RESULTS_CONTAINER, parse

K8S_VERSION = f"{versions.KUBERNETES_VERSION}.0"
SETTINGS = parse({"ray-aks:apiServerAuthorizedIpRanges": [EXAMPLE_PUBLIC_CIDR]})
DATASETS, RESULTS = blob_volumes(SETTINGS)
IDS = {
    "namespace": "ray",
    "resource_group": "storage-rg",
    "account": "rayaksdata042",
    "client_id": "3c20d8e3-fdee-5025-ae42-1579eb9bc801",
}

# BlobFuse2 flags that exist: the Blob CSI driver's allow-list of BlobFuse2 flags
# (kubernetes-sigs/blob-csi-driver pkg/blob/blob.go, allowedEphemeralMountOptions, "verified against
# blobfuse2 mount --help"), plus the two it keeps for PVs only (--tmp-path) or sets itself (--use-adls).
KNOWN_FLAGS = {
    "--allow-other",
    "--attr-cache-max-size-mb",
    "--attr-cache-timeout",
    "--attr-timeout",
    "--block-cache",
    "--block-cache-block-size",
    "--block-cache-disk-size",
    "--block-cache-disk-timeout",
    "--block-cache-parallelism",
    "--block-cache-pool-size",
    "--block-cache-prefetch",
    "--block-cache-prefetch-on-open",
    "--cache-size-mb",
    "--file-cache-timeout",
    "--log-level",
    "--negative-timeout",
    "--entry-timeout",
    "--cancel-list-on-mount-seconds",
    "--tmp-path",
    "--use-adls",
}
# FUSE options BlobFuse2 understands (Azure/azure-storage-fuse cmd/mount.go, libfuse-options).
KNOWN_FUSE_OPTIONS = {"allow_other", "attr_timeout", "entry_timeout", "negative_timeout", "direct_io"}
LOG_LEVELS = {"LOG_OFF", "LOG_CRIT", "LOG_ERR", "LOG_WARNING", "LOG_INFO", "LOG_DEBUG"}
FILE_CACHE_FLAGS = {"--tmp-path", "--cache-size-mb", "--file-cache-timeout"}


def options(volume) -> dict[str, str]:
    """`--flag=value` and `-o name=value` as {flag or name: value}."""
    parsed = {}
    for option in volume.mount_options:
        if option.startswith("-o "):
            name, _, value = option[3:].partition("=")
        else:
            name, _, value = option.partition("=")
        parsed[name] = value
    return parsed


# --- Valid Kubernetes objects --------------------------------------------------------------------------


def test_the_storage_class_and_every_pv_and_pvc_are_valid_kubernetes_objects():
    objects = [storage_class()]
    for volume in blob_volumes(SETTINGS):
        objects += [persistent_volume(volume, **IDS), persistent_volume_claim(volume, "ray")]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_storage_class_provisions_nothing_so_a_stray_claim_cannot_create_a_key_based_account():
    sc = storage_class()
    assert sc["provisioner"] == "kubernetes.io/no-provisioner"
    assert "parameters" not in sc
    assert sc["reclaimPolicy"] == "Retain"


@pytest.mark.parametrize("volume", blob_volumes(SETTINGS), ids=lambda v: v.container)
def test_each_static_pv_still_binds_its_claim_through_the_class_name(volume):
    pv, pvc = persistent_volume(volume, **IDS), persistent_volume_claim(volume, "ray")
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == storage_class()["metadata"]["name"]
    assert (
        pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]
        and pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    )


# --- Each PV: one container, through the managed identity ---------------------------------------------


@pytest.mark.parametrize("volume", blob_volumes(SETTINGS), ids=lambda v: v.container)
def test_each_pv_mounts_one_container_with_the_workload_identity_token_and_no_key(volume):
    pv = persistent_volume(volume, **IDS)
    assert pv["spec"]["csi"]["volumeAttributes"] == {
        "resourceGroup": "storage-rg",
        "storageAccount": "rayaksdata042",
        "containerName": volume.container,
        "protocol": "fuse2",
        "clientID": IDS["client_id"],
        "mountWithWorkloadIdentityToken": "true",
    }
    assert "nodeStageSecretRef" not in pv["spec"]["csi"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["storageClassName"] == storage_class()["metadata"]["name"]


@pytest.mark.parametrize("volume", blob_volumes(SETTINGS), ids=lambda v: v.container)
def test_each_claim_and_its_pv_name_each_other_and_agree_on_class_access_and_size(volume):
    pv, pvc = persistent_volume(volume, **IDS), persistent_volume_claim(volume, "ray")
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["claimRef"] == {"namespace": "ray", "name": pvc["metadata"]["name"]}
    assert pvc["spec"]["storageClassName"] == pv["spec"]["storageClassName"]
    assert pvc["spec"]["accessModes"] == pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == pv["spec"]["capacity"]["storage"]


def test_the_two_volumes_are_the_two_containers_at_the_two_mount_paths():
    assert [(v.container, v.mount_path) for v in blob_volumes(SETTINGS)] == [
        (DATASETS_CONTAINER, SETTINGS.datasets_mount_path),
        (RESULTS_CONTAINER, SETTINGS.results_mount_path),
    ]
    assert len({v.pv_name for v in blob_volumes(SETTINGS)}) == 2


account_names = st.from_regex(r"[a-z0-9]{3,24}", fullmatch=True)
container_names = st.from_regex(r"[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])", fullmatch=True)


@given(st.tuples(account_names, container_names), st.tuples(account_names, container_names))
def test_volume_handles_are_unique_per_account_and_container_and_never_hold_a_hash(first, second):
    assert "#" not in volume_handle(*first)
    assert (volume_handle(*first) == volume_handle(*second)) == (first == second)


@pytest.mark.parametrize("account, container", [("acct#1", "datasets"), ("", "datasets"), ("acct", "")])
def test_a_volume_handle_the_driver_could_misread_is_refused(account, container):
    with pytest.raises(ValueError):
        volume_handle(account, container)


# --- BlobFuse2 options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", blob_volumes(SETTINGS), ids=lambda v: v.container)
def test_every_mount_option_is_a_real_blobfuse2_flag_or_fuse_option_in_one_token(volume):
    for option in volume.mount_options:
        # The driver joins options with spaces and BlobFuse2's proxy splits them again.
        if option.startswith("-o "):
            assert re.fullmatch(r"-o [a-z_]+(=\d+)?", option), option
            assert option[3:].partition("=")[0] in KNOWN_FUSE_OPTIONS, option
        else:
            assert re.fullmatch(r"--[a-z-]+(=\S+)?", option), option
            assert option.partition("=")[0] in KNOWN_FLAGS, option


@pytest.mark.parametrize("volume", blob_volumes(SETTINGS), ids=lambda v: v.container)
def test_every_volume_lets_the_ray_user_in_logs_warnings_only_and_skips_the_adls_probe(volume):
    parsed = options(volume)
    assert "allow_other" in parsed
    assert parsed["--log-level"] == "LOG_WARNING" and parsed["--log-level"] in LOG_LEVELS
    assert parsed["--use-adls"] == "false"


def test_datasets_use_a_bounded_block_cache_whose_prefetch_fits_the_pool():
    parsed = options(DATASETS)
    assert "--block-cache" in parsed and not FILE_CACHE_FLAGS & parsed.keys()
    assert int(parsed["--block-cache-pool-size"]) == BLOCK_POOL_MB
    # BlobFuse2 refuses a prefetch of 1..10 blocks, and a prefetch that does not fit the pool.
    assert int(parsed["--block-cache-prefetch"]) == BLOCK_PREFETCH > 10
    assert BLOCK_PREFETCH * int(parsed["--block-cache-block-size"]) == BLOCK_PREFETCH * BLOCK_SIZE_MB <= BLOCK_POOL_MB


def test_datasets_cache_attributes_entries_and_absence_for_many_minutes():
    parsed = options(DATASETS)
    assert min(int(parsed[key]) for key in ("attr_timeout", "entry_timeout", "--attr-cache-timeout")) >= 3600
    assert int(parsed["negative_timeout"]) >= 300


def test_results_use_a_bounded_file_cache_on_the_nodes_temp_disk():
    parsed = options(RESULTS)
    assert "--block-cache" not in parsed
    assert parsed["--tmp-path"].startswith("/mnt/") and parsed["--tmp-path"] != RESULTS.mount_path
    assert 0 < int(parsed["--cache-size-mb"]) <= 64 * 1024


def test_results_cache_nothing_past_its_use_since_other_nodes_write_and_prune_there():
    # A trial resumed on another node reads what the first node wrote; the head prunes checkpoints
    # workers wrote: any metadata or closed-file cache lets a node act on a stale view.
    parsed = options(RESULTS)
    assert parsed["negative_timeout"] == "0"
    assert parsed["attr_timeout"] == parsed["entry_timeout"] == parsed["--attr-cache-timeout"] == "0"
    assert parsed["--file-cache-timeout"] == "0"
    assert "direct_io" in parsed


def test_results_upload_a_file_before_its_close_returns():
    # With lazy-write BlobFuse2 uploads after close, in the background: another node could miss a closed
    # checkpoint, and the lease and summary, renamed into place, could be renamed before they exist.
    assert not [option for option in RESULTS.mount_options if "lazy-write" in option or "lazy_write" in option]


def test_each_file_cache_directory_belongs_to_one_volume():
    assert RESULTS.pv_name in options(RESULTS)["--tmp-path"]
    assert volumes.NOMINAL_CAPACITY.endswith("Gi")
