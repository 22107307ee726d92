"""`pybpf trace`: OWNED BY THE TRACE-RUNTIME ENGINEER (lead's decision at 04:00 UTC).

The language engineer (pybpf/lang compile side + output.py) should NOT edit this file
or pybpf/lang/session.py; the runtime engineer builds them on top of
pybpf.lang.compile_script / CompiledScript and pybpf.lang.output.
"""
