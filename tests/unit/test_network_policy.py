"""NetworkPolicies, evaluated: Ray pods (ours and RayJobs' clusters) reach each other on any port, the
operator and RayJob submitters reach the dashboard, nothing else reaches any Ray pod, and workers reach
everything but IMDS."""

from __future__ import annotations

import ipaddress

import kubernetes_validate
from hypothesis import given
from hypothesis import strategies as st

import versions
from manifests.network_policy import NAMESPACE_NAME_LABEL, ray_network_policies
from manifests.raycluster import CLIENT_PORT, CLUSTER_LABEL, DASHBOARD_PORT, GCS_PORT, NODE_TYPE_LABEL

NS, CLUSTER, OPERATOR_NS = "ray", "ray-tune", "kuberay-system"
POLICIES = ray_network_policies(NS, OPERATOR_NS)
# The labels KubeRay 1.7.0 puts on the pods it creates (common/pod.go labelPod; rayjob_controller.go).
HEAD = {"ray.io/is-ray-node": "yes", CLUSTER_LABEL: CLUSTER, NODE_TYPE_LABEL: "head", "ray.io/group": "headgroup"}
WORKER = {"ray.io/is-ray-node": "yes", CLUSTER_LABEL: CLUSTER, NODE_TYPE_LABEL: "worker", "ray.io/group": "gpu"}
# A cluster KubeRay made for a RayJob named mnist: named after the job, labelled with its origin.
JOB_HEAD = {**HEAD, CLUSTER_LABEL: "mnist-x7k2p", "ray.io/originated-from-crd": "RayJob"}
JOB_WORKER = {**WORKER, CLUSTER_LABEL: "mnist-x7k2p", "ray.io/originated-from-crd": "RayJob"}
SUBMITTER = {
    "ray.io/originated-from-crd": "RayJob",
    "ray.io/originated-from-cr-name": "mnist",
    "app.kubernetes.io/created-by": "kuberay-operator",
    "batch.kubernetes.io/job-name": "mnist",
}
OPERATOR = {"app.kubernetes.io/name": "kuberay-operator"}


def selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def admits(src_ns: str, src_labels: dict, dst_labels: dict, port: int) -> bool:
    """Kubernetes' semantics for pods in NS: isolated for ingress once a policy selects it; then allowed
    if any rule of any selecting policy matches the peer and the port."""
    selecting = [
        p for p in POLICIES if selects(p["spec"]["podSelector"], dst_labels) and "Ingress" in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p["port"] == port and p["protocol"] == "TCP" for p in ports):
                continue
            for peer in rule.get("from", []):
                ns_ok = (
                    selects(peer["namespaceSelector"], {NAMESPACE_NAME_LABEL: src_ns})
                    if "namespaceSelector" in peer
                    else src_ns == NS
                )
                pod_ok = selects(peer["podSelector"], src_labels) if "podSelector" in peer else True
                if ns_ok and pod_ok:
                    return True
    return False


def egress_admits(src_labels: dict, dst: str) -> bool:
    """Egress from a pod in NS to an address outside the cluster, by Kubernetes' semantics."""
    selecting = [
        p for p in POLICIES if selects(p["spec"]["podSelector"], src_labels) and "Egress" in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return True
    address = ipaddress.ip_address(dst)
    for policy in selecting:
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if (
                    block
                    and address in ipaddress.ip_network(block["cidr"])
                    and not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
                ):
                    return True
    return False


ports = st.integers(1, 65535)
ray_pods = st.sampled_from([HEAD, WORKER])
job_pods = st.sampled_from([JOB_HEAD, JOB_WORKER])


def test_every_policy_is_a_valid_kubernetes_object_in_the_ray_namespace():
    for policy in POLICIES:
        kubernetes_validate.validate(policy, f"{versions.KUBERNETES_VERSION}.0", strict=True)
        assert policy["metadata"]["namespace"] == NS
    assert len({p["metadata"]["name"] for p in POLICIES}) == len(POLICIES)


@given(ray_pods, ray_pods, ports)
def test_ray_pods_of_the_cluster_reach_each_other_on_any_port(src, dst, port):
    assert admits(NS, src, dst, port)


@given(
    st.dictionaries(st.sampled_from(["app", "ray.io/cluster", "team"]), st.sampled_from(["x", "other"])),
    st.sampled_from([NS, "default", "kube-system", "ingress-nginx"]),
    ray_pods,
    ports,
)
def test_no_other_pod_reaches_a_ray_pod_on_any_port(labels, namespace, dst, port):
    assert not admits(namespace, labels, dst, port)


def test_nothing_else_reaches_the_heads_dashboard_client_or_gcs_ports():
    for port in (DASHBOARD_PORT, CLIENT_PORT, GCS_PORT):
        assert not admits("default", {"app": "web"}, HEAD, port)
        assert not admits(NS, {"app": "debug"}, HEAD, port)
        assert not admits(NS, {CLUSTER_LABEL: "another-cluster"}, HEAD, port)


@given(job_pods, job_pods, ports)
def test_the_pods_of_a_rayjobs_cluster_with_another_name_reach_each_other(src, dst, port):
    assert admits(NS, src, dst, port)


@given(st.one_of(st.just(DASHBOARD_PORT), ports))
def test_a_rayjob_submitter_reaches_its_heads_dashboard_and_nothing_else(port):
    for head in (HEAD, JOB_HEAD):
        assert admits(NS, SUBMITTER, head, port) == (port == DASHBOARD_PORT)
    assert not admits(NS, SUBMITTER, JOB_WORKER, port)
    assert not admits("default", SUBMITTER, JOB_HEAD, DASHBOARD_PORT)  # the same labels elsewhere


@given(st.one_of(st.just(DASHBOARD_PORT), ports))
def test_the_operator_reaches_any_heads_dashboard_and_only_the_dashboard(port):
    for head, worker in ((HEAD, WORKER), (JOB_HEAD, JOB_WORKER)):
        assert admits(OPERATOR_NS, OPERATOR, head, port) == (port == DASHBOARD_PORT)
        assert not admits(OPERATOR_NS, OPERATOR, worker, port)


def test_every_pod_of_the_namespace_is_isolated_for_ingress():
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] for p in POLICIES)
    assert not admits(NS, {}, {"app": "anything"}, 80)


@given(st.one_of(st.just(ipaddress.ip_address("169.254.169.254")), st.ip_addresses(v=4)))
def test_workers_reach_every_address_but_the_instance_metadata_service(address):
    for worker in (WORKER, JOB_WORKER):
        assert egress_admits(worker, str(address)) == (str(address) != "169.254.169.254")


def test_workers_keep_every_pod_of_the_cluster_reachable_whatever_the_engine_does_with_ip_blocks():
    egress = next(p for p in POLICIES if "Egress" in p["spec"]["policyTypes"])["spec"]["egress"]
    assert {"to": [{"namespaceSelector": {}}]} in egress


def test_the_head_keeps_open_egress_for_the_autoscalers_calls_to_the_api_server():
    # With Cilium no NetworkPolicy peer matches the API server (cilium#20550): an egress policy on the
    # head would cut the autoscaler off.
    assert egress_admits(HEAD, "20.10.0.1") and egress_admits(HEAD, "169.254.169.254")
