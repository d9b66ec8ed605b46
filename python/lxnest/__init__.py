"""lxnest from Python: plan nested container stacks and manage their containers.

Everything here is a thin binding over lxnest's Rust library API (``lxnest::api``), the same
functions the ``lxnest`` command line calls. Long operations release the GIL.
"""

from ._native import (
    DEFAULT_PATH,
    AttachError,
    Container,
    ContainerExists,
    ContainerNotFound,
    LaunchError,
    Level,
    LxnestError,
    Plan,
    PlanRejected,
    Result,
    SpecError,
    Subnet,
    container,
    containers,
    generate,
    plan,
    start,
)

__all__ = [
    "DEFAULT_PATH",
    "AttachError",
    "Container",
    "ContainerExists",
    "ContainerNotFound",
    "LaunchError",
    "Level",
    "LxnestError",
    "Plan",
    "PlanRejected",
    "Result",
    "SpecError",
    "Subnet",
    "container",
    "containers",
    "generate",
    "plan",
    "start",
]
