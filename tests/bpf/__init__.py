"""Our own clang-built BPF C programs for the object-loader tests (see build.py)."""
