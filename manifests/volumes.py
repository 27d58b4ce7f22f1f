"""The two Blob containers as Kubernetes volumes: a StorageClass that provisions nothing, a static PV and
a PVC per container.

Static provisioning with workload identity, as the Blob CSI driver documents it
(kubernetes-sigs/blob-csi-driver docs/driver-parameters.md, "Static Provisioning", and
docs/workload-identity-static-pv-mount.md): the PV names the storage account, resource group and
container; `clientID` + `mountWithWorkloadIdentityToken: "true"` make the driver mount BlobFuse2 with the
pod's service-account token exchanged for the managed identity, so no account key is ever read (the
account refuses shared keys).

Mount options are BlobFuse2 command-line flags (Azure/azure-storage-fuse, `blobfuse2 mount --help`) and
FUSE `-o` options that BlobFuse2 maps onto its libfuse settings (cmd/mount.go). docs/ray-cluster.md says
why each is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from settings import DATASETS_CONTAINER, RESULTS_CONTAINER, Settings

DRIVER = "blob.csi.azure.com"
STORAGE_CLASS = "ray-blobfuse2"
# The class only names our static PVs to their claims: a class with a live provisioner (the Blob CSI
# driver) would create a storage account, with account keys, for any stray claim that names it. Static
# binding needs only that the PV and its claim carry the same class name
# (kubernetes.io/docs/concepts/storage/persistent-volumes, "Class").
NO_PROVISIONER = "kubernetes.io/no-provisioner"
# Blob containers have no size, but a PV needs a capacity and its claim must ask for no more.
NOMINAL_CAPACITY = "100Gi"

# --- BlobFuse2 options, shared -----------------------------------------------------------------------
COMMON_MOUNT_OPTIONS = (
    # Ray runs as uid 1000, BlobFuse2 as root on the node: without allow_other only root could read.
    "-o allow_other",
    # Our account is flat-namespace (no HNS); saying so skips BlobFuse2's account-type probe at mount.
    "--use-adls=false",
    # BlobFuse2 logs to the node's syslog; warnings and errors only.
    "--log-level=LOG_WARNING",
)

# --- datasets: read-mostly, written once by `workloads.data prepare` --------------------------------
# Block cache streams blocks into a bounded memory pool (the memory is the node's, outside any pod limit)
# and refuses random writes, which datasets never need. Prefetch must exceed 10 blocks (BlobFuse2 rejects
# less) and fit the pool: 12 x 16 MiB = 192 MiB of 1024 MiB.
BLOCK_SIZE_MB = 16
BLOCK_POOL_MB = 1024
BLOCK_PREFETCH = 12
# Metadata of a prepared dataset does not change: cache attributes, entries and "no such file" long.
DATASETS_CACHE_SECONDS = 3600
DATASETS_NEGATIVE_SECONDS = 600

# --- results: Tune checkpoints and experiment state, written and rewritten by many nodes -------------
# File cache on the node's temp disk (/mnt on AKS): whole files staged locally, uploaded on close, so
# checkpoint writers may seek and rewrite. Bounded size. The upload runs before close() returns (no
# lazy-write: azure-storage-fuse component/file_cache FlushFile), so a closed file is in the container for
# every node and a rename moves a blob that is there: the run's lease and summary rely on it.
RESULTS_CACHE_MB = 10240
# Tune needs what another node wrote at once, not within a cache's lifetime: a trial restarted on another
# node reads the checkpoint its first node wrote, and the head lists and prunes checkpoint directories
# that workers wrote. With 30 s metadata caches a blob-backed FUSE test lost 2 of 4 trials on resume while
# the job reported success. So nothing is cached past its use: a closed file leaves the file cache at once
# (the next open downloads the current blob), attributes and entries are asked of Blob storage on every
# lookup, absence is never cached, and the kernel's page cache is bypassed (`direct_io`), which
# BlobFuse2's maintainers prescribe for files that change elsewhere (azure-storage-fuse#1683). The cost is
# a Blob request per lookup and a download per open, on a volume mostly written.
RESULTS_CACHE_TIMEOUT_SECONDS = 0
RESULTS_CACHE_SECONDS = 0


def datasets_mount_options() -> list[str]:
    return [
        *COMMON_MOUNT_OPTIONS,
        "--block-cache",
        f"--block-cache-block-size={BLOCK_SIZE_MB}",
        f"--block-cache-pool-size={BLOCK_POOL_MB}",
        f"--block-cache-prefetch={BLOCK_PREFETCH}",
        f"--attr-cache-timeout={DATASETS_CACHE_SECONDS}",
        f"-o attr_timeout={DATASETS_CACHE_SECONDS}",
        f"-o entry_timeout={DATASETS_CACHE_SECONDS}",
        f"-o negative_timeout={DATASETS_NEGATIVE_SECONDS}",
    ]


def results_mount_options(cache_dir: str) -> list[str]:
    return [
        *COMMON_MOUNT_OPTIONS,
        f"--tmp-path={cache_dir}",
        f"--cache-size-mb={RESULTS_CACHE_MB}",
        f"--file-cache-timeout={RESULTS_CACHE_TIMEOUT_SECONDS}",
        f"--attr-cache-timeout={RESULTS_CACHE_SECONDS}",
        f"-o attr_timeout={RESULTS_CACHE_SECONDS}",
        f"-o entry_timeout={RESULTS_CACHE_SECONDS}",
        "-o negative_timeout=0",
        "-o direct_io",
    ]


@dataclass(frozen=True)
class BlobVolume:
    """One Blob container as the Ray pods see it."""

    container: str
    """The Blob container (settings.DATASETS_CONTAINER or RESULTS_CONTAINER)."""
    pv_name: str
    """The PersistentVolume (cluster-scoped, so prefixed with the Ray namespace)."""
    claim_name: str
    """The PersistentVolumeClaim in the Ray namespace; the pods' volume name too."""
    mount_path: str
    """Where every Ray container mounts it."""
    mount_options: tuple[str, ...]


