"""Parser and probe-spec tests: the tree's shape, precedence, and bpftrace's error text."""

from __future__ import annotations

import pytest

from pybpf.lang import ast
from pybpf.lang.errors import CompileError
from pybpf.lang.parser import parse
from pybpf.lang.probes import ProbeError, parse_probe


def body(src: str) -> list[ast.Stmt]:
    return parse(src).probes[0].body


def expr(text: str) -> ast.Expr:
    stmt = body(f"BEGIN {{ {text}; }}")[0]
    assert isinstance(stmt, ast.ExprStmt)
    return stmt.expr


def show(e: ast.Expr) -> str:
    """A fully parenthesised rendering, to check precedence."""
    if isinstance(e, ast.Binop):
        return f"({show(e.left)} {e.op} {show(e.right)})"
    if isinstance(e, ast.Unop):
        return f"({e.op}{show(e.expr)})" if not e.postfix else f"({show(e.expr)}{e.op})"
    if isinstance(e, ast.Ternary):
        return f"({show(e.cond)} ? {show(e.left)} : {show(e.right)})"
    if isinstance(e, ast.Integer):
        return str(e.value)
    if isinstance(e, ast.Variable | ast.Map):
        return e.name
    if isinstance(e, ast.Builtin):
        return e.name
    if isinstance(e, ast.Cast):
        return f"(({e.to}){show(e.expr)})"
    return type(e).__name__


@pytest.mark.parametrize("text,want", [
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("1 - 2 - 3", "((1 - 2) - 3)"),
    ("1 << 2 + 3", "(1 << (2 + 3))"),
    ("1 < 2 == 3 > 4", "((1 < 2) == (3 > 4))"),
    ("1 | 2 ^ 3 & 4", "(1 | (2 ^ (3 & 4)))"),
    ("1 || 2 && 3", "(1 || (2 && 3))"),
    ("$a ? 1 : $b ? 2 : 3", "($a ? 1 : ($b ? 2 : 3))"),
    ("-$a * !$b", "((-$a) * (!$b))"),
    ("(uint8)$a + 1", "(((uint8)$a) + 1)"),
    ("$x++ + ++$y", "(($x++) + (++$y))"),
    ("pid % 2 == 0 && comm != 0", "(((pid % 2) == 0) && (comm != 0))"),
])
def test_precedence(text: str, want: str) -> None:
    assert show(expr(text)) == want


def test_probes_predicates_and_comments() -> None:
    src = """#!/usr/bin/env bpftrace
// a comment
/* block
   comment */
BEGIN, END { @x = 1 }
tracepoint:syscalls:sys_enter_openat, t:syscalls:sys_exit_* /pid == $1/ { @[comm] = count(); }
uprobe:/bin/bash:readline { printf("%s\\n", str(arg0)); }
"""
    prog = parse(src)
    assert [[a.raw for a in p.attach_points] for p in prog.probes] == [
        ["BEGIN", "END"],
        ["tracepoint:syscalls:sys_enter_openat", "t:syscalls:sys_exit_*"],
        ["uprobe:/bin/bash:readline"],
    ]
    pred = prog.probes[1].pred
    assert isinstance(pred, ast.Binop) and pred.op == "=="
    assert isinstance(pred.right, ast.PositionalParameter) and pred.right.n == 1
    call = prog.probes[2].body[0]
    assert isinstance(call, ast.ExprStmt) and isinstance(call.expr, ast.Call)
    assert call.expr.name == "printf" and call.expr.args[0].value == "%s\n"  # type: ignore


def test_statements() -> None:
    stmts = body("""BEGIN {
        let $v = 5; $t = (1, "a"); $x = $t.1;
        @m[1, "k"] = 2; @m[2, "j"] += 3; @ = count();
        if (1) { } else if (2) { } else { $z = 1 }
        unroll(3) { $i++ } while ($i < 10) { break; continue; }
        for ($kv : @m) { } for ($j : 0..5) { }
        $p = (struct task_struct *)curtask; $s = sizeof(uint32); $o = offsetof(struct x, a.b);
        $y = args->filename; $q = $arr[3]; return;
    }""")
    kinds = [type(s).__name__ for s in stmts]
    assert kinds == ["AssignVar", "AssignVar", "AssignVar", "AssignMap", "AssignMap",
                     "AssignMap", "If", "Unroll", "While", "ForMap", "ForRange", "AssignVar",
                     "AssignVar", "AssignVar", "AssignVar", "AssignVar", "Jump"]
    assert stmts[0].let and stmts[4].op == "+"  # type: ignore[union-attr]
    assert isinstance(stmts[2].expr, ast.TupleAccess) and stmts[2].expr.index == 1  # type: ignore
    m = stmts[3].map  # type: ignore[union-attr]
    assert m.name == "@m" and len(m.keys) == 2
    assert stmts[5].map.name == "@"  # type: ignore[union-attr]
    orelse = stmts[6].orelse  # type: ignore[union-attr]
    assert isinstance(orelse[0], ast.If) and orelse[0].orelse
    cast = stmts[11].expr  # type: ignore[union-attr]
    assert isinstance(cast, ast.Cast) and cast.to.name == "struct task_struct"
    assert cast.to.pointer == 1
    off = stmts[13].expr  # type: ignore[union-attr]
    assert isinstance(off, ast.Offsetof) and off.fields == ["a", "b"]
    fa = stmts[14].expr  # type: ignore[union-attr]
    assert isinstance(fa, ast.FieldAccess) and fa.arrow and fa.field == "filename"


