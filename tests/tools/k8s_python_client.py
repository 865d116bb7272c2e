"""Lists and watches the testbed's objects with the official Kubernetes Python client.

Usage: k8s_python_client.py KUBECONFIG NAMESPACE
Prints one JSON object: per kind, the listed names and the names seen in a short watch.
Any deserialization error (a missing required field such as ownerReferences[].uid) raises
and exits non-zero, which is what the integration test checks for.
"""

import json
import sys

from kubernetes import client, config, watch


def main() -> None:
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    kinds = {
        "pods": core.list_namespaced_pod,
        "services": core.list_namespaced_service,
        "endpoints": core.list_namespaced_endpoints,
        "statefulsets": apps.list_namespaced_stateful_set,
        "deployments": apps.list_namespaced_deployment,
    }
    out = {}
    for kind, lister in kinds.items():
        listed = lister(namespace)
        items = listed.items
        owner_uids = [
            ref.uid for item in items for ref in (item.metadata.owner_references or [])
        ]
        seen = []
        # A watch from the list's resourceVersion replays nothing and times out; one
        # without a version starts with a synthetic ADDED per object, deserialized too.
        for event in watch.Watch().stream(lister, namespace, timeout_seconds=1):
            seen.append(event["object"].metadata.name)
        out[kind] = {
            "listed": sorted(i.metadata.name for i in items),
            "watched": sorted(set(seen)),
            "uids": all(i.metadata.uid for i in items),
            "created": all(i.metadata.creation_timestamp for i in items),
            "owner_uids": owner_uids,
            "generations": [i.metadata.generation for i in items],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
