"""Turn AKS's user kubeconfig into one that logs in without a person at the keyboard.

For a cluster with Entra ID and local accounts off, `listManagedClusterUserCredentials` returns an exec
kubeconfig running `kubelogin get-token --login devicecode`, which would hang `pulumi up`. This does what
`kubelogin convert-kubeconfig -l <mode>` does (Azure/kubelogin pkg/internal/converter/convert.go): keep
`--server-id`, set `--login`, and keep the client and tenant ids only where the mode needs them.
"""

from __future__ import annotations

import itertools

import yaml

# Arguments each login mode keeps from the original exec block (besides --server-id and --login);
# azurecli, workloadidentity and msi take the rest from `az login` or the environment
# (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).
_KEPT_ARGS = {
    "azurecli": (),
    "workloadidentity": (),
    "msi": (),
    "spn": ("--client-id", "--tenant-id", "--environment"),
}


def kubelogin_kubeconfig(kubeconfig: str, login_mode: str) -> str:
    """Rewrite every kubelogin exec user of `kubeconfig` (YAML text) to `login_mode`."""
    if login_mode not in _KEPT_ARGS:
        raise ValueError(f"unknown kubelogin mode {login_mode!r}; one of {sorted(_KEPT_ARGS)}")
    config = yaml.safe_load(kubeconfig)
    converted = 0
    for user in config.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or "kubelogin" not in str(exec_.get("command", "")).lower():
            continue
        old = _flags(exec_.get("args") or [])
        if "--server-id" not in old:
            raise ValueError(f"kubeconfig user {user.get('name')!r} has no --server-id for kubelogin")
        args = ["get-token", "--login", login_mode, "--server-id", old["--server-id"]]
        for flag in _KEPT_ARGS[login_mode]:
            if flag in old:
                args += [flag, old[flag]]
        exec_.update(command="kubelogin", args=args, apiVersion="client.authentication.k8s.io/v1beta1")
        exec_.pop("env", None)
        converted += 1
    if not converted:
        raise ValueError("kubeconfig has no kubelogin exec user to convert")
    return yaml.safe_dump(config, sort_keys=False)


def _flags(args: list[str]) -> dict[str, str]:
    return {flag: value for flag, value in itertools.pairwise(args) if flag.startswith("--")}
