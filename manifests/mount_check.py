"""The init container that refuses to start a Ray pod whose mounts are not BlobFuse2.

Without the CSIDriver's tokenRequests the Blob CSI driver bind-mounts an empty directory and every write
lands on the node's disk (blob-csi-driver#1240). BlobFuse2 mounts with fsname=blobfuse2 (component/libfuse),
so /proc's mountinfo shows source `blobfuse2` and type fuse or fuse.blobfuse2 at the mount point.
"""

from __future__ import annotations

from manifests.containers import CONTAINER_SECURITY_CONTEXT, guaranteed

MOUNT_CHECK_CONTAINER = "check-blobfuse2-mounts"
MOUNT_CHECK_RESOURCES = {"cpu": "100m", "memory": "64Mi"}


def mount_check_script(mount_paths: list[str], mountinfo: str = "/proc/self/mountinfo") -> str:
    """POSIX sh + awk: exit 1 naming the first path that is not a BlobFuse2 FUSE mount. mountinfo fields
    (proc(5)): 5 is the mount point; after the "-" separator come the type and the source. The last mount
    at a path is the one the container sees, so it decides."""
    checks = []
    for path in mount_paths:
        checks.append(
            "awk -v p=" + _sh_quote(path) + ' \'{for (i = 7; i <= NF; i++) if ($i == "-") break; '
            'if ($5 == p) ok = ($(i + 1) ~ /^fuse(\\.|$)/ && $(i + 2) == "blobfuse2")} END {exit !ok}\' '
            + _sh_quote(mountinfo)
            + " || { echo "
            + _sh_quote(
                f"{path} is not a BlobFuse2 mount: refusing to start "
                "(is tokenRequests set on the blob.csi.azure.com CSIDriver?)"
            )
            + " >&2; exit 1; }"
        )
    return "\n".join([*checks, "echo " + _sh_quote("BlobFuse2 mounts: " + " ".join(mount_paths))])


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def mount_check_container(image: str, mounts: list[dict]) -> dict:
    """The check in the Ray container's image (already pulled for it), with the Ray container's Blob mounts
    read-only."""
    return {
        "name": MOUNT_CHECK_CONTAINER,
        "image": image,
        "command": ["sh", "-c", mount_check_script([m["mountPath"] for m in mounts])],
        "volumeMounts": [{**m, "readOnly": True} for m in mounts],
        "resources": guaranteed(MOUNT_CHECK_RESOURCES),
        "securityContext": CONTAINER_SECURITY_CONTEXT,
    }