def blob_volumes(settings: Settings) -> tuple[BlobVolume, BlobVolume]:
    """The datasets volume (block cache) and the results volume (file cache), in that order."""
    datasets_pv = f"{settings.ray_namespace}-{DATASETS_CONTAINER}"
    results_pv = f"{settings.ray_namespace}-{RESULTS_CONTAINER}"
    return (
        BlobVolume(
            DATASETS_CONTAINER,
            datasets_pv,
            DATASETS_CONTAINER,
            settings.datasets_mount_path,
            tuple(datasets_mount_options()),
        ),
        # One cache directory per volume on the node's temp disk, like the driver's own /mnt/<volume id>.
        BlobVolume(
            RESULTS_CONTAINER,
            results_pv,
            RESULTS_CONTAINER,
            settings.results_mount_path,
            tuple(results_mount_options(f"/mnt/blobfuse2/{results_pv}")),
        ),
    )


def volume_handle(account: str, container: str) -> str:
    """Unique in the cluster, as the driver requires: account names are globally unique. The driver's
    recommended form `<account>_<container>`; `#` is the separator of the handles it makes itself."""
    if not account or not container or "#" in account + container:
        raise ValueError(f"({account!r}, {container!r}): a volume handle needs an account and a container, no '#'")
    return f"{account}_{container}"


def storage_class() -> dict:
    """The class our PVs and PVCs name, so no default class ever provisions a claim of ours, and which
    provisions nothing itself. Retain: deleting a claim never deletes a container."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS},
        "provisioner": NO_PROVISIONER,
        "reclaimPolicy": "Retain",
        # Our PVs are pre-bound to their claims, so binding need not wait for a pod.
        "volumeBindingMode": "Immediate",
    }


def persistent_volume(volume: BlobVolume, *, namespace: str, resource_group: str, account: str, client_id: str) -> dict:
    """A PV bound to one container through the managed identity, reserved for its claim."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume.pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": DRIVER}},
        "spec": {
            "capacity": {"storage": NOMINAL_CAPACITY},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            # Pre-bound: only our claim may take this PV.
            "claimRef": {"namespace": namespace, "name": volume.claim_name},
            "mountOptions": list(volume.mount_options),
            "csi": {
                "driver": DRIVER,
                "volumeHandle": volume_handle(account, volume.container),
                "volumeAttributes": {
                    "resourceGroup": resource_group,
                    "storageAccount": account,
                    "containerName": volume.container,
                    "protocol": "fuse2",
                    "clientID": client_id,
                    # A string, not a bool (driver-parameters.md); needs driver >= 1.27.
                    "mountWithWorkloadIdentityToken": "true",
                },
            },
        },
    }


def persistent_volume_claim(volume: BlobVolume, namespace: str) -> dict:
    """The claim every Ray pod mounts, bound to its PV by name."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": volume.claim_name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": STORAGE_CLASS,
            "volumeName": volume.pv_name,
            "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
        },
    }
