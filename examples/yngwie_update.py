#!/usr/bin/env python3
"""Yngwie's update: run one update command in every container lxnest knows.

Running containers get it through attach (a process joined to the container, as confined as its
init); stopped ones through execute (the container's own configuration started with the command
as its init, removed again when it ends). Prints one report line per container and exits
non-zero when any update failed.

    python3 examples/yngwie_update.py [-P STATE_DIR] [-- COMMAND ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

import lxnest

DEFAULT_COMMAND = ["sh", "-c", "echo updated > /tmp/updated; cat /etc/hostname"]


@dataclass
class Outcome:
    """What happened in one container."""

    name: str
    how: str  # "attach", "execute" or "skipped"
    exit_code: Optional[int]
    output: str


def update_one(c: lxnest.Container, command: Sequence[str]) -> Outcome:
    """Attach to a running container, execute in a stopped one; anything else is skipped."""
    try:
        if c.state == "running":
            r = c.attach(list(command))
            how = "attach"
        elif c.state == "stopped":
            r = c.execute(list(command))
            how = "execute"
        else:
            return Outcome(c.name, "skipped", None, f"state {c.state}")
    except lxnest.LxnestError as e:
        return Outcome(c.name, "error", None, str(e))
    text = (r.stdout + r.stderr).strip().replace("\n", " | ")
    return Outcome(c.name, how, r.exit_code, text)


def update_all(path: Optional[str], command: Sequence[str]) -> list[Outcome]:
    """Update every container under the state directory `path`."""
    return [update_one(c, command) for c in lxnest.containers(path)]


def report(outcomes: Sequence[Outcome]) -> str:
    """A table: container, how it was reached, exit code, output."""
    lines = [f"{'CONTAINER':<24} {'HOW':<8} {'EXIT':>4}  OUTPUT"]
    for o in outcomes:
        code = "-" if o.exit_code is None else str(o.exit_code)
        lines.append(f"{o.name:<24} {o.how:<8} {code:>4}  {o.output}")
    ok = sum(1 for o in outcomes if o.exit_code == 0)
    lines.append(f"{ok} of {len(outcomes)} containers updated")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-P", "--lxpath", default=None, help=f"state directory (default {lxnest.DEFAULT_PATH})")
    ap.add_argument("command", nargs="*", help="the update command (default: %(default)s)")
    args = ap.parse_args(argv)
    outcomes = update_all(args.lxpath, args.command or DEFAULT_COMMAND)
    print(report(outcomes))
    return 0 if all(o.exit_code == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
