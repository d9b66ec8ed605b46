"""Shared fixtures: a private state directory per test, unique container names, spec files.

Every container a test starts lives under its own state directory, and the fixture destroys
whatever is left there when the test ends, passed or failed.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

import lxnest


def _use_built_binary() -> None:
    """Every operation of a multi-threaded caller (these tests start threads) runs in an exec'd
    `lxnest __monitor`: the one built in this checkout, unless LXNEST_BINARY names another."""
    repo = Path(__file__).resolve().parents[2]
    target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
    built = target / "debug" / "lxnest"
    if built.is_file() and "LXNEST_BINARY" not in os.environ:
        os.environ["LXNEST_BINARY"] = str(built)


_use_built_binary()


def unique_name(prefix: str = "py") -> str:
    """A container name no other test (or run) uses: [a-z0-9-], at most 32 characters."""
    return f"{prefix}-{os.getpid() % 100000}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory (-P) that the containers' mapped root can traverse, cleaned up after."""
    d = tmp_path / "state"
    d.mkdir()
    # The container's root is an unprivileged uid on the host: every directory above its rootfs
    # must be searchable by it (pytest makes its temporary directories 0700).
    for p in [d, *d.parents]:
        if p == Path("/"):
            break
        if p.stat().st_mode & 0o001 == 0:
            p.chmod(p.stat().st_mode | 0o711)
    try:
        yield d
    finally:
        for c in lxnest.containers(d):
            try:
                c.destroy(timeout=1)
            except lxnest.LxnestError:
                pass
        leftovers = [c.name for c in lxnest.containers(d)]
        assert not leftovers, f"containers left behind: {leftovers}"


@pytest.fixture
def spec_file(tmp_path: Path) -> Callable[..., Path]:
    """Writes a one-container spec on the built-in rootfs; returns its path."""

    def make(name: str, command: str = "sleep 1000", network: str = "loopback") -> Path:
        p = tmp_path / f"{name}.yaml"
        p.write_text(
            textwrap.dedent(
                f"""\
                name: {name}
                containers:
                  - name: {name}
                    rootfs: builtin
                    command: ["/bin/sh", "-c", "{command}"]
                    network:
                      mode: {network}
                """
            )
        )
        return p

    return make


@pytest.fixture(autouse=True)
def _root_for_root_tests(request: pytest.FixtureRequest) -> None:
    """Tests that start containers have `root` in their name and need root: a skip elsewhere,
    a failure under CI (like tests/support's root() for the Rust tests)."""
    if "root" in request.node.name and os.geteuid() != 0:
        if os.environ.get("CI") is not None:
            pytest.fail("CI runs the root tests as root (CI is set, euid is not 0)")
        pytest.skip("needs root (CI runs these tests as root)")
