"""Containers started from several Python threads at once (issue 17, point 10).

A start from a multi-threaded process runs in an exec'd `lxnest __monitor` (launch::helper), so
no forked child of ours can inherit a lock another thread holds. The binary is the one built in
this checkout (LXNEST_BINARY, set by conftest.py), else `lxnest` on PATH.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import lxnest
from conftest import unique_name


def test_root_starts_from_several_threads(state_dir: Path, spec_file: Callable[..., Path]) -> None:
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


def test_root_start_attach_stop_execute_destroy_from_threads_repeatedly(
    state_dir: Path, tmp_path: Path
) -> None:
    """Every call that forks or clones, from four threads at once, three rounds each: start,
    attach (a non-interactive command), stop, execute, destroy. Each runs in an exec'd helper
    (launch::helper, attach::helper), never in a child forked from this multi-threaded process;
    a call that hangs turns into a failure after the deadline."""
    names = [unique_name("thy") for _ in range(4)]
    errors: list[str] = []
    done: list[str] = []

    def spec(name: str) -> Path:
        p = tmp_path / f"{name}.yaml"
        p.write_text(
            f"name: {name}\n"
            "containers:\n"
            f"  - name: {name}\n"
            "    rootfs: builtin\n"
            '    command: ["/bin/sh", "-c", "sleep 1000"]\n'
            "    network:\n"
            "      mode: loopback\n"
            "    hooks:\n"
            f'      pre-start: ["echo pre-start of {name}"]\n'
        )
        return p

    def one(name: str) -> None:
        try:
            for round_ in range(3):
                (c,) = lxnest.start(spec(name), path=state_dir)
                r = c.attach(["cat", "/etc/hostname"])
                assert r.ok and r.stdout.strip() == name, (round_, r.stdout, r.stderr)
                c.stop(timeout=2)
                r = c.execute(["/bin/sh", "-c", "echo in-$(cat /etc/hostname); exit 3"], timeout=2)
                assert r.exit_code == 3 and f"in-{name}" in r.stdout, (round_, r.stdout, r.stderr)
                c.destroy(timeout=2)
            done.append(name)
        except Exception as e:  # noqa: BLE001 - every failure is reported below
            errors.append(f"{name}: {e!r}")

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [n for n, t in zip(names, threads) if t.is_alive()]
    assert not hung, f"calls hung (no answer within 300 s) for {hung}; errors: {errors}"
    assert not errors, errors
    assert sorted(done) == sorted(names)
    assert [c.name for c in lxnest.containers(state_dir) if c.name in names] == []

