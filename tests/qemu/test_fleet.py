# SPDX-License-Identifier: GPL-2.0
"""The rollout playbook (lpguard.livepatch.rollout, ansible/) with the real
ansible-playbook against four Debian 12 guests booted at once, each with the
lp-load package installed by dpkg -i: real signing with cvm-cli on this host,
real lp-load and lpguard in the guests. Tests run in file order on one fleet.

  v1 = lpg_replace_a (/proc/cmdline "lpguard test: replace A"),
  v2 = lpg_replace_b ("... replace B"), both unsigned in the payload: the playbook signs them.
"""
import os

import pytest

import fleet as fleetlib

A, B = "lpguard test: replace A", "lpguard test: replace B"
ALL = ("g1", "g2", "g3", "g4")
WAVES = {"g1": 1, "g2": 2, "g3": 3, "g4": 3}     # [1, "25%", "100%"] over 4 hosts
UNHEALTHY = "/run/lpguard-test-unhealthy"
HEALTH = f"test ! -e {UNHEALTHY} || {{ echo 'health check: {UNHEALTHY} exists' >&2; exit 1; }}"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = fleetlib.Fleet(4, str(tmp_path_factory.mktemp("fleet")))
    try:
        yield f.start()
    finally:
        f.stop()


@pytest.fixture(scope="module")
def v1_sha(tmp_path_factory):
    return fleetlib.signed_sha256("lpg_replace_a.ko", workdir=str(tmp_path_factory.mktemp("sha")))


@pytest.fixture(scope="module")
def v2_sha(tmp_path_factory):
    return fleetlib.signed_sha256("lpg_replace_b.ko", workdir=str(tmp_path_factory.mktemp("sha")))


def saw_v2(v):
    """lpguard logs every livepatch load it decides on: a guest that never got v2 has no line for it."""
    return 'obj="lpg_replace_b"' in fleetlib.lpguard_log(v)


def test_roll_v1_out_to_four_guests(fleet, v1_sha):
    before = {n: fleetlib.accepted_ssh(fleet[n]) for n in ALL}
    r = fleet.rollout("lpg_replace_a.ko")
    assert r.rc == 0, r
    s = r.summary
    assert s["result"] == "complete" and s["counts"] == {"applied": 4}, s
    assert s["patch"]["name"] == "lpg_replace_a" and s["patch"]["sha256"] == v1_sha
    for n in ALL:
        v, e = fleet[n], r.host(n)
        assert e["verdict"] == "applied" and e["wave"] == WAVES[n], e
        assert e["before"]["active"] is None and e["after"] == {
            "active": "lpg_replace_a", "sha256": v1_sha, "installed": "lpg_replace_a", "installed_sha256": v1_sha}
        assert fleetlib.cmdline(v) == A
        st = fleetlib.status(v)
        assert st["active"] == "lpg_replace_a" and st["installed"]["sha256"] == v1_sha
        # pipelining + ControlPersist: one ssh connection to each guest for the whole rollout.
        # (at least the one: a count that saw none would be counting nothing).
        assert 1 <= fleetlib.accepted_ssh(v) - before[n] <= 2, (n, before[n], fleetlib.accepted_ssh(v))
        assert v.run("ls /var/tmp/lpguard-* 2>/dev/null").out.strip() == ""


def test_rerun_changes_nothing(fleet, v1_sha):
    logs = {n: fleetlib.lpguard_log(fleet[n]) for n in ALL}
    r = fleet.rollout("lpg_replace_a.ko")
    assert r.rc == 0, r
    assert set(r.recap) == set(ALL) and all(h["changed"] == 0 for h in r.recap.values()), r.recap
    assert r.summary["counts"] == {"unchanged": 4}
    for n in ALL:
        assert fleetlib.lpguard_log(fleet[n]) == logs[n]    # lpguard saw no load at all


def snapshot(v):
    return (v.run("sha256sum /var/lib/lp-load/*; cat /sys/kernel/security/lpguard/log; cat /proc/cmdline; "
                  "ls /sys/kernel/livepatch; ls /var/tmp", check=True).out)


def test_check_mode_changes_nothing(fleet):
    before = {n: snapshot(fleet[n]) for n in ALL}
    r = fleet.rollout("lpg_replace_b.ko", check=True)
    assert r.rc == 0, r
    assert r.summary["check_mode"] is True and r.summary["counts"] == {"would-apply": 4}, r.summary
    for n in ALL:
        assert snapshot(fleet[n]) == before[n], n
        assert r.host(n)["after"]["active"] == "lpg_replace_a"


