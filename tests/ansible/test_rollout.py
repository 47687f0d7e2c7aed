# SPDX-License-Identifier: GPL-2.0
"""The rollout playbook (lpguard.livepatch.rollout) with the real ansible-playbook
over four fake hosts (ansible_connection=local, each its own fake lp-load): waves,
stops, going back, the summary and check mode. tests/qemu/test_fleet.py runs the
same cases on four Debian guests with the real lp-load."""
import os

import pytest

import helpers

WAVES_OF_4 = {"h1": 1, "h2": 2, "h3": 3, "h4": 3}   # [1, "25%", "100%"] over 4 hosts


@pytest.fixture
def rollout(fleet, colls, keys, cvm_cli):
    def run(patch, check=False, **extra):
        ev = {"lpguard_patch": patch, "lpguard_key": os.path.join(keys["owner"], "livepatch.key"),
              "lpguard_cert": os.path.join(keys["owner"], "livepatch.crt"), "lpguard_cvm_cli": cvm_cli,
              "lpguard_health_delay": 0}
        ev.update(extra)
        return helpers.run_playbook(colls, fleet.path, ev, fleet.summary, check=check)
    return run


def sha(fleet, name):
    """The active patch's image SHA-256 on a fake host."""
    k = fleet[name].kernel()
    for d in reversed(k["log"]):
        if d["module"] == k["active"] and d["verdict"] == "allowed":
            return d["sha256"]
    return None


def saw(fleet, name, patch_sha):
    """Whether lp-load on that host was ever given a file of that image."""
    return any(patch_sha in " ".join(c) for c in fleet[name].calls())


def test_roll_v1_to_all_then_rerun_changes_nothing(fleet, rollout, modules):
    r = rollout(modules["v1"])
    assert r.rc == 0, r
    s = r.summary
    assert s["result"] == "complete" and s["counts"] == {"applied": 4}, s
    assert s["waves"] == [1, "25%", "100%"] and s["max_fail_percentage"] == 0
    for h in ("h1", "h2", "h3", "h4"):
        e = r.host(h)
        assert fleet[h].active() == "lpg_fake_a" and fleet[h].installed()["name"] == "lpg_fake_a"
        assert e["verdict"] == "applied" and e["wave"] == WAVES_OF_4[h], e
        assert e["before"]["active"] is None and e["after"]["active"] == "lpg_fake_a"
        assert e["after"]["sha256"] == s["patch"]["sha256"] == sha(fleet, h)
    assert "LPGUARD ROLLOUT SUMMARY" in r.out and f"summary written to {fleet.summary}" in r.out
    for h in fleet.hosts:
        fleet[h].reset_calls()
    again = rollout(modules["v1"])
    assert again.rc == 0, again
    assert set(again.recap) == {"h1", "h2", "h3", "h4"}
    assert all(v["changed"] == 0 for v in again.recap.values()), again.recap
    assert again.summary["counts"] == {"unchanged": 4}
    for h in fleet.hosts:
        assert set(fleet[h].commands()) == {"status"}, fleet[h].calls()


def test_canary_failing_health_check_goes_back_and_stops(fleet, rollout, modules):
    assert rollout(modules["v1"]).rc == 0
    v1 = sha(fleet, "h1")
    open(os.path.join(fleet["h1"].dir, "unhealthy"), "w").close()
    health = "test ! -e {{ lpguard_staging_dir }}/unhealthy || { echo 'service check failed' >&2; exit 1; }"
    r = rollout(modules["v2"], lpguard_health_command=health)
    assert r.rc != 0, r
    c = r.host("h1")
    assert c["verdict"] == "restored" and c["stage"] == "Health check (command)", c
    assert c["reason"].endswith("exited 1: service check failed"), c
    assert c["before"]["active"] == "lpg_fake_a" and c["after"]["active"] == "lpg_fake_a"
    assert fleet["h1"].active() == "lpg_fake_a" and sha(fleet, "h1") == v1
    assert fleet["h1"].installed()["name"] == "lpg_fake_a"   # v2 was never installed
    v2 = r.summary["patch"]["sha256"]
    assert saw(fleet, "h1", v2)
    for h in ("h2", "h3", "h4"):
        assert r.host(h)["verdict"] == "untouched"
        assert fleet[h].active() == "lpg_fake_a" and not saw(fleet, h, v2)
    assert r.summary["result"] == "stopped"


def test_canary_failing_health_check_keeps_when_told(fleet, rollout, modules):
    assert rollout(modules["v1"]).rc == 0
    r = rollout(modules["v2"], lpguard_health_command="false", lpguard_on_failure="keep",
                lpguard_health_retries=0)
    assert r.rc != 0
    assert r.host("h1")["verdict"] == "kept" and fleet["h1"].active() == "lpg_fake_b"
    assert fleet["h1"].installed()["name"] == "lpg_fake_a"
    assert all(fleet[h].active() == "lpg_fake_a" for h in ("h2", "h3", "h4"))


