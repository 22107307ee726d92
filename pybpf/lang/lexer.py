"""Tokens of the bpftrace language, with bison-style names for error messages.

The lexer is pulled by the parser one token at a time because probe headers
(``uprobe:/bin/bash:readline``) are lexed differently from statements: the
parser switches ``attach_mode`` on while it reads them.
"""

from __future__ import annotations

import re

from .._record import dataclass
from .errors import Diagnostics, Loc

KEYWORDS = {
    "if", "else", "unroll", "while", "for", "return", "break", "continue",
    "sizeof", "offsetof", "let", "struct", "union",
}
INT_TYPES = {"bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"}
SIZED_TYPES = {"string", "inet", "buffer"}
BUILTIN_TYPES = {"void", "min_t", "max_t", "sum_t", "count_t", "avg_t", "stats_t", "umin_t",
                 "umax_t", "usum_t", "ucount_t", "uavg_t", "ustats_t", "timestamp",
                 "macaddr_t", "cgroup_path_t", "strerror_t"}
BUILTINS = {
    "pid", "tid", "uid", "gid", "nsecs", "elapsed", "numaid", "cpu", "curtask", "rand", "ctx",
    "comm", "kstack", "ustack", "retval", "func", "probe", "username", "args", "cgroup",
    "cpid", "jiffies", "usermode", "ncpus",
    *(f"arg{i}" for i in range(10)), *(f"sarg{i}" for i in range(10)),
}
CALLS = {
    "avg", "buf", "cat", "cgroupid", "clear", "count", "delete", "exit", "hist", "join",
    "kaddr", "kptr", "ksym", "lhist", "macaddr", "max", "min", "ntop", "override", "print",
    "printf", "cgroup_path", "reg", "signal", "stats", "str", "strftime", "strncmp", "sum",
    "system", "time", "uaddr", "uptr", "usym", "zero", "path", "unwatch", "bswap",
    "skboutput", "strerror", "has_key", "len", "strcontains", "debugf", "errorf", "warnf",
    "kstack", "ustack", "nsecs",
}

