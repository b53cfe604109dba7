"""What a removal takes: exactly one selector, matched exactly, and never silently empty.

Selectors: explicit ids; a label; a class name; a source prefix or a glob (both exact and
case-sensitive: SQLite's ``substr(...) =`` and ``GLOB`` compare bytes; LIKE, which folds
ASCII case, is gone: a LIKE pattern given to the deprecated ``source_like`` is translated to
the equivalent case-sensitive glob); a Python predicate on the source; or examples: every item
at least ``min_similarity`` similar to any of the given vectors (the takedown request of
Rodriguez-Munoz et al. 2025, Fig. 13: forget the items that look like these images), found by
an exact scan of every stored vector, whatever the index. A selection that matches nothing is
an error naming the selector, unless `allow_empty`. `Selecting` is a part of
`memory.store.VisualMemory`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from procmem.memory.errors import IdError, MemoryStoreError
from procmem.memory.vectors import normalise


class EmptySelectionError(MemoryStoreError):
    """A removal's selector matched no item (pass allow_empty to record an empty removal)."""


@dataclass
class Selection:
    """The ids a selector chose at store version `version`, and the selector as given."""

    ids: np.ndarray
    selector: dict
    version: int
    similarity: dict[int, float] = field(default_factory=dict)  # `like`: best similarity per id

    def __len__(self) -> int:
        return len(self.ids)


def like_to_glob(pattern: str) -> str:
    """A SQL LIKE pattern (%, _; no escape) as the GLOB that matches the same strings, but
    case-sensitively: glob's own specials are bracketed to stand for themselves."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]", "%": "*", "_": "?"}
    return "".join(special.get(c, c) for c in pattern)


def _describe(name: str, value) -> str:
    if name == "ids":
        ids = np.asarray(value).ravel().tolist()
        return f"ids {ids[:10]}{' ...' if len(ids) > 10 else ''}"
    if name == "where":
        return f"predicate {getattr(value, '__qualname__', repr(value))}"
    if name == "like":
        return f"{len(np.atleast_2d(value))} examples"
    return f"{name.replace('_', ' ')} {value!r}"


class Selecting:
    """`select` of VisualMemory."""

    def select(self, ids=None, *, label: int | None = None, label_name: str | None = None,
               source_prefix: str | None = None, source_glob: str | None = None,
               source_like: str | None = None, where: Callable[[str | None], bool] | None = None,
               like=None, min_similarity: float | None = None, given: dict | None = None,
               allow_empty: bool = False) -> Selection:
        """The items one selector chooses; `given` (JSON-able) is added to the selector as
        recorded in the receipt (e.g. the file the ids came from, the example images)."""
        self._need_open()
        chosen = {k: v for k, v in dict(ids=ids, label=label, label_name=label_name,
                                         source_prefix=source_prefix, source_glob=source_glob,
                                         source_like=source_like, where=where, like=like).items()
                  if v is not None}
        if len(chosen) != 1:
            raise MemoryStoreError("choose exactly one selector: ids, label, label_name, "
                                   "source_prefix, source_glob, where or like (examples); got "
                                   f"{', '.join(chosen) or 'none'}")
        (name, value), = chosen.items()
        selector = {name: _describe(name, value) if name in ("where", "like") else
                    (np.unique(np.asarray(value, np.int64)).tolist() if name == "ids" else value)}
        sims: dict[int, float] = {}
        if name == "ids":
            found = self._select_ids(value)
        elif name == "label":
            found = self._ids[self._labels == int(value)]
        elif name == "label_name":
            found = self._select_label_name(value)
        elif name in ("source_prefix", "source_glob", "source_like"):
            found, selector = self._select_source(name, value, selector)
        elif name == "where":
            rows = self._conn.execute("SELECT id, source FROM items ORDER BY id")
            found = np.array([i for i, s in rows if value(s)], dtype=np.int64)
        else:
            found, sims = self._select_like(value, min_similarity)
            selector["min_similarity"] = float(min_similarity)
        selector.update(given or {})
        found = np.asarray(found, np.int64)
        if not len(found) and not allow_empty:
            raise EmptySelectionError(
                f"no item of the memory at {self.path} matches {_describe(name, value)} (it "
                f"holds {len(self)} items at version {self.version}): nothing was removed; check "
                f"the selector, or allow an empty removal (allow_empty=True, --allow-empty)")
        return Selection(np.sort(found), selector, self.version, sims)

    def _select_ids(self, ids) -> np.ndarray:
        ids = np.unique(np.asarray(ids, dtype=np.int64).ravel())
        unknown = ids[~self.contains(ids)]
        if len(unknown):
            raise IdError(f"ids not in the memory at {self.path}: {unknown[:10].tolist()}"
                          f"{' ...' if len(unknown) > 10 else ''}; nothing was removed "
                          f"(`procmem memory info` lists the id range)")
        return ids

    def _select_label_name(self, name: str) -> np.ndarray:
        labels = [lab for lab, n in self.label_names.items() if n == name]
        if not labels:
            raise MemoryStoreError(f"no class named {name!r} in the memory at {self.path}; "
                                   f"`procmem memory info` lists the classes (names are "
                                   f"case-sensitive)")
        return self._ids[np.isin(self._labels, labels)]

    def _select_source(self, name: str, value: str, selector: dict):
        if not isinstance(value, str) or not value:
            raise MemoryStoreError(f"{name.replace('_', ' ')} must be a non-empty string, got "
                                   f"{value!r}")
        if name == "source_like":
            warnings.warn("source_like is deprecated: use source_glob (LIKE ignored case; the "
                          "pattern now matches case-sensitively as a glob)", DeprecationWarning,
                          stacklevel=3)
            value = selector["as_glob"] = like_to_glob(value)
        if name == "source_prefix":
            sql, args = "SELECT id FROM items WHERE substr(source, 1, ?) = ? ORDER BY id", \
                (len(value), value)
        else:
            sql, args = "SELECT id FROM items WHERE source GLOB ? ORDER BY id", (value,)
        return np.array([r[0] for r in self._conn.execute(sql, args)], np.int64), selector

    def _select_like(self, examples, min_similarity) -> tuple[np.ndarray, dict[int, float]]:
        """Every item whose cosine similarity to any example is >= min_similarity (exact)."""
        if min_similarity is None or not -1.0 <= float(min_similarity) <= 1.0:
            raise MemoryStoreError(f"forgetting by example needs min_similarity in [-1, 1] (the "
                                   f"cosine similarity an item must reach), got {min_similarity!r}; "
                                   f"look at a dry run's similarities first")
        q = normalise(examples, self.dim, "example embeddings")
        found, sims = [], {}
        for ids, vecs in self.iter_vectors():
            best = (vecs @ q.T).max(axis=1)
            hit = best >= float(min_similarity)
            found.append(ids[hit])
            sims.update(zip(ids[hit].tolist(), best[hit].astype(float).round(6).tolist()))
        return (np.concatenate(found) if found else np.empty(0, np.int64)), sims