def test_canary_failing_url_health_check(fleet, rollout, modules):
    # Nothing listens on port 9 of loopback.
    r = rollout(modules["v1"], lpguard_health_url="http://127.0.0.1:9/healthz", lpguard_health_retries=0)
    assert r.rc != 0
    c = r.host("h1")
    assert c["verdict"] == "restored" and c["stage"] == "Health check (URL)" and "Connection refused" in c["reason"]
    assert fleet["h1"].active() is None   # none was active before: turned off again
    assert all(fleet[h].active() is None and fleet[h].calls() == [] for h in ("h2", "h3", "h4"))


def test_second_wave_refusal_stops_that_wave(fleet, rollout, modules, keys):
    assert rollout(modules["v1"]).rc == 0
    fleet["h2"].trust(keys["other"])   # h2 trusts another key: lp-load's pre-check refuses
    r = rollout(modules["v2"])
    assert r.rc != 0, r
    v2 = r.summary["patch"]["sha256"]
    assert r.host("h1")["verdict"] == "applied" and fleet["h1"].active() == "lpg_fake_b"
    e = r.host("h2")
    assert e["verdict"] == "refused" and e["exit_code"] == 3 and e["wave"] == 2, e
    assert "lp-load apply failed (exit 3, precheck-failed)" in e["reason"]
    assert "fails the signature check" in e["reason"] and "sign it with the livepatch key lpguard trusts" in e["reason"]
    assert fleet["h2"].active() == "lpg_fake_a" and e["after"]["active"] == "lpg_fake_a"
    for h in ("h3", "h4"):
        assert r.host(h)["verdict"] == "untouched" and not saw(fleet, h, v2) and fleet[h].active() == "lpg_fake_a"
    # The summary on screen names the host and lp-load's reason too.
    line = [ln for ln in r.out.splitlines() if ln.startswith("h2 ") and "refused:" in ln]
    assert line and "fails the signature check" in line[0], r.out[-3000:]


def test_unreachable_host_follows_max_fail_percentage(fleet, rollout, modules):
    fleet.inventory(unreachable=["h2"])
    waves = [1, 2, 1]
    r = rollout(modules["v1"], lpguard_waves=waves)
    assert r.rc != 0
    e = r.host("h2")
    assert e["verdict"] == "unreachable" and "127.0.0.1" in e["reason"] and e["wave"] == 2, e
    assert fleet["h1"].active() == "lpg_fake_a"
    # max_fail_percentage 0: the wave stops at the unreachable host, the next wave is untouched.
    assert r.host("h3")["verdict"] in ("stopped", "untouched") and fleet["h3"].active() is None
    assert r.host("h4")["verdict"] == "untouched" and fleet["h4"].calls() == []
    # 50 %: one of two in the wave may fail; the rollout goes on.
    for h in fleet.hosts:
        fleet[h].reset_calls()
    r = rollout(modules["v1"], lpguard_waves=waves, lpguard_max_fail_percentage=50)
    assert r.rc != 0   # a host stayed unpatched
    assert r.host("h2")["verdict"] == "unreachable"
    assert r.host("h3")["verdict"] == "applied" and r.host("h4")["verdict"] == "applied"
    assert fleet["h4"].active() == "lpg_fake_a"


def test_check_mode_changes_nothing(fleet, rollout, modules):
    assert rollout(modules["v1"]).rc == 0
    before = {h: fleet[h].snapshot() for h in fleet.hosts}
    for h in fleet.hosts:
        fleet[h].reset_calls()
    r = rollout(modules["v2"], check=True)
    assert r.rc == 0, r
    assert r.summary["check_mode"] is True and r.summary["counts"] == {"would-apply": 4}, r.summary
    for h in fleet.hosts:
        assert fleet[h].snapshot() == before[h], h
        assert set(fleet[h].commands()) == {"status", "verify"}, fleet[h].calls()
        assert r.host(h)["after"]["active"] == "lpg_fake_a"
    # The staged copy is gone.
    assert not any(f.startswith("lpguard-") for h in fleet.hosts for f in os.listdir(fleet[h].dir))


def test_without_the_summary_callback_it_refuses_to_start(fleet, colls, keys, cvm_cli, modules):
    env = helpers.ansible_env(colls, ANSIBLE_CALLBACKS_ENABLED="")
    r = helpers.run_playbook(colls, fleet.path, {"lpguard_patch": modules["v1"], "lpguard_cvm_cli": cvm_cli},
                             fleet.summary, env=env)
    assert r.rc != 0 and "ANSIBLE_CALLBACKS_ENABLED=lpguard.livepatch.rollout_summary" in r.out
    assert all(fleet[h].calls() == [] for h in fleet.hosts)