def test_canary_failing_health_check_goes_back_to_v1_and_stops(fleet, v1_sha, v2_sha):
    g1 = fleet["g1"]
    g1.run(f"touch {UNHEALTHY}", check=True)
    try:
        r = fleet.rollout("lpg_replace_b.ko", lpguard_health_command=HEALTH, lpguard_health_retries=1)
    finally:
        g1.run(f"rm -f {UNHEALTHY}", check=True)
    assert r.rc != 0, r
    e = r.host("g1")
    assert e["verdict"] == "restored" and e["stage"] == "Health check (command)", e
    assert e["reason"].endswith(f"exited 1: health check: {UNHEALTHY} exists"), e
    # The canary did run v2, then went back to v1 (the installed patch, applied again).
    assert saw_v2(g1)
    assert fleetlib.cmdline(g1) == A and e["after"]["active"] == "lpg_replace_a" and e["after"]["sha256"] == v1_sha
    assert fleetlib.status(g1)["installed"]["sha256"] == v1_sha
    for n in ("g2", "g3", "g4"):
        assert r.host(n)["verdict"] == "untouched"
        assert fleetlib.cmdline(fleet[n]) == A and not saw_v2(fleet[n]), n
    assert r.summary["result"] == "stopped"


def test_second_wave_refusal_stops_that_wave(fleet, v2_sha, tmp_path):
    # g2 ran a newer generation since boot (a patch of generation 1 applied by hand): lpguard
    # refuses v2 (generation 0) there, the kernel's own refusal.
    g2 = fleet["g2"]
    assert g2.run("lp-load disable", timeout=120).rc == 0
    out = str(tmp_path / "lpg_replace_a.gen1.ko")
    fleetlib.subprocess.run([fleetlib.CVM_CLI, "sign", "--generation", "1", "--key",
                             os.path.join(fleetlib.KEYS, "livepatch.key"), "--cert",
                             os.path.join(fleetlib.KEYS, "livepatch.crt"), "-o", out,
                             os.path.join(fleetlib.PAYLOAD, "lpg_replace_a.ko")], check=True, capture_output=True)
    g2.copy_in(out, "/root/lpg_replace_a.gen1.ko")
    assert g2.run("lp-load apply /root/lpg_replace_a.gen1.ko", timeout=120).rc == 0
    r = fleet.rollout("lpg_replace_b.ko")
    assert r.rc != 0, r
    assert r.host("g1")["verdict"] == "applied" and fleetlib.cmdline(fleet["g1"]) == B
    e = r.host("g2")
    assert e["verdict"] == "refused" and e["wave"] == 2 and e["exit_code"] == 4, e
    assert e["reason"].startswith("lp-load apply failed (exit 4, refused): cannot load lpg_replace_b: "), e
    assert "generation 0 is lower than 1, the highest enabled since boot" in e["reason"], e
    assert fleetlib.cmdline(g2) == A and fleetlib.status(g2)["active"] == "lpg_replace_a"
    for n in ("g3", "g4"):
        assert r.host(n)["verdict"] == "untouched" and not saw_v2(fleet[n]) and fleetlib.cmdline(fleet[n]) == A
    line = [ln for ln in r.out.splitlines() if ln.startswith("g2 ") and "refused:" in ln]
    assert line and "generation 0 is lower than 1" in line[0], r.out[-3000:]


def test_unreachable_host_at_the_start(fleet):
    # g2 is down (its VM powered off): unreachable from the first task on.
    fleet["g2"].stop()
    r = fleet.rollout("lpg_replace_b.ko", lpguard_waves=[1, 2, 1])
    assert r.rc != 0, r
    e = r.host("g2")
    assert e["verdict"] == "unreachable" and "127.0.0.1" in e["reason"], e
    assert r.host("g1")["verdict"] == "unchanged"
    # max_fail_percentage 0: the wave of g2 stops, g4's wave never starts.
    assert r.host("g3")["verdict"] in ("stopped", "untouched") and fleetlib.cmdline(fleet["g3"]) == A
    assert r.host("g4")["verdict"] == "untouched" and not saw_v2(fleet["g4"])
    # 50 %: one host of two in a wave may fail; the rollout goes on and the run still fails.
    r = fleet.rollout("lpg_replace_b.ko", lpguard_waves=[1, 2, 1], lpguard_max_fail_percentage=50)
    assert r.rc != 0, r
    assert r.host("g2")["verdict"] == "unreachable"
    assert r.host("g3")["verdict"] == "applied" and r.host("g4")["verdict"] == "applied", r.summary
    assert fleetlib.cmdline(fleet["g3"]) == B and fleetlib.cmdline(fleet["g4"]) == B
    assert "these hosts are not patched: g2" in r.out
