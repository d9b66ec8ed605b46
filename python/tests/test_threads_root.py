"""Containers started from several Python threads at once (issue 17, point 10).

A start from a multi-threaded process runs in an exec'd `lxnest __monitor` (launch::helper), so
no forked child of ours can inherit a lock another thread holds. The binary is the one built in
this checkout (LXNEST_BINARY), else `lxnest` on PATH.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import lxnest
from conftest import unique_name


def _use_built_binary() -> None:
    repo = Path(__file__).resolve().parents[2]
    target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
    built = target / "debug" / "lxnest"
    if built.is_file() and "LXNEST_BINARY" not in os.environ:
        os.environ["LXNEST_BINARY"] = str(built)


def test_root_starts_from_several_threads(state_dir: Path, spec_file: Callable[..., Path]) -> None:
    _use_built_binary()
    names = [unique_name("thr") for _ in range(4)]
    errors: list[str] = []

    def one(name: str) -> None:
        try:
            (c,) = lxnest.start(spec_file(name), path=state_dir)
            r = c.attach(["cat", "/etc/hostname"])
            assert r.stdout.strip() == name, r
            c.destroy(timeout=1)
        except Exception as e:  # noqa: BLE001 - every failure is reported below
            errors.append(f"{name}: {e!r}")

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a start hung"
    assert not errors, errors
    assert [c.name for c in lxnest.containers(state_dir) if c.name in names] == []
