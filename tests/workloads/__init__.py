"""Test workloads: a gcc-built C program and hand-built BPF programs for link tests."""
