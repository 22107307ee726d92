"""BPF_MAP_TYPE_LPM_TRIE: longest-prefix match over ``struct { u32 prefixlen; u8 data[]; }``.

The data bytes are compared most significant bit first (network order). An entry is
identified by its prefix length and its first ``prefixlen`` bits; a lookup with key
prefix length ``L`` finds the entry with the longest prefix ``<= L`` that matches the
key's data. Entries are kept in one dict per prefix length, so a lookup is at most
``8 * data_size + 1`` dict probes. Iteration follows the kernel's post-order walk:
more specific prefixes before the prefixes that contain them, bit 0 before bit 1.
"""

from __future__ import annotations

import errno

from ...mapapi import ANY, EXIST, NOEXIST
from ...spec import MapSpec
from .base import VmMap, check_sizes, check_update_flags, require

# LPM_DATA_SIZE_MAX in kernel/bpf/lpm_trie.c
MAX_DATA_SIZE = 256


class LpmTrieMap(VmMap):
    """Longest-prefix-match trie keyed by (prefixlen, data)."""

    def __init__(self, spec: MapSpec, ncpus: int = 1) -> None:
        check_sizes(spec, key=spec.key_size)
        require(spec, 5 <= spec.key_size <= 4 + MAX_DATA_SIZE,
                f"key_size must be 4 (prefixlen) + 1..{MAX_DATA_SIZE} data bytes, "
                f"not {spec.key_size}")
        super().__init__(spec, ncpus)
        self.data_size = spec.key_size - 4
        self.max_prefixlen = 8 * self.data_size
        # prefixlen -> masked prefix -> (key as stored, value)
        self._by_len: dict[int, dict[int, tuple[bytes, bytearray]]] = {}
        self._count = 0
        self._lens: list[int] = []  # prefix lengths present, longest first

    def _split(self, key: bytes) -> tuple[int, int] | None:
        """(prefixlen, data as a big integer) or None if the key is malformed."""
        if len(key) != self.key_size:
            return None
        plen = int.from_bytes(key[:4], "little")
        if plen > self.max_prefixlen:
            return None
        return plen, int.from_bytes(key[4:], "big")

    def _mask(self, data: int, plen: int) -> int:
        return data >> (self.max_prefixlen - plen) if plen else 0

    def _exact(self, key: bytes) -> tuple[int, int] | None:
        parts = self._split(key)
        return None if parts is None else (parts[0], self._mask(parts[1], parts[0]))

    # -- helper-facing -------------------------------------------------
    def value_buffer(self, key: bytes, cpu: int = 0) -> bytearray | None:
        """The value of the longest prefix matching ``key`` (not an exact lookup)."""
        parts = self._split(key)
        if parts is None:
            return None
        plen, data = parts
        for length in self._lens:
            if length > plen:
                continue
            hit = self._by_len[length].get(self._mask(data, length))
            if hit is not None:
                return hit[1]
        return None

    def helper_update(self, key: bytes, value: bytes, flags: int = ANY, cpu: int = 0) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        ident = self._exact(key)
        if ident is None:
            return -errno.EINVAL
        plen, prefix = ident
        table = self._by_len.get(plen)
        hit = table.get(prefix) if table else None
        if hit is not None:
            if flags == NOEXIST:
                return -errno.EEXIST
            memoryview(hit[1])[:] = value
            return 0
        if flags == EXIST:
            return -errno.ENOENT
        if self._count >= self.max_entries:
            return -errno.ENOSPC  # lpm_trie.c answers ENOSPC, not E2BIG
        if table is None:
            table = self._by_len[plen] = {}
            self._lens = sorted(self._by_len, reverse=True)
        table[prefix] = (bytes(key), bytearray(value))
        self._count += 1
        return 0

    def helper_delete(self, key: bytes) -> int:
        ident = self._exact(key)
        if ident is None:
            return -errno.EINVAL
        plen, prefix = ident
        table = self._by_len.get(plen)
        if not table or table.pop(prefix, None) is None:
            return -errno.ENOENT
        if not table:
            del self._by_len[plen]
            self._lens = sorted(self._by_len, reverse=True)
        self._count -= 1
        return 0

    # -- user-facing ---------------------------------------------------
    def lookup_raw(self, key: bytes) -> bytes | None:
        buf = self.value_buffer(bytes(key))
        return None if buf is None else bytes(buf)

    def lookup_exact(self, key: bytes) -> bytes | None:
        """The value stored under exactly this prefix (no longest-prefix search)."""
        ident = self._exact(bytes(key))
        if ident is None:
            return None
        hit = self._by_len.get(ident[0], {}).get(ident[1])
        return None if hit is None else bytes(hit[1])

    def _ordered(self) -> list[tuple[bytes, int, int]]:
        entries = [(k, plen, prefix) for plen, table in self._by_len.items()
                   for prefix, (k, _) in table.items()]

        def walk_order(e: tuple[bytes, int, int]) -> str:
            _, plen, prefix = e
            bits = format(prefix, f"0{plen}b") if plen else ""
            return bits + "2"  # '2' sorts after both bits: children first (post-order)

        entries.sort(key=walk_order)
        return entries

    def next_key_raw(self, key: bytes | None) -> bytes | None:
        entries = self._ordered()
        if not entries:
            return None
        ident = None if key is None else self._exact(bytes(key))
        if ident is not None:
            for i, (_, plen, prefix) in enumerate(entries):
                if (plen, prefix) == ident:
                    return entries[i + 1][0] if i + 1 < len(entries) else None
        return entries[0][0]

    def __len__(self) -> int:
        return self._count
