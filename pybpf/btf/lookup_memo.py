"""What name lookups in a BTF blob found, and vmlinux's copy of it kept on disk per boot.

Finding a type by name in the lazy reader means scanning megabytes of strings and
records, and walking every record before it to know where records start: ~25 ms for
the handful of types a CO-RE object needs, in every new process. The kernel's BTF
cannot change until the next boot, so the answers (and the record boundaries) are
saved once per boot under ``$PYBPF_CACHE_DIR`` (default ``$XDG_CACHE_HOME/pybpf`` or
``~/.cache/pybpf``), keyed by the boot id and the blob's size, and read back by the
next process. Everything read back is checked against the blob (each remembered id
must carry the remembered name), so a stale or corrupt file is ignored, never
trusted. ``PYBPF_NO_CACHE=1`` turns the file off.
"""

from __future__ import annotations

import os

from .._cachedir import cache_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .parse import Btf

_MAGIC = b"pybpf-btf-lookups-1\n"
_MAX_ENTRIES = 8192  # a memo that large (a BTF-heavy tool) stops growing on disk


class LookupMemo:
    """Answers of name scans in one blob: own ids per name, first id per (name, kind),
    strings per flavor prefix."""

    __slots__ = ("ids", "first", "prefixes", "dirty")

    def __init__(self) -> None:
        self.ids: dict[bytes, list[int]] = {}
        self.first: dict[tuple[bytes, int], int] = {}
        self.prefixes: dict[bytes, list[bytes]] = {}
        self.dirty = False

    def learn_ids(self, key: bytes, ids: list[int]) -> None:
        self.ids[key] = list(ids)
        self.dirty = True

    def learn_first(self, key: tuple[bytes, int], tid: int) -> None:
        self.first[key] = tid
        self.dirty = True

    def learn_prefix(self, prefix: bytes, names: list[bytes]) -> None:
        self.prefixes[prefix] = list(names)
        self.dirty = True


def memo_path(size: int) -> str | None:
    """The per-boot file for a vmlinux blob of ``size`` bytes; None when caching is off."""
    base = cache_root()
    if base is None:
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        return None
    return os.path.join(base, f"vmlinux-btf-{boot}-{size}")


def use_disk_memo(btf: Btf, size: int) -> None:
    """Adopt the saved lookups of this boot's vmlinux BTF, and save what this process
    adds when it exits."""
    path = memo_path(size)
    if path is None:
        return
    import atexit

    from_disk = _read(btf, path)
    atexit.register(_save, btf, path, from_disk)


def _read(btf: Btf, path: str) -> bool:
    """Load ``path`` into ``btf``; True when its record boundaries came from it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    if not data.startswith(_MAGIC):
        return False
    import marshal

    try:
        nwords, offs, ids, first, prefixes = marshal.loads(data[len(_MAGIC):])
        if not btf.adopt_offsets(nwords, offs):
            return False
        # every remembered answer must still name the record it points at
        for key, tids in ids.items():
            if not all(btf.record_name(t) == key for t in tids):
                return False
        for (key, _kind), tid in first.items():
            if btf.record_name(tid) != key:
                return False
    except (ValueError, TypeError, EOFError, IndexError, KeyError):
        return False
    btf.memo.ids.update(ids)
    btf.memo.first.update(first)
    btf.memo.prefixes.update(prefixes)
    return True


def _save(btf: Btf, path: str, offsets_saved: bool) -> None:
    """Write the memo (atomically) when this process learnt something new."""
    memo = btf.memo
    if offsets_saved and not memo.dirty:
        return
    if len(memo.ids) + len(memo.first) + len(memo.prefixes) > _MAX_ENTRIES:
        if offsets_saved:
            return  # keep the file as it is: reading it stays cheap
        memo = LookupMemo()  # the record boundaries alone
    import marshal

    try:
        offs = btf.all_offsets()
        blob = _MAGIC + marshal.dumps((len(offs) and btf.type_words, offs,
                                       memo.ids, memo.first, memo.prefixes))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass  # a cache that cannot be written only costs the next process time
