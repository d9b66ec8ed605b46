"""Type stub of lxnest's native module (PyO3)."""

import os
from typing import Any, Optional, Sequence, Union, final

_PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "LxnestError",
    "SpecError",
    "PlanRejected",
    "ContainerNotFound",
    "ContainerExists",
    "LaunchError",
    "AttachError",
    "Container",
    "Result",
    "Plan",
    "Level",
    "Subnet",
    "containers",
    "container",
    "start",
    "plan",
    "generate",
    "DEFAULT_PATH",
]

DEFAULT_PATH: str
"""The default state directory, /run/lxnest (``-P`` on the command line)."""

class LxnestError(Exception):
    """Base class of every lxnest error; the message is what the command line prints."""

class SpecError(LxnestError):
    """The spec, LXC config or plan file is wrong (the message names file:line)."""

class PlanRejected(LxnestError):
    """The planner rejected the stack; the message lists every finding."""

class ContainerNotFound(LxnestError):
    """No container by that name."""

class ContainerExists(LxnestError):
    """A container by that name already exists."""

class LaunchError(LxnestError):
    """Starting, stopping or inspecting a container failed."""

class AttachError(LxnestError):
    """Running a command in a container failed."""

@final
class Subnet:
    """A bridge and its subnet: the planner's own, or a nesting host's for its children."""

    @property
    def bridge(self) -> str: ...
    @property
    def subnet(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def owner(self) -> Optional[str]: ...
    @property
    def level(self) -> int: ...
    @property
    def nat(self) -> bool: ...
    @property
    def mtu(self) -> int: ...
    @property
    def origin(self) -> str: ...

@final
class Level:
    """One container of a plan."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def depth(self) -> int: ...
    @property
    def parent(self) -> Optional[str]: ...
    @property
    def runtime(self) -> Optional[str]: ...
    @property
    def origin(self) -> str: ...
    @property
    def apparmor_profile(self) -> str: ...
    @property
    def apparmor_label(self) -> str: ...
    @property
    def apparmor_namespace(self) -> Optional[str]: ...
    @property
    def apparmor_text(self) -> str: ...
    @property
    def subnets(self) -> list[str]: ...
    @property
    def address(self) -> Optional[str]: ...
    @property
    def network_mode(self) -> str: ...
    @property
    def cgroup_path(self) -> str: ...
    @property
    def cgroup_delegated(self) -> bool: ...
    @property
    def limits(self) -> dict[str, Optional[float]]:
        """``memory`` (bytes), ``pids``, ``cpu`` (cores); None where unlimited."""
    @property
    def capabilities(self) -> list[str]: ...
    @property
    def command(self) -> list[str]: ...
    def seccomp_decision(self, syscall: str) -> str:
        """Effective decision with every ancestor's filter stacked: ``allow``, ``errno 1``, ``kill`` ..."""
    def explain(self, syscall: str) -> dict[str, Any]:
        """``lxnest explain``'s answer for a syscall: every level's filter and the effective action."""
    def to_dict(self) -> dict[str, Any]: ...

@final
class Plan:
    """A planned stack."""

    @property
    def stack(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def base_level(self) -> int: ...
    @property
    def levels(self) -> list[Level]:
        """Every container, parents before children."""
    @property
    def subnets(self) -> list[Subnet]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def notes(self) -> list[str]: ...
    def level(self, path: str) -> Level:
        """The container with this path or name; KeyError when there is none."""
    def to_json(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...

@final
class Result:
    """What a command run in a container returned."""

    @property
    def exit_code(self) -> int:
        """Exit code; 128 + signal number when a signal ended it."""
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def stdout_bytes(self) -> bytes: ...
    @property
    def stderr_bytes(self) -> bytes: ...
    @property
    def ok(self) -> bool:
        """exit_code == 0"""

@final
class Container:
    """A container under a state directory."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def state(self) -> str:
        """``running``, ``stopping``, ``stale``, ``stopped``, or ``gone``."""
    @property
    def level(self) -> int: ...
    @property
    def pid(self) -> Optional[int]: ...
    @property
    def addresses(self) -> list[str]: ...
    @property
    def cgroup(self) -> str: ...
    @property
    def state_dir(self) -> str: ...
    def refresh(self) -> None: ...
    def start(self, *, require_apparmor: bool = False) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
    def destroy(self, timeout: float = 10.0) -> None: ...
    def info(self) -> dict[str, Any]: ...
    def attach(
        self,
        cmd: Sequence[str],
        env: Optional[dict[str, str]] = None,
        uid: Optional[int] = None,
        cwd: Optional[str] = None,
        *,
        gid: Optional[int] = None,
        clear_env: bool = False,
    ) -> Result:
        """Run ``cmd`` in the running container, as confined as its init; capture its output."""
    def execute(
        self,
        cmd: Sequence[str],
        env: Optional[dict[str, str]] = None,
        *,
        timeout: float = 10.0,
    ) -> Result:
        """Run ``cmd`` as the init of the stopped container (its full configuration); capture output."""

def containers(path: Optional[_PathLike] = None) -> list[Container]: ...
def container(name: str, path: Optional[_PathLike] = None) -> Container: ...
def start(
    spec: _PathLike,
    name: Optional[str] = None,
    path: Optional[_PathLike] = None,
    *,
    nested: bool = False,
    require_apparmor: bool = False,
    timeout: float = 10.0,
) -> list[Container]: ...
def plan(spec: _PathLike, host: Optional[str] = None) -> Plan: ...
def generate(spec: _PathLike, out: _PathLike, host: Optional[str] = None) -> Plan: ...
