"""The ICD-10-CM tabular list as flat tables: what ``terminology`` asks of simple-icd-10-cm, without
the library's tree in this process.

simple-icd-10-cm keeps the tabular list as ~98,500 objects of some twenty attributes each: about
170 MB in every process that imports it, most of a worker's memory. The responder asks five things
of an item (does it exist, is it a chapter, a block, a leaf, its title) and its ancestors. So the
library is loaded once, in a short-lived child process (this file run as a script), which sends
those facts back as flat lists (``marshal``); the serving process never imports the library and
keeps ~25 MB. The answers are the library's own, item for item (tests/test_tabular.py compares
every item), including its quirks: an undotted code is found dotted, and a block that holds a
single category shares its name with it (``B99``: the name means the category, which is also a
block).
"""

from __future__ import annotations

import array
import marshal
import subprocess
import sys
from collections.abc import Iterator

# Node kinds, as simple-icd-10-cm's ``_CodeTree.type``.
CHAPTER, SECTION, CATEGORY, SUBCATEGORY, EXTENDED = range(5)
_KINDS = {"chapter": CHAPTER, "section": SECTION, "category": CATEGORY, "subcategory": SUBCATEGORY}


class Tabular:
    """Every node of the tabular list in tabular order (``get_all_codes(True)``'s order), and the
    library's name → node lookup.

    Names and titles are kept as two long strings with offsets, sliced on each read: a worker
    forked from the process that loaded them reads them without writing to their pages (no
    reference counts of ~200,000 small strings to bump), so they stay shared copy-on-write."""

    __slots__ = ("_names", "_name_at", "_descriptions", "_description_at", "_parents", "_kinds", "_leaves", "_index")

    def __init__(
        self,
        names: str,
        name_at: bytes,
        descriptions: str,
        description_at: bytes,
        parents: bytes,
        kinds: bytes,
        leaves: bytes,
        owners: bytes,
    ):
        """From ``extract``'s packed tables (flat strings and arrays as bytes, so that reading
        them here leaves no garbage of small objects behind)."""
        self._names, self._descriptions = names, descriptions
        self._name_at, self._description_at = _array("I", name_at), _array("I", description_at)
        self._parents = _array("i", parents)  # -1 for a chapter
        self._kinds = kinds
        self._leaves = leaves
        # The node a name means (where a block and its single category share a name, the category).
        self._index = {self._name(node): node for node in _array("i", owners)}

    def _name(self, node: int) -> str:
        return self._names[self._name_at[node] : self._name_at[node + 1]]

    def __len__(self) -> int:
        return len(self._index)

    def _node(self, code: str) -> int | None:
        """The node of a code as simple-icd-10-cm finds it: dotted first (``C9100`` → ``C91.00``)."""
        if len(code) >= 4 and code[3] != ".":
            found = self._index.get(code[:3] + "." + code[3:])
            if found is not None:
                return found
        return self._index.get(code)

    def is_valid_item(self, code: str) -> bool:
        return self._node(code) is not None

    def is_code(self, code: str) -> bool:
        """An item that is not a chapter (a block, a category or below)."""
        node = self._node(code)
        return node is not None and self._kinds[node] != CHAPTER

    def is_chapter(self, code: str) -> bool:
        node = self._node(code)
        return node is not None and self._kinds[node] == CHAPTER

    def is_block(self, code: str) -> bool:
        """A section, or a category alone in its block (which shares the block's name)."""
        node = self._node(code)
        if node is None:
            return False
        parent = self._parents[node]
        return self._kinds[node] == SECTION or (parent >= 0 and self._name(parent) == self._name(node))

    def is_billable(self, code: str) -> bool:
        """A leaf category or subcategory (B20, F99, P84, R99 and Z66 name a block too)."""
        node = self._node(code)
        return node is not None and self._leaves[node] == 1 and self._kinds[node] >= CATEGORY

    def is_leaf(self, code: str) -> bool:
        return self._leaves[self._require(code)] == 1

    def extended_from(self, code: str) -> str | None:
        """The code a 7th-character extension was made from (``S72.002A`` → ``S72.002``), else None."""
        node = self._node(code)
        if node is None or self._kinds[node] != EXTENDED:
            return None
        return self._name(self._parents[node])

    def description(self, code: str) -> str:
        node = self._require(code)
        return self._descriptions[self._description_at[node] : self._description_at[node + 1]]

    def descriptions(self) -> set[str]:
        """Every distinct title."""
        at, text = self._description_at, self._descriptions
        return {text[at[node] : at[node + 1]] for node in range(len(self._parents))}

    def ancestors(self, code: str) -> list[str]:
        """Names above the code, nearest first, up to its chapter."""
        found = []
        parent = self._parents[self._require(code)]
        while parent >= 0:
            found.append(self._name(parent))
            parent = self._parents[parent]
        return found

    def ancestors_below_chapter(self, code: str) -> tuple[str, ...]:
        """``ancestors`` without the chapter (the root of every item)."""
        found = []
        parent = self._parents[self._require(code)]
        while parent >= 0 and self._kinds[parent] != CHAPTER:
            found.append(self._name(parent))
            parent = self._parents[parent]
        return tuple(found)

    def chapter_of(self, code: str) -> str:
        """The chapter an item is in (its root): "19" for S72.002A."""
        node = self._require(code)
        while self._parents[node] >= 0:
            node = self._parents[node]
        return self._name(node)

    def chapters(self) -> list[str]:
        """The chapters' names in tabular order ("1" … "22")."""
        return [self._name(node) for node in range(len(self._parents)) if self._kinds[node] == CHAPTER]

    def all_codes(self) -> Iterator[str]:
        """Every node's name in tabular order (a shared block/category name twice, as the library)."""
        return (self._name(node) for node in range(len(self._parents)))

    def _require(self, code: str) -> int:
        node = self._node(code)
        if node is None:
            raise ValueError(f"The code {code!r} does not exist.")
        return node


