# Makes the project root importable for tests (settings, components, manifests, workloads, tools).