def test_signing_failure_touches_no_host(fleet, rollout, modules, tmp_path):
    r = rollout(modules["v1"], lpguard_key=str(tmp_path / "missing.key"))
    assert r.rc != 0
    assert r.summary["result"] == "not-started" and "Sign the patch" in r.summary["error"], r.summary
    assert all(fleet[h].calls() == [] for h in fleet.hosts)


def test_host_lost_during_its_wave_stops_the_next_wave(fleet, rollout, modules):
    # h1 goes down right after its health check (the check itself makes it go down):
    # Ansible drops it as unreachable; the next wave must not start.
    fleet.inventory(over_fake_ssh=["h1"])
    down = os.path.join(fleet["h1"].dir, "down")
    r = rollout(modules["v1"], lpguard_waves=[2, 2], lpguard_health_command=f"touch {down}")
    assert r.rc != 0, r
    e = r.host("h1")
    assert e["verdict"] == "unreachable" and "Connection refused" in e["reason"], e
    assert r.host("h2")["verdict"] == "applied" and fleet["h2"].active() == "lpg_fake_a"
    for h in ("h3", "h4"):
        e = r.host(h)
        assert e["verdict"] == "untouched" and "h1 of an earlier wave became unreachable" in e["reason"], e
        assert fleet[h].active() is None and "apply" not in fleet[h].commands()


def test_refusal_within_max_fail_percentage_goes_on(fleet, rollout, modules, keys):
    fleet["h2"].trust(keys["other"])
    r = rollout(modules["v1"], lpguard_waves=[1, 2, 1], lpguard_max_fail_percentage=50)
    assert r.rc != 0, r   # the run fails: h2 is not patched
    assert r.host("h2")["verdict"] == "refused" and fleet["h2"].active() is None
    assert [r.host(h)["verdict"] for h in ("h1", "h3", "h4")] == ["applied"] * 3
    assert "these hosts are not patched: h2 (see the summary)" in " ".join(r.out.split())
    # Both hosts of the second wave refuse: 100 % > 50 %, the rollout stops before the third.
    fleet["h3"].trust(keys["other"])
    r = rollout(modules["v2"], lpguard_waves=[1, 2, 1], lpguard_max_fail_percentage=50)
    assert r.rc != 0
    assert r.host("h1")["verdict"] == "applied"
    assert r.host("h2")["verdict"] == "refused" and r.host("h3")["verdict"] == "refused"
    assert r.host("h4")["verdict"] == "untouched" and fleet["h4"].active() == "lpg_fake_a"


def test_attestation_failure_goes_back(fleet, rollout, modules, cvm_cli, tmp_path):
    # cvm-cli attest stands in here (no TPM on fake hosts): it records its command line and,
    # for h1, fails as cvm-cli does when the active patch is not the expected image (exit 21).
    log = tmp_path / "attest.log"
    wrapper = tmp_path / "cvm-cli"
    wrapper.write_text(f"""#!/bin/sh
if [ "$1" = attest ]; then
	echo "$@" >> {log}
	case "$3" in *h1*) echo "cvm-cli: attestation of $3 verified, but the active livepatch is not the expected image (check what runs there)" >&2; exit 21;; esac
	exit 0
fi
exec {cvm_cli} "$@"
""")
    wrapper.chmod(0o755)
    r = rollout(modules["v1"], lpguard_cvm_cli=str(wrapper), lpguard_attest=True,
                lpguard_attest_args=["--ak-pub", "/etc/ak.pem"])
    assert r.rc != 0, r
    e = r.host("h1")
    assert e["verdict"] == "restored" and e["stage"].startswith("Attest"), e
    assert e["reason"].endswith("exited 21: cvm-cli: attestation of root@h1:22 verified, but the active livepatch "
                                "is not the expected image (check what runs there)"), e
    assert fleet["h1"].active() is None and fleet["h1"].installed() is None
    signed = r.summary["patch"]
    calls = log.read_text().splitlines()
    assert calls == [f"attest ssh root@h1:22 --ak-pub /etc/ak.pem --expect {os.path.realpath(fleet.root)}/"
                     f"lpg_fake_a.signed.ko"], (calls, signed)
    assert all(r.host(h)["verdict"] == "untouched" for h in ("h2", "h3", "h4"))


def test_a_patch_signed_already_is_taken_as_is(fleet, rollout, modules, keys, cvm_cli, tmp_path):
    from conftest import sign
    signed = sign(cvm_cli, keys["owner"], modules["v1"], str(tmp_path / "v1-signed.ko"))
    with open(signed, "rb") as f:
        want = __import__("hashlib").sha256(f.read()).hexdigest()
    r = rollout(signed, lpguard_sign=False, lpguard_key="/nonexistent.key")   # the key is not read
    assert r.rc == 0, r
    assert r.summary["patch"]["sha256"] == want and r.summary["counts"] == {"applied": 4}
    assert all(r.host(h)["after"]["sha256"] == want for h in fleet.hosts)
