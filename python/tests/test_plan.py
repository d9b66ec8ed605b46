"""Planning from Python: no root, no kernel changes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import lxnest


@pytest.fixture(scope="module")
def juju() -> lxnest.Plan:
    return lxnest.plan("builtin:juju-laptop", host="laptop")


def test_levels_are_inspectable(juju: lxnest.Plan) -> None:
    assert juju.stack == "juju-laptop"
    assert len(juju) == len(juju.levels) >= 2
    host = juju.level("juju-host")
    assert host.depth == 1 and host.parent is None
    assert host.runtime == "lxc"
    children = [lv for lv in juju.levels if lv.parent == "juju-host"]
    assert children and all(c.depth == 2 for c in children)
    for lv in juju.levels:
        assert lv.apparmor_profile and lv.apparmor_label
        assert lv.cgroup_path.startswith("lxnest/")
        assert set(lv.limits) == {"memory", "pids", "cpu"}
    unit = children[0]
    # A level-2 label stacks the parent's profile with its own, in the parent's namespace.
    assert unit.apparmor_label.startswith(host.apparmor_profile + "//&:")
    assert unit.path.startswith("juju-host/")
    assert unit.to_dict()["path"] == unit.path
    with pytest.raises(KeyError):
        juju.level("no-such-container")


def test_subnets_are_distinct(juju: lxnest.Plan) -> None:
    subnets = juju.subnets
    assert len(subnets) >= 2
    assert len({s.subnet for s in subnets}) == len(subnets)
    owners = {s.owner for s in subnets}
    assert None in owners and "juju-host" in owners
    host = juju.level("juju-host")
    own = next(s for s in subnets if s.owner == "juju-host")
    assert own.subnet in host.subnets
    for child in (lv for lv in juju.levels if lv.parent == "juju-host"):
        assert child.address is not None
        assert child.subnets == [own.subnet]


def test_seccomp_decisions_stack(juju: lxnest.Plan) -> None:
    host = juju.level("juju-host")
    unit = next(lv for lv in juju.levels if lv.parent == "juju-host")
    assert host.seccomp_decision("read") == "allow"
    # Whatever the host denies, its children cannot be allowed.
    for syscall in ["kexec_load", "open_by_handle_at", "init_module"]:
        assert host.seccomp_decision(syscall) != "allow"
        assert unit.seccomp_decision(syscall) != "allow"
    answer = unit.explain("kexec_load")
    assert [lv["container"] for lv in answer["levels"]] == ["juju-host", unit.path]
    assert answer["decided_by"] in ("juju-host", unit.path)
    with pytest.raises(lxnest.LxnestError, match="neither a syscall"):
        unit.seccomp_decision("no_such_syscall")


def test_plan_json_round_trips(juju: lxnest.Plan, tmp_path: Path) -> None:
    f = tmp_path / "plan.json"
    f.write_text(juju.to_json())
    again = lxnest.plan(f)
    assert [lv.path for lv in again.levels] == [lv.path for lv in juju.levels]
    assert json.loads(juju.to_json()) == juju.to_dict()


def test_generate_writes_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = lxnest.generate("builtin:juju-laptop", out, host="laptop")
    assert (out / "plan.json").is_file()
    for lv in p.levels:
        assert (out / lv.path / "seccomp.lxc").is_file()
        assert (out / lv.path / "lxc.conf").is_file()


def test_spec_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncontainers:\n  - name: a\n    bogus: 1\n")
    with pytest.raises(lxnest.SpecError) as e:
        lxnest.plan(bad, host="laptop")
    assert isinstance(e.value, lxnest.LxnestError)
    assert f"{bad}:" in str(e.value) or "bad.yaml:" in str(e.value)
    assert "bogus" in str(e.value)


def test_missing_spec_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(lxnest.SpecError, match="missing.yaml"):
        lxnest.plan(tmp_path / "missing.yaml", host="laptop")


def test_rejected_stack_raises_plan_rejected_with_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "rejected.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            name: rejected
            containers:
              - name: outer
                runtime: lxnest
                seccomp:
                  rules: ["keyctl errno 38"]
                children:
                  - name: inner
                    seccomp:
                      rules: ["keyctl allow"]
            """
        )
    )
    with pytest.raises(lxnest.PlanRejected) as e:
        lxnest.plan(spec, host="laptop")
    msg = str(e.value)
    assert "the stack is rejected" in msg
    assert "outer/inner" in msg and "keyctl" in msg
    assert "rejected.yaml:10" in msg, msg


def test_unknown_host_fixture() -> None:
    with pytest.raises(lxnest.LxnestError, match="unknown host fixture"):
        lxnest.plan("builtin:juju-laptop", host="mainframe")