def _array(typecode: str, data: bytes) -> array.array:
    found = array.array(typecode)
    found.frombytes(data)
    return found


def _packed(texts: list[str]) -> tuple[str, bytes]:
    """The texts as one string, and the offsets where each starts (and where the last ends)."""
    offsets = array.array("I", [0])
    for text in texts:
        offsets.append(offsets[-1] + len(text))
    return "".join(texts), offsets.tobytes()


def extract() -> tuple:
    """The tables, read from simple-icd-10-cm's tree (run in the child process only)."""
    # Lazy: the library costs ~170 MB and 1.5 s; only the child process that reads it loads it.
    from simple_icd_10_cm import simple_icd_10_cm as cm

    names: list[str] = []
    descriptions: list[str] = []
    parents: list[int] = []
    kinds = bytearray()
    leaves = bytearray()
    position: dict[int, int] = {}

    def walk(node, parent: int) -> None:
        position[id(node)] = len(names)
        here = len(names)
        names.append(node.name)
        descriptions.append(node.description)
        parents.append(parent)
        kinds.append(_KINDS.get(node.type, EXTENDED))
        leaves.append(0 if node.children else 1)
        for child in node.children:
            walk(child, here)

    sys.setrecursionlimit(10_000)
    for chapter in cm._chapter_list:
        walk(chapter, -1)
    owners = array.array("i", (position[id(node)] for node in cm._code_to_node.values()))
    return (
        *_packed(names),
        *_packed(descriptions),
        array.array("i", parents).tobytes(),
        bytes(kinds),
        bytes(leaves),
        owners.tobytes(),
    )


def load() -> Tabular:
    """The tables, from a child process that loads simple-icd-10-cm and exits (its memory with it)."""
    # -P: the child's sys.path does not start with this package's directory.
    done = subprocess.run([sys.executable, "-P", __file__], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"could not read the ICD-10-CM tabular list: {done.stderr.decode(errors='replace')[-2000:]}")
    return Tabular(*marshal.loads(done.stdout))


if __name__ == "__main__":
    sys.stdout.buffer.write(marshal.dumps(extract()))