_OPS = sorted(
    ["<<=", ">>=", "->", "++", "--", "==", "!=", "<=", ">=", "<<", ">>", "&&", "||", "+=",
     "-=", "*=", "/=", "%=", "&=", "|=", "^=", "..", ":", ";", "{", "}", "[", "]", "(", ")",
     "?", ",", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", "."],
    key=len, reverse=True,
)
_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_INT = re.compile(r"0[xX][0-9a-fA-F]+|[0-9](?:[0-9_]*[0-9])?(?:[eE][0-9]+)?")
_ENDPRED = re.compile(r"/[ \t\r\n]*\{")
_SPACE = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"//[^\n]*|/\*(?:.|\n)*?\*/")
_WS = re.compile(r"(?:[ \t\r\n]+|//[^\n]*|/\*(?:.|\n)*?\*/)+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "e": "\x1b", "0": "\0"}


@dataclass(slots=True)
class Token:
    """``kind`` is the name bison would print ("integer", "map", ";", "end of file")."""

    kind: str
    text: str
    loc: Loc
    value: object = None


class Lexer:
    def __init__(self, source: str, diags: Diagnostics) -> None:
        self.src = source
        self.diags = diags
        self.pos = 0
        self.line = 1
        self.col = 1
        if source.startswith("#!"):  # shebang line
            nl = source.find("\n")
            self._advance(len(source) if nl < 0 else nl)
        self.buf: list[Token] = []
        self.attach_mode = False
        self.step = (self.line, self.col)
        self._ends: dict[tuple[int, int], tuple[int, int]] = {}
        self.prev_end = (1, 1)  # end of the last consumed token, for empty-rule locations

    # -- positions -------------------------------------------------------
    def _advance(self, n: int) -> None:
        chunk = self.src[self.pos:self.pos + n]
        nl = chunk.count("\n")
        if nl:
            self.line += nl
            self.col = len(chunk) - chunk.rfind("\n")
        else:
            self.col += n
        self.pos += n

    def _tok(self, kind: str, n: int, value: object = None) -> Token:
        # bison's location only "steps" at whitespace, so a token glued to the previous
        # one (no space between) starts where that one started; bpftrace shows that span.
        line, col = self.step
        text = self.src[self.pos:self.pos + n]
        self._advance(n)
        return Token(kind, text, Loc(line, col, self.line, self.col), value)

    # -- the parser's interface -----------------------------------------
    def peek(self, n: int = 0) -> Token:
        while len(self.buf) <= n:
            self.buf.append(self._next())
        return self.buf[n]

    def prev_end_before(self, tok: Token) -> tuple[int, int]:
        """Where the token before ``tok`` ended (bison's location of an empty rule)."""
        return self._ends.get((tok.loc.line, tok.loc.col), (tok.loc.line, tok.loc.col))

    def take(self) -> Token:
        tok = self.peek()
        self._ends[(tok.loc.line, tok.loc.col)] = self.prev_end
        self.buf.pop(0)
        self.prev_end = (tok.loc.end_line, tok.loc.end_col)
        return tok

    # -- scanning --------------------------------------------------------
    def _skip_ws(self) -> None:
        while True:
            m = _SPACE.match(self.src, self.pos)
            if m:
                self._advance(m.end() - self.pos)
                self.step = (self.line, self.col)
                continue
            m = _COMMENT.match(self.src, self.pos)
            if m:
                self._advance(m.end() - self.pos)
                continue
            break
        if self.src.startswith("/*", self.pos):  # unterminated comment: swallow the rest
            self._advance(len(self.src) - self.pos)

    def _next(self) -> Token:
        self._skip_ws()
        if self.pos >= len(self.src):
            return Token("end of file", "", Loc(*self.step, self.line, self.col))
        if self.attach_mode:
            return self._attach()
        s, p = self.src, self.pos
        c = s[p]
        if c == '"':
            return self._string()
        if c == "$":
            if s.startswith("$#", p):
                return self._tok("$#", 2)
            m = re.compile(r"\$([0-9]+)").match(s, p)
            if m:
                return self._tok("positional parameter", m.end() - p, int(m.group(1)))
            m = _IDENT.match(s, p + 1)
            if m:
                return self._tok("variable", m.end() - p)
        if c == "@":
            m = _IDENT.match(s, p + 1)
            return self._tok("map", (m.end() if m else p + 1) - p)
        if c.isdigit():
            m = _INT.match(s, p)
            assert m is not None
            return self._tok("integer", m.end() - p, _int_value(m.group()))
        if c == "_" or c.isalpha():
            m = _IDENT.match(s, p)
            assert m is not None
            word = m.group()
            if word in KEYWORDS:
                kind = word
            elif word in INT_TYPES:
                kind = "integer type"
            elif word in SIZED_TYPES:
                kind = "sized type"
            elif word in BUILTIN_TYPES:
                kind = "builtin type"
            elif word in ("true", "false"):
                return self._tok("integer", len(word), word == "true")
            elif word in CALLS and _next_char(s, m.end()) == "(":
                kind = "call"
            elif word in BUILTINS:
                kind = "builtin"
            else:
                kind = "identifier"
            return self._tok(kind, len(word))
        if c == "/":
            m = _ENDPRED.match(s, p)
            if m:
                return self._tok("end predicate", 1)
        for op in _OPS:
            if s.startswith(op, p):
                return self._tok(op, len(op))
        tok = self._tok("invalid character", 1)
        raise self.diags.fail(tok.loc, f"invalid character '{c}'")

    def _string(self) -> Token:
        s, p = self.src, self.pos + 1
        out: list[str] = []
        while p < len(s) and s[p] != '"':
            ch = s[p]
            if ch == "\n":
                break
            if ch == "\\" and p + 1 < len(s):
                e = s[p + 1]
                if e == "x":
                    m = re.compile(r"[0-9a-fA-F]{1,2}").match(s, p + 2)
                    if m:
                        out.append(chr(int(m.group(), 16)))
                        p = m.end()
                        continue
                elif e in "01234567":
                    m = re.compile(r"[0-7]{1,3}").match(s, p + 1)
                    assert m is not None
                    out.append(chr(int(m.group(), 8) & 0xFF))
                    p = m.end()
                    continue
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    p += 2
                    continue
                line, col = self.step
                raise self.diags.fail(Loc(line, col, self.line, self.col + (p - self.pos) + 2),
                                      f"invalid escape character '\\{e}'")
            out.append(ch)
            p += 1
        if p >= len(s) or s[p] != '"':
            end = s.find("\n", self.pos)
            if end < 0:
                tok = self._tok("string", len(s) - self.pos)
                eof_loc = tok.loc
            else:  # bison counts the newline into the string's span, then steps a line
                tok = self._tok("string", end - self.pos)
                tok.loc = Loc(tok.loc.line, tok.loc.col, tok.loc.end_line, tok.loc.end_col + 1)
                eof_loc = Loc(tok.loc.line + 1, 1, tok.loc.line + 1, 1)
            self.diags.error(tok.loc, "unterminated string")
            raise self.diags.fail(eof_loc, "syntax error, unexpected end of file")
        return self._tok("string", p + 1 - self.pos, "".join(out))

    def _attach(self) -> Token:
        s, p = self.src, self.pos
        c = s[p]
        if c in "{,};()=":
            return self._tok(c, 1)
        if c == "/":
            return self._tok("/", 1)
        q = p
        while q < len(s) and s[q] not in " \t\r\n{,};=":
            if s[q] == '"':
                close = s.find('"', q + 1)
                q = len(s) if close < 0 else close + 1
                continue
            q += 1
        return self._tok("attach point", q - p)


def _next_char(s: str, p: int) -> str:
    m = _WS.match(s, p)
    if m:
        p = m.end()
    return s[p] if p < len(s) else ""


def _int_value(text: str) -> int:
    t = text.replace("_", "")
    if t[:2].lower() == "0x":
        return int(t, 16)
    if "e" in t.lower():
        base, exp = t.lower().split("e")
        return int(base) * 10 ** int(exp)
    if len(t) > 1 and t[0] == "0":
        return int(t, 8) if all(ch in "01234567" for ch in t) else int(t)
    return int(t)
