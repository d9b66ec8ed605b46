"""Containers from Python, as root: start, attach, execute, stop, start again, errors.

Each test starts its own uniquely named containers under its own state directory; the
`state_dir` fixture destroys whatever is left, whether the test passed or not.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

import lxnest
from conftest import unique_name


def test_root_start_attach_stop_execute_start(state_dir: Path, spec_file: Callable[..., Path]) -> None:
    name = unique_name()
    started = lxnest.start(spec_file(name), path=state_dir)
    assert [c.name for c in started] == [name]
    c = started[0]
    assert c.state == "running" and c.level == 1 and c.pid and c.pid > 1
    listed = {x.name: x for x in lxnest.containers(state_dir)}
    assert listed[name].pid == c.pid

    r = c.attach(["sh", "-c", "cat /etc/hostname; echo to-stderr >&2; exit 7"])
    assert isinstance(r, lxnest.Result)
    assert (r.exit_code, r.stdout, r.stderr, r.ok) == (7, f"{name}\n", "to-stderr\n", False)

    # The attached process is in the container's pid namespace: its init is pid 1 there.
    r = c.attach(["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"])
    assert r.ok and "sleep 1000" in r.stdout

    r = c.attach(["sh", "-c", 'echo "$GREETING $(id -u) $(pwd)"'], env={"GREETING": "hello"}, uid=1000, cwd="/tmp")
    assert r.ok, r
    assert r.stdout == "hello 1000 /tmp\n"

    info = c.info()
    assert info["name"] == name and info["state"] == "running" and info["defined"] is True
    assert info["runtime"]["enforced"]["seccomp_filters"] >= 1
    assert info["plan"]["path"] == name

    c.stop(timeout=1)
    assert c.state == "stopped"
    assert c.pid is None
    assert not (state_dir / name).exists()
    assert [(x.name, x.state) for x in lxnest.containers(state_dir)] == [(name, "stopped")]

    r = c.execute(["sh", "-c", "echo updated > /tmp/updated; cat /tmp/updated /etc/hostname; exit 3"])
    assert (r.exit_code, r.stdout) == (3, f"updated\n{name}\n")
    # execute cleaned up after itself: the container is stopped again.
    c.refresh()
    assert c.state == "stopped"

    c.start()
    assert c.state == "running" and c.pid
    assert c.attach(["true"]).exit_code == 0
    c.destroy(timeout=1)
    assert c.state == "gone"
    assert lxnest.containers(state_dir) == []


def test_root_attach_refuses_a_stopped_container_and_execute_a_running_one(
    state_dir: Path, spec_file: Callable[..., Path]
) -> None:
    name = unique_name()
    (c,) = lxnest.start(spec_file(name), path=state_dir)
    with pytest.raises(lxnest.AttachError, match="is running"):
        c.execute(["true"])
    c.stop(timeout=1)
    with pytest.raises(lxnest.LxnestError) as e:
        c.attach(["true"])
    assert name in str(e.value)


def test_root_a_second_start_of_the_same_name_is_refused(state_dir: Path, spec_file: Callable[..., Path]) -> None:
    name = unique_name()
    spec = spec_file(name)
    lxnest.start(spec, path=state_dir)
    with pytest.raises(lxnest.ContainerExists, match=name):
        lxnest.start(spec, path=state_dir)


def test_root_unknown_containers_raise_container_not_found(state_dir: Path) -> None:
    with pytest.raises(lxnest.ContainerNotFound, match="no container named nope"):
        lxnest.container("nope", path=state_dir)
    with pytest.raises(lxnest.ContainerNotFound):
        lxnest.start("nope", path=state_dir)
    assert issubclass(lxnest.ContainerNotFound, lxnest.LxnestError)


def test_root_a_failing_start_names_the_step_and_leaves_nothing(
    state_dir: Path, spec_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique_name()
    # The launcher's failure injection: the cgroup step fails as if the kernel refused it.
    monkeypatch.setenv("LXNEST_FAIL_AT", "cgroup")
    with pytest.raises(lxnest.LaunchError, match="step cgroup"):
        lxnest.start(spec_file(name), path=state_dir)
    monkeypatch.delenv("LXNEST_FAIL_AT")
    assert lxnest.containers(state_dir) == []
    assert not (state_dir / name).exists()


def test_root_long_operations_release_the_gil(state_dir: Path, spec_file: Callable[..., Path]) -> None:
    name = unique_name()
    (c,) = lxnest.start(spec_file(name), path=state_dir)
    # The attached command sleeps until a Python thread of this process ends its sleep: that
    # thread can only run while attach() has released the GIL. No timing window: if the GIL
    # were held, the sleep would run out (120 s) and `ended` would stay unset.
    arg = f"120.{os.getpid()}"
    ended = threading.Event()
    done = threading.Event()

    def end_the_sleep() -> None:
        while not done.is_set():
            for p in Path("/proc").iterdir():
                try:
                    if (p / "cmdline").read_bytes() == b"sleep\0" + arg.encode() + b"\0":
                        os.kill(int(p.name), signal.SIGTERM)
                        ended.set()
                        return
                except (OSError, ValueError):
                    continue
            time.sleep(0.05)

    t = threading.Thread(target=end_the_sleep)
    t.start()
    try:
        r = c.attach(["sh", "-c", f"sleep {arg}; echo done"])
    finally:
        done.set()
        t.join()
    assert r.stdout == "done\n"
    assert ended.is_set(), "the thread could not run while attach() waited: the GIL was held"