def test_literals() -> None:
    assert expr("0x1f").value == 31  # type: ignore[attr-defined]
    assert expr("1_000_000").value == 1000000  # type: ignore[attr-defined]
    assert expr("1e3").value == 1000  # type: ignore[attr-defined]
    assert expr("010").value == 8  # type: ignore[attr-defined]
    assert expr('"a\\tb\\x41\\101\\""').value == 'a\tbAA"'  # type: ignore[attr-defined]
    t = expr("true")
    assert isinstance(t, ast.Integer) and t.is_bool and t.value == 1


def test_syntax_error_format() -> None:
    with pytest.raises(CompileError) as info:
        parse("BEGIN { @x = ; }")
    assert info.value.text == (
        "stdin:1:14-15: ERROR: syntax error, unexpected ;\n"
        "BEGIN { @x = ; }\n"
        "             ~")
    assert str(info.value).startswith("stdin:1:14-15: ERROR")


def test_error_span_glued_tokens() -> None:
    # bison only steps locations at whitespace: "0x" reads as one span
    with pytest.raises(CompileError) as info:
        parse("BEGIN { $x = 0x; }", "f.bt")
    assert info.value.text.splitlines()[0] == (
        "f.bt:1:14-16: ERROR: syntax error, unexpected identifier, expecting }")


@pytest.mark.parametrize("raw,provider,target,func", [
    ("BEGIN", "BEGIN", "", ""),
    ("end", "END", "", ""),
    ("t:syscalls:sys_enter_*", "tracepoint", "syscalls", "sys_enter_*"),
    ("rt:sched_switch", "rawtracepoint", "", "sched_switch"),
    ("u:/bin/bash:readline", "uprobe", "/bin/bash", "readline"),
    ("ur:/bin/bash:readline", "uretprobe", "/bin/bash", "readline"),
    ("U:/bin/x:probe", "usdt", "/bin/x", "probe"),
    ("p:hz:99", "profile", "hz", ""),
    ("i:s:1", "interval", "s", ""),
    ("s:faults:100", "software", "faults", ""),
    ("k:do_nanosleep", "kprobe", "", "do_nanosleep"),
    ("kr:vfs_read", "kretprobe", "", "vfs_read"),
    ("f:vfs_read", "fentry", "", "vfs_read"),
    ("kfunc:vfs_read", "fentry", "", "vfs_read"),
    ("fr:vfs_read", "fexit", "", "vfs_read"),
    ("iter:task_file", "iter", "task_file", ""),
])
def test_probe_specs(raw: str, provider: str, target: str, func: str) -> None:
    p = parse_probe(raw)
    assert (p.provider, p.target, p.func) == (provider, target, func)


def test_probe_details() -> None:
    p = parse_probe("uprobe:/lib/libc.so.6:malloc+0x10")
    assert (p.func, p.offset) == ("malloc", 16)
    assert parse_probe("uprobe:/bin/sh:0x1234").address == 0x1234
    assert parse_probe("interval:ms:250").interval_ns == 250_000_000
    assert parse_probe("profile:hz:99").freq == 99
    assert parse_probe('uprobe:"/tmp/a b":main').target == "/tmp/a b"
    assert parse_probe("t:syscalls:sys_enter_*").wildcard


@pytest.mark.parametrize("raw,msg", [
    ("tracepoint:syscalls", "tracepoint probe type requires 2 arguments"),
    ("profile:hz", "profile probe type requires 2 arguments"),
    ("kprobe:a:b:c", "kprobe probe type requires 1 argument"),
    ("usdt", "usdt probe type requires 2 or 3 arguments"),
    ("nosuch:x", "Invalid probe type: nosuch"),
    ("profile:hz:abc", "stoull"),
])
def test_probe_errors(raw: str, msg: str) -> None:
    with pytest.raises(ProbeError, match=msg):
        parse_probe(raw)
