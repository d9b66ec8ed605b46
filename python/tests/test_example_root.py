"""examples/yngwie_update.py against a running and a stopped container."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import lxnest
from conftest import unique_name

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "yngwie_update.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("yngwie_update", EXAMPLE)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_root_yngwie_updates_a_running_and_a_stopped_container(
    state_dir: Path, spec_file: Callable[..., Path]
) -> None:
    running, stopped = unique_name("run"), unique_name("stop")
    (r,) = lxnest.start(spec_file(running), path=state_dir)
    (s,) = lxnest.start(spec_file(stopped), path=state_dir)
    s.stop(timeout=1)

    mod = load_example()
    outcomes = {o.name: o for o in mod.update_all(str(state_dir), mod.DEFAULT_COMMAND)}
    assert outcomes[running].how == "attach" and outcomes[running].exit_code == 0
    assert outcomes[running].output == running
    assert outcomes[stopped].how == "execute" and outcomes[stopped].exit_code == 0
    assert outcomes[stopped].output == stopped
    # The running container really has the file now; the stopped one stayed stopped.
    assert r.attach(["cat", "/tmp/updated"]).stdout == "updated\n"
    assert [(c.name, c.state) for c in lxnest.containers(state_dir)] == sorted(
        [(running, "running"), (stopped, "stopped")]
    )

    # The script as a user runs it: a report and exit status 0.
    p = subprocess.run(
        [sys.executable, str(EXAMPLE), "-P", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert p.returncode == 0, p.stderr
    assert "2 of 2 containers updated" in p.stdout
    assert f"{running}" in p.stdout and "attach" in p.stdout and "execute" in p.stdout

    # A failing update is reported with its exit code and makes the script fail.
    p = subprocess.run(
        [sys.executable, str(EXAMPLE), "-P", str(state_dir), "--", "sh", "-c", "exit 4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1
    assert "0 of 2 containers updated" in p.stdout
