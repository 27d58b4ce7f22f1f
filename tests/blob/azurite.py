"""Azurite for the storage account and `rclone mount` for BlobFuse2: the Blob tier's stand-ins.

The rclone flags follow the PVs' BlobFuse2 options (manifests/volumes.py) where rclone has a match, and
the behaviour our code relies on where the two differ in kind; tests/blob/test_mounts.py checks that
behaviour on a mount of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import pytest

from manifests.volumes import DATASETS_CACHE_SECONDS, RESULTS_CACHE_SECONDS
from settings import DATASETS_CONTAINER, RESULTS_CONTAINER
from tests.workload.procs import LOOPBACK, free_port, kill_tree, wait_for

# Azurite's well-known development account (Azure/Azurite README, "Default Storage Account").
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def require(*tools: str) -> None:
    """The tools (.ci/run installs them), root and FUSE: skipped without them, except under CI, where their
    absence fails."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        why = f"needs {', '.join(missing)} (.ci/run installs them)"
    elif os.geteuid() != 0 or not Path("/dev/fuse").exists():
        why = "needs root and /dev/fuse: FUSE mounts, each Ray node's in a mount namespace of its own"
    else:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def mount_options(container: str) -> list[str]:
    """rclone flags for a container's mount, after the PV's BlobFuse2 options.

    Both mounts read through without a cache of file data and keep the PVs' metadata-cache lifetimes. The
    results volume's BlobFuse2 file cache uploads a written file while close() runs, before it returns
    (azure-storage-fuse component/file_cache FlushFile; the PV sets no lazy-write), so a rename after it
    moves a blob that is there. rclone's VFS cache uploads after close, in the background, and a rename
    during that upload loses the file (rclone 1.60: "corrupted on transfer", "Removing failed copy"; the
    run's lease and summary vanished so). rclone's `minimal` mode streams a file opened for writing only
    and its close waits for the upload: BlobFuse2's contract. Both mounts refuse random writes, as the
    datasets' block cache does and Tune never asks of results.
    """
    seconds = DATASETS_CACHE_SECONDS if container == DATASETS_CONTAINER else RESULTS_CACHE_SECONDS
    mode = "off" if container == DATASETS_CONTAINER else "minimal"
    return ["--vfs-cache-mode", mode, f"--attr-timeout={seconds}s", f"--dir-cache-time={seconds}s"]


def mount_command(container: str, mount_path: Path | str, cache_dir: Path, log_file: Path) -> list[str]:
    """`rclone mount` of a container as a daemon, logging what it does (INFO) to `log_file`."""
    return [
        "rclone",
        "mount",
        f"az:{container}",
        str(mount_path),
        "--daemon",
        "--allow-non-empty",
        "--cache-dir",
        str(cache_dir),
        *mount_options(container),
        "--log-level",
        "INFO",
        "--log-file",
        str(log_file),
    ]


def rclone_errors(logs: Iterable[Path]) -> list[str]:
    """The last errors these rclone mounts logged (mount_command's log files), for a failure's message."""
    lines = [line for log in logs if log.exists() for line in log.read_text().splitlines()]
    return [line for line in lines if " ERROR " in line][-10:]


def account_sas(expiry: str = "2099-01-01T00:00:00Z") -> str:
    """An account SAS for the blob service (Azure docs: "Create an account SAS", version 2018-11-09).

    rclone's azureblob backend (Debian's 1.60) builds `https://<account>.<endpoint>` from an account and
    key, and its emulator mode has a fixed port; a SAS URL is taken as given, so Azurite can use a free port.
    """
    fields = {"sv": "2018-11-09", "ss": "b", "srt": "sco", "sp": "rwdlac", "se": expiry}
    to_sign = "\n".join(
        [ACCOUNT, fields["sp"], fields["ss"], fields["srt"], "", fields["se"], "", "", fields["sv"], ""]
    )
    digest = hmac.new(base64.b64decode(ACCOUNT_KEY), to_sign.encode(), hashlib.sha256).digest()
    return urllib.parse.urlencode({**fields, "sig": base64.b64encode(digest).decode()})


class Blob:
    """Azurite's blob service on a free port and an rclone remote `az:` for it (configured by environment)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}/{ACCOUNT}"
        self.env = {"RCLONE_CONFIG_AZ_TYPE": "azureblob", "RCLONE_CONFIG_AZ_SAS_URL": f"{self.url}?{account_sas()}"}
        (workdir / "azurite").mkdir()
        self.log = (workdir / "azurite.log").open("w")
        self.proc = subprocess.Popen(
            [
                "azurite-blob",
                "--blobHost",
                LOOPBACK,
                "--blobPort",
                str(self.port),
                "--location",
                str(workdir / "azurite"),
                "--skipApiVersionCheck",
                "--loose",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._up, 60, "Azurite", self.proc)
        for container in (DATASETS_CONTAINER, RESULTS_CONTAINER):
            self.rclone("mkdir", f"az:{container}")

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(f"http://{LOOPBACK}:{self.port}/", timeout=2)
        except urllib.error.HTTPError:
            return True  # it answers (400 for an account-less request)
        except OSError:
            return False
        return True

    def rclone(self, *args: str) -> str:
        return subprocess.run(
            ["rclone", *args], env={**os.environ, **self.env}, check=True, capture_output=True, text=True, timeout=120
        ).stdout

    def files(self, container: str, prefix: str) -> list[str]:
        return [
            entry["Path"]
            for entry in json.loads(self.rclone("lsjson", "-R", "--files-only", f"az:{container}/{prefix}"))
        ]

    def read(self, container: str, path: str) -> str:
        return self.rclone("cat", f"az:{container}/{path}")

    def get(self, container: str, path: str) -> bytes | None:
        """The blob's content straight from Azurite's REST API (Get Blob), at once; None if there is none."""
        url = f"{self.url}/{container}/{urllib.parse.quote(path)}?{account_sas()}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def close(self) -> None:
        kill_tree(self.proc)
        self.log.close()
