"""Line-level lexing for the assembler: comments, listing prefixes, labels, tokens.

Kept apart from the instruction grammar so both syntaxes (uBPF mnemonics and
the kernel/LLVM C-like form) share one notion of token, column and error place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadInput

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)
  | (?P<op>s>>=|s/=|s%=|s>=|s<=|s>|s<|<<=|>>=|\+=|-=|\*=|/=|%=|\|=|&=|\^=|==|!=|>=|<=)
  | (?P<name>%?[A-Za-z_.$][\w.$]*)
  | (?P<punct>[-+*/()\[\],:=<>&\#%|^!])
    """,
    re.VERBOSE,
)

# "  12: (b7) r0 = 1" (bpftool) or "  12:\tb7 00 00 00 01 00 00 00\tr0 = 0x1" (llvm-objdump)
_SLOT_BYTES = r"(?:[0-9a-fA-F]{2}\s){7}[0-9a-fA-F]{2}"
_LISTING = re.compile(
    r"^\s*\d+:\s+(?:\((?P<op>[0-9a-fA-F]{2})\)\s+|"
    rf"(?P<bytes>{_SLOT_BYTES}(?:\s{_SLOT_BYTES})?)\s+)?"
)
_HEX_BYTES_LINE = re.compile(rf"^\s*{_SLOT_BYTES}(?:\s+{_SLOT_BYTES})?\s*$")
_OBJDUMP_SYMBOL = re.compile(r"^\s*[0-9a-fA-F]+\s+<(?P<name>[^>\s]+)>:\s*$")
# bpftool prints a BTF function header above each function: "int prog(void * ctx):"
_FUNC_HEADER = re.compile(r"^\s*[A-Za-z_][\w \t*]*?\b(?P<name>[A-Za-z_]\w*)\s*\([^()]*\)\s*:\s*$")
_OBJDUMP_NOISE = re.compile(r"^\s*(?:Disassembly of section .*:|\S+:\s+file format .*)\s*$")
_LABEL = re.compile(r"^\s*(?P<name>[A-Za-z_.$][\w.$]*)\s*:(?!=)")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "op", "name", "punct", "end"
    text: str
    col: int  # 1-based column in the original line

    @property
    def value(self) -> int:
        return int(self.text, 0)


@dataclass(slots=True)
class Line:
    """One source line after comments, listing prefixes and labels are taken off."""

    number: int
    text: str  # the original line
    labels: list[tuple[str, int]]  # (name, column)
    tokens: list[Token]
    listed_opcode: int | None = None  # the opcode a bpftool/objdump listing showed
    listed_regs: int | None = None  # the src/dst byte an llvm-objdump listing showed


def strip_comment(text: str) -> str:
    """Cut ``;`` and ``//`` comments, and ``#`` comments that start a word (not ``name#1``)."""
    cut = len(text)
    for marker in (";", "//"):
        at = text.find(marker)
        if at != -1:
            cut = min(cut, at)
    at = -1
    while True:
        at = text.find("#", at + 1, cut)
        if at == -1:
            break
        if at == 0 or text[at - 1].isspace():
            cut = at
            break
    return text[:cut]


def tokenize(text: str, start: int, where: str) -> list[Token]:
    """Tokens of ``text[start:]`` with 1-based columns; raises ``BadInput`` on a stray character."""
    toks: list[Token] = []
    pos = start
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise BadInput(f"{where}:{pos + 1}: unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(Token(kind, m.group(), pos + 1))
        pos = m.end()
    toks.append(Token("end", "", n + 1))
    return toks


def split_line(number: int, text: str, filename: str) -> Line | None:
    """Lex one line; None when it holds nothing (blank, comment, listing noise)."""
    body = strip_comment(text).rstrip()
    if not body.strip() or _OBJDUMP_NOISE.match(body) or _HEX_BYTES_LINE.match(body):
        return None
    labels: list[tuple[str, int]] = []
    m = _OBJDUMP_SYMBOL.match(body) or _FUNC_HEADER.match(body)
    if m:
        return Line(number, text, [(m.group("name"), m.start("name") + 1)], [])
    pos = 0
    listed: int | None = None
    regs: int | None = None
    m = _LISTING.match(body)
    if m:
        pos = m.end()
        if m.group("op"):
            listed = int(m.group("op"), 16)
        elif m.group("bytes"):
            listed, regs = int(m.group("bytes")[:2], 16), int(m.group("bytes")[3:5], 16)
    while True:
        m = _LABEL.match(body, pos)
        if not m:
            break
        labels.append((m.group("name"), m.start("name") + 1))
        pos = m.end()
    toks = tokenize(body, pos, f"{filename}:{number}")
    return Line(number, text, labels, toks, listed, regs)
