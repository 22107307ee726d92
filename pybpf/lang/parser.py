"""Recursive-descent parser for the bpftrace grammar, with bison-style syntax errors.

Precedence follows C (and bpftrace's parser.yy): ``?:`` < ``||`` < ``&&`` < ``|``
< ``^`` < ``&`` < equality < relational < shifts < additive < multiplicative <
unary < postfix. Assignment is a statement, not an expression, as in bpftrace.
"""

from __future__ import annotations

from . import ast
from .errors import CompileError, Diagnostics, Loc
from .lexer import Lexer, Token

_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="),
    ("<<", ">>"), ("+", "-"), ("*", "/", "%"),
]
_COMPOUND = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%", "&=": "&", "|=": "|",
             "^=": "^", "<<=": "<<", ">>=": ">>"}
_UNARY_START = ("integer", "string", "builtin", "call", "identifier", "map", "variable",
                "positional parameter", "$#", "(", "-", "!", "~", "*", "&", "++", "--",
                "sizeof", "offsetof")
_TYPE_START = ("integer type", "sized type", "builtin type", "struct", "union")
_WORD_KINDS = ("identifier", "builtin", "call", "integer type", "sized type", "builtin type",
               *sorted(("if", "else", "unroll", "while", "for", "return", "break", "continue",
                        "sizeof", "offsetof", "let", "struct", "union")))


