"""The stack policy: every BlobFuse volume mounts as a managed identity of the stack that holds a Storage Blob
Data role on exactly that volume's container."""

from __future__ import annotations

import copy

from policy import policies as p
from policy.policies import StackResource
from policy.policies import blob_volume_identities_hold_data_roles as check
from pulumi_internals import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE
from tools.pack import evaluate, stack_args

SUB = "/subscriptions/22222222-2222-2222-2222-222222222222"
ACCOUNT_ID = f"{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/rayaksdata"
CONTRIBUTOR = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# Reader (acdd72a7-...): a control-plane role, no data access.
READER = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
CLIENT_ID, PRINCIPAL_ID = "11111111-aaaa-4000-8000-000000000001", "11111111-aaaa-4000-8000-000000000002"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::ray-aks::{type_}::{name}"


def identity(client_id=CLIENT_ID, principal_id=PRINCIPAL_ID) -> StackResource:
    return StackResource(p.IDENTITY, urn(p.IDENTITY, "ray"), {"clientId": client_id, "principalId": principal_id})


def role(
    container: str,
    scope: str | None = None,
    role_id: str = CONTRIBUTOR,
    principal=PRINCIPAL_ID,
    deps: dict | None = None,
) -> StackResource:
    scope = scope if scope is not None else f"{ACCOUNT_ID}/blobServices/default/containers/{container}"
    return StackResource(
        p.ROLE_ASSIGNMENT,
        urn(p.ROLE_ASSIGNMENT, f"{container}-data"),
        {"principalId": principal, "roleDefinitionId": role_id, "scope": scope},
        property_dependencies=deps or {},
    )


def pv(container: str, client_id=CLIENT_ID, deps: dict | None = None, **attributes) -> StackResource:
    volume_attributes = {
        "storageAccount": "rayaksdata",
        "containerName": container,
        "protocol": "fuse2",
        "clientID": client_id,
        "mountWithWorkloadIdentityToken": "true",
        **attributes,
    }
    if client_id is None:
        del volume_attributes["clientID"]
    return StackResource(
        p.PERSISTENT_VOLUME,
        urn(p.PERSISTENT_VOLUME, f"{container}-pv"),
        {
            "metadata": {"name": f"ray-{container}"},
            "spec": {"csi": {"driver": "blob.csi.azure.com", "volumeAttributes": volume_attributes}},
        },
        property_dependencies=deps or {},
    )


def messages(resources) -> list[str]:
    return [message for message, _ in check(resources)]


def test_volumes_whose_identity_holds_a_data_role_on_their_container_pass():
    assert check([identity(), role("datasets"), role("results"), pv("datasets"), pv("results")]) == []


def test_a_volume_whose_container_has_no_role_is_reported_on_that_volume():
    found = check([identity(), role("datasets"), pv("datasets"), pv("results")])
    assert found == [
        (
            "PersistentVolume 'ray-results': identity '11111111-aaaa-4000-8000-000000000001' holds Storage "
            "Blob Data roles on ['" + ACCOUNT_ID + "/blobServices/default/containers/datasets'], none on "
            "container 'results' alone.",
            urn(p.PERSISTENT_VOLUME, "results-pv"),
        )
    ]


def test_a_role_on_the_whole_account_is_too_wide():
    assert messages([identity(), role("datasets", scope=ACCOUNT_ID), pv("datasets")]) == [
        f"PersistentVolume 'ray-datasets': identity '{CLIENT_ID}' holds Storage Blob Data roles on ['{ACCOUNT_ID}'], "
        "none on container 'datasets' alone."
    ]


def test_a_role_that_is_not_a_blob_data_role_does_not_count():
    assert messages([identity(), role("datasets", role_id=READER), pv("datasets")]) == [
        f"PersistentVolume 'ray-datasets': identity '{CLIENT_ID}' holds no Storage Blob Data role "
        "(e.g. Contributor, ba92f5b4-2d11-453d-a403-e96b0029c9fe)."
    ]


def test_a_role_held_by_another_principal_does_not_count():
    assert (
        "holds no Storage Blob Data role"
        in messages([identity(), role("datasets", principal="someone-else"), pv("datasets")])[0]
    )


def test_a_volume_naming_an_identity_outside_the_stack_is_reported():
    stranger = "99999999-0000-4000-8000-000000000000"
    assert messages([identity(), role("datasets"), pv("datasets", client_id=stranger)]) == [
        "PersistentVolume 'ray-datasets': no UserAssignedIdentity in this stack has clientId "
        "'99999999-0000-4000-8000-000000000000'."
    ]


def test_a_blobfuse_volume_without_a_client_id_is_reported():
    assert "names no clientID" in messages([identity(), role("datasets"), pv("datasets", client_id=None)])[0]


def test_nfs_volumes_need_no_identity():
    assert check([pv("datasets", client_id=None, protocol="nfs")]) == []


def test_at_preview_ids_unknown_yet_are_matched_through_the_dependencies_that_produce_them():
    container = StackResource(
        p.BLOB_CONTAINER,
        urn(p.BLOB_CONTAINER, "datasets"),
        {"containerName": "datasets", "accountName": UNKNOWN_STRING_VALUE},
    )
    ident = identity(client_id=UNKNOWN_STRING_VALUE, principal_id=UNKNOWN_STRING_VALUE)
    grant = role(
        "datasets",
        scope=UNKNOWN_STRING_VALUE,
        principal=UNKNOWN_STRING_VALUE,
        deps={"scope": frozenset({container.urn}), "principalId": frozenset({ident.urn})},
    )
    volume = pv(
        "datasets",
        client_id=UNKNOWN_STRING_VALUE,
        storageAccount=UNKNOWN_STRING_VALUE,
        deps={"spec": frozenset({ident.urn})},
    )
    assert check([ident, container, grant, volume]) == []
    other = StackResource(p.BLOB_CONTAINER, urn(p.BLOB_CONTAINER, "results"), {"containerName": "results"})
    wrong = role(
        "datasets",
        scope=UNKNOWN_STRING_VALUE,
        principal=UNKNOWN_STRING_VALUE,
        deps={"scope": frozenset({other.urn}), "principalId": frozenset({ident.urn})},
    )
    assert "none on container 'datasets' alone" in messages([ident, other, wrong, volume])[0]


def test_a_volume_whose_whole_spec_is_unknown_at_preview_is_judged_at_up():
    unknown = StackResource(p.PERSISTENT_VOLUME, urn(p.PERSISTENT_VOLUME, "x"), {"spec": UNKNOWN_OBJECT_VALUE})
    assert check([unknown]) == []


# --- Through pulumi-policy's StackValidationArgs, on the program's own resources ---------------------


def test_the_dev_stack_passes_through_the_real_policy_object(dev):
    reported = []
    p.BLOB_ROLE_POLICY.validate(stack_args(dev), lambda message, urn=None: reported.append((message, urn)))
    assert reported == []


def test_dropping_the_results_role_assignment_from_the_dev_stack_is_caught(dev):
    without = copy.deepcopy(dev)
    del without.resources[without.one(p.ROLE_ASSIGNMENT, "results-data").urn]
    found = evaluate(without, pack=[p.BLOB_ROLE_POLICY])
    assert [(v.policy, v.urn) for v in found] == [
        (p.BLOB_ROLE_POLICY_NAME, without.one(p.PERSISTENT_VOLUME, "results-pv").urn)
    ]
