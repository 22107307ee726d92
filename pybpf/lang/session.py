"""Tracing session runtime: OWNED BY THE TRACE-RUNTIME ENGINEER (see pybpf/cli/trace_cmd.py)."""