class Parser:
    def __init__(self, source: str, filename: str = "stdin") -> None:
        self.diags = Diagnostics(filename, source)
        self.lex = Lexer(source, self.diags)

    # -- token helpers ---------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.lex.peek()

    def at(self, *kinds: str) -> bool:
        return self.lex.peek().kind in kinds

    def take(self) -> Token:
        return self.lex.take()

    def accept(self, kind: str) -> Token | None:
        return self.take() if self.at(kind) else None

    def syntax_error(self, expecting: str | None = None, tok: Token | None = None) -> CompileError:
        tok = tok or self.tok
        msg = f"syntax error, unexpected {tok.kind}"
        if expecting:
            msg += f", expecting {expecting}"
        return self.diags.fail(tok.loc, msg)

    def expect(self, kind: str) -> Token:
        if not self.at(kind):
            raise self.syntax_error(kind)
        return self.take()

    # -- program ---------------------------------------------------------
    def parse(self) -> ast.Program:
        self.lex.attach_mode = True
        start = self.tok.loc
        cdefs = self._c_definitions()
        probes: list[ast.Probe] = []
        while not self.at("end of file"):
            probes.append(self.probe(len(probes)))
            self.lex.attach_mode = True
        if not probes:
            raise self.diags.fail(self.tok.loc, "syntax error, unexpected end of file")
        return ast.Program(start.to(self.tok.loc), probes, [], cdefs)

    def _c_definitions(self) -> str:
        """Swallow ``#include`` lines and C struct definitions at the top (kept as text)."""
        parts: list[str] = []
        lx = self.lex
        while True:
            lx._skip_ws()
            src = lx.src
            if src.startswith("#", lx.pos):
                end = src.find("\n", lx.pos)
                end = len(src) if end < 0 else end
                parts.append(src[lx.pos:end])
                lx._advance(end - lx.pos)
                continue
            if src.startswith(("struct ", "union ", "enum "), lx.pos):
                brace = src.find("{", lx.pos)
                semi = src.find(";", lx.pos)
                if brace < 0 or (0 <= semi < brace):
                    break
                head = src[lx.pos:brace]
                if ":" in head:  # a probe such as "struct:..." is not a definition
                    break
                depth, q = 0, brace
                while q < len(src):
                    depth += {"{": 1, "}": -1}.get(src[q], 0)
                    q += 1
                    if depth == 0:
                        break
                semi = src.find(";", q)
                q = len(src) if semi < 0 else semi + 1
                parts.append(src[lx.pos:q])
                lx._advance(q - lx.pos)
                continue
            break
        return "\n".join(parts)

    def probe(self, index: int) -> ast.Probe:
        aps: list[ast.AttachPoint] = []
        first = self.tok
        while True:
            tok = self.tok
            if tok.kind != "attach point":
                raise self.syntax_error("{" if tok.kind in "};()=" else None)
            self.take()
            # bison starts an attach point where the previous token ended (an empty rule)
            line, col = self.lex.prev_end_before(tok)
            loc = tok.loc if not aps and not index else Loc(line, col, tok.loc.end_line,
                                                           tok.loc.end_col)
            aps.append(ast.AttachPoint(loc, tok.text))
            if not self.accept(","):
                break
        if self.at("end of file"):
            line, col = self.lex.prev_end_before(first)
            loc = Loc(line, col, self.tok.loc.end_line, self.tok.loc.end_col)
            raise self.diags.fail(loc, "unexpected end of file, expected {")
        pred = None
        if self.at("/"):
            self.take()
            self.lex.attach_mode = False
            pred = self.expr()
            self.expect("end predicate")
            self.take_slash()
        elif not self.at("{"):
            raise self.syntax_error()
        self.lex.attach_mode = False
        body, bloc = self.block()
        return ast.Probe(first.loc.to(bloc), aps, pred, body, index)

    def take_slash(self) -> None:
        """The end-predicate token was only the '/', the '{' follows."""

    # -- statements ------------------------------------------------------
    def block(self) -> tuple[list[ast.Stmt], Loc]:
        self.expect("{")
        stmts: list[ast.Stmt] = []
        while not self.at("}"):
            if self.at("end of file"):
                raise self.syntax_error("}")
            stmt, needs_semi = self.statement()
            stmts.append(stmt)
            if needs_semi:
                if self.accept(";"):
                    continue
                if not self.at("}"):
                    raise self.syntax_error("}")
        end = self.take()
        return stmts, end.loc

    def statement(self) -> tuple[ast.Stmt, bool]:
        tok = self.tok
        k = tok.kind
        if k == "if":
            return self.if_stmt(), False
        if k == "unroll":
            self.take()
            self.expect("(")
            if self.at("integer", "positional parameter", "$#"):
                count = self.primary()
            elif self.at("-"):
                count = self.unary()
            else:
                raise self.diags.fail(
                    tok.loc.to(self.tok.loc),
                    f"syntax error, unexpected {self.tok.kind}, expecting $# or - or "
                    "positional parameter or integer")
            close = self.expect(")")
            body, _ = self.block()
            return ast.Unroll(tok.loc.to(close.loc), count, body), False
        if k == "while":
            self.take()
            self.expect("(")
            cond = self.expr()
            close = self.expect(")")
            body, _ = self.block()
            return ast.While(tok.loc.to(close.loc), cond, body), False
        if k == "for":
            return self.for_stmt(), False
        if k == "{":
            body, end = self.block()
            return ast.If(tok.loc.to(end), ast.Integer(tok.loc, 1), body), False
        if k in ("break", "continue"):
            self.take()
            return ast.Jump(tok.loc, k), True
        if k == "return":
            self.take()
            if not self.at(";", "}"):  # bpftrace 0.17: return takes no value
                raise self.syntax_error("}")
            return ast.Jump(tok.loc, k), True
        if k == "let":
            return self.let_stmt(), True
        if k == ";":
            raise self.syntax_error("}")
        e = self.expr()
        if self.tok.kind == "=" or self.tok.kind in _COMPOUND:
            op_tok = self.tok
            if isinstance(e, ast.TupleAccess):
                self.take()
                value = self.expr()
                raise self.diags.fail(e.loc.to(value.loc), "Tuples are immutable once created. "
                                      "Consider creating a new tuple and assigning it instead.")
            if not isinstance(e, ast.Map | ast.Variable):
                raise self.syntax_error("}")
            self.take()
            value = self.expr()
            op = _COMPOUND.get(op_tok.kind)
            if isinstance(e, ast.Map):
                return ast.AssignMap(e.loc.to(value.loc), e, value, op, op_tok.loc), True
            return ast.AssignVar(e.loc.to(value.loc), e, value, op, op_loc=op_tok.loc), True
        return ast.ExprStmt(e.loc, e), True

    def let_stmt(self) -> ast.Stmt:
        let = self.take()
        vtok = self.expect("variable")
        var = ast.Variable(vtok.loc, vtok.text)
        decl = None
        if self.accept(":"):
            decl = self.type_spec()
        if self.accept("="):
            value = self.expr()
            return ast.AssignVar(let.loc.to(value.loc), var, value, None, True, decl, let.loc)
        return ast.VarDecl(let.loc.to(vtok.loc), var, decl)

    def if_stmt(self) -> ast.If:
        tok = self.take()
        self.expect("(")
        cond = self.expr()
        close = self.expect(")")
        then, end = self.block()
        orelse: list[ast.Stmt] = []
        if self.accept("else"):
            if self.at("if"):
                orelse = [self.if_stmt()]
            else:
                orelse, end = self.block()
        node = ast.If(tok.loc.to(close.loc), cond, then, orelse)
        return node

    def for_stmt(self) -> ast.Stmt:
        tok = self.take()
        self.expect("(")
        vtok = self.expect("variable")
        var = ast.Variable(vtok.loc, vtok.text)
        self.expect(":")
        if self.at("map"):
            m = self.postfix()
            close = self.expect(")")
            if not isinstance(m, ast.Map):
                raise self.syntax_error(tok=close)
            body, _ = self.block()
            return ast.ForMap(tok.loc.to(close.loc), var, m, body)
        start = self.expr()
        self.expect("..")
        end = self.expr()
        close = self.expect(")")
        body, _ = self.block()
        return ast.ForRange(tok.loc.to(close.loc), var, start, end, body)

    # -- expressions -----------------------------------------------------
    def expr(self) -> ast.Expr:
        cond = self.binary(0)
        if self.at("?"):
            self.take()
            left = self.expr()
            self.expect(":")
            right = self.expr()
            return ast.Ternary(cond.loc.to(right.loc), cond, left, right)
        return cond

    def binary(self, level: int) -> ast.Expr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = _BINARY_LEVELS[level]
        while self.tok.kind in ops:
            op_tok = self.take()
            right = self.binary(level + 1)
            left = ast.Binop(left.loc.to(right.loc), op_tok.kind, left, right, op_tok.loc)
        return left

    def unary(self) -> ast.Expr:
        tok = self.tok
        if tok.kind in ("-", "!", "~", "*", "&"):
            self.take()
            e = self.unary()
            if tok.kind == "-" and isinstance(e, ast.Integer) and not e.is_bool:
                return ast.Integer(tok.loc.to(e.loc), -e.value)
            return ast.Unop(tok.loc.to(e.loc), tok.kind, e, False, tok.loc)
        if tok.kind in ("++", "--"):
            self.take()
            e = self.unary()
            return ast.Unop(tok.loc.to(e.loc), tok.kind, e, False, tok.loc)
        if (tok.kind == "(" and self.lex.peek(1).kind == "identifier"
                and self.lex.peek(2).kind == ")" and self.lex.peek(3).kind in _UNARY_START):
            self.take()
            name = self.take()
            close = self.take()
            e = self.unary()
            cast = ast.Cast(tok.loc.to(e.loc), ast.TypeSpec(name.text), e)
            cast.type_loc = tok.loc.to(close.loc)
            return cast
        if tok.kind == "(" and self.lex.peek(1).kind in _TYPE_START:
            self.take()
            ts = self.type_spec()
            if not self.at(")"):
                raise self.syntax_error(') or ","')
            close = self.take()
            e = self.unary()
            cast = ast.Cast(tok.loc.to(e.loc), ts, e)
            cast.type_loc = tok.loc.to(close.loc)
            return cast
        return self.postfix()

    def type_spec(self) -> ast.TypeSpec:
        tok = self.take()
        if tok.kind in ("struct", "union"):
            name_tok = self.tok
            if name_tok.kind not in _WORD_KINDS:
                raise self.syntax_error("identifier")
            self.take()
            ts = ast.TypeSpec(f"{tok.kind} {name_tok.text}")
        elif tok.kind in ("integer type", "sized type", "builtin type"):
            ts = ast.TypeSpec(tok.text)
            if self.at("["):
                self.take()
                n = self.expect("integer")
                self.expect("]")
                if tok.kind == "sized type":
                    ts.size = int(n.value)  # type: ignore[call-overload]
                else:
                    ts.array = int(n.value)  # type: ignore[call-overload]
        else:
            raise self.syntax_error(tok=tok)
        while self.accept("*"):
            ts.pointer += 1
        return ts

    def postfix(self) -> ast.Expr:
        e = self.primary()
        while True:
            k = self.tok.kind
            if k in (".", "->"):
                self.take()
                ftok = self.tok
                if k == "." and ftok.kind == "integer":
                    self.take()
                    e = ast.TupleAccess(e.loc.to(ftok.loc), e, int(ftok.value))  # type: ignore[call-overload]
                    continue
                if ftok.kind not in _WORD_KINDS:
                    raise self.syntax_error()
                self.take()
                e = ast.FieldAccess(e.loc.to(ftok.loc), e, ftok.text, k == "->")
            elif k == "[":
                self.take()
                idx = self.expr()
                close = self.expect("]")
                e = ast.ArrayAccess(e.loc.to(close.loc), e, idx)
            elif k in ("++", "--"):
                op = self.take()
                e = ast.Unop(e.loc.to(op.loc), k, e, postfix=True)
            else:
                return e

    def vargs(self, close: str) -> tuple[list[ast.Expr], Token]:
        args: list[ast.Expr] = []
        if not self.at(close):
            args.append(self.expr())
            while self.accept(","):
                args.append(self.expr())
        if not self.at(close):
            raise self.syntax_error(f'{close} or ","')
        return args, self.take()

    def primary(self) -> ast.Expr:
        tok = self.tok
        k = tok.kind
        if k == "integer":
            self.take()
            if isinstance(tok.value, bool):
                return ast.Integer(tok.loc, int(tok.value), is_bool=True)
            return ast.Integer(tok.loc, int(tok.value))  # type: ignore[call-overload]
        if k == "string":
            self.take()
            return ast.String(tok.loc, str(tok.value))
        if k == "builtin":
            self.take()
            return ast.Builtin(tok.loc, tok.text)
        if k in ("call", "identifier") and self.lex.peek(1).kind == "(":
            self.take()
            self.take()
            args, end = self.vargs(")")
            return ast.Call(tok.loc.to(end.loc), tok.text, args, tok.loc)
        if k == "identifier":
            self.take()
            return ast.Identifier(tok.loc, tok.text)
        if k == "map":
            self.take()
            if self.at("["):
                self.take()
                keys, end = self.vargs("]")
                return ast.Map(tok.loc.to(end.loc), tok.text, keys, tok.loc)
            return ast.Map(tok.loc, tok.text, [], tok.loc)
        if k == "variable":
            self.take()
            return ast.Variable(tok.loc, tok.text)
        if k == "positional parameter":
            self.take()
            return ast.PositionalParameter(tok.loc, int(tok.value))  # type: ignore[call-overload]
        if k == "$#":
            self.take()
            return ast.PositionalParameter(tok.loc, 0)
        if k in ("sizeof", "offsetof"):
            self.take()
            self.expect("(")
            of: ast.TypeSpec | ast.Expr = (self.type_spec() if self.at(*_TYPE_START)
                                           else self.expr())
            fields: list[str] = []
            if k == "offsetof":
                self.expect(",")
                while True:
                    f = self.tok
                    if f.kind not in _WORD_KINDS:
                        raise self.syntax_error("identifier")
                    fields.append(self.take().text)
                    if not self.accept("."):
                        break
            end = self.expect(")")
            if k == "sizeof":
                return ast.Sizeof(tok.loc.to(end.loc), of)
            return ast.Offsetof(tok.loc.to(end.loc), of, fields)
        if k == "(":
            self.take()
            first = self.expr()
            if self.at(","):
                elems = [first]
                while self.accept(","):
                    elems.append(self.expr())
                end = self.expect(")")
                return ast.Tuple(tok.loc.to(end.loc), elems)
            self.expect(")")
            return first
        raise self.syntax_error()


def parse(source: str, filename: str = "stdin") -> ast.Program:
    """Parse a whole script; raises ``CompileError`` with bpftrace-format text."""
    return Parser(source, filename).parse()
