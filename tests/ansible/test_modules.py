# SPDX-License-Identifier: GPL-2.0
"""The lpguard.livepatch modules on localhost, against tests/ansible/fake-lp-load:
each through the real `ansible` program, checked from the outside (the task's
result and the fake kernel's state and call log)."""
import json
import os
import subprocess

import pytest

import helpers
from conftest import FakeHost, sign

MODULES = ("apply", "status", "install", "uninstall", "disable")


@pytest.fixture
def host(tmp_path, cvm_cli, keys):
    return FakeHost(str(tmp_path), "node", cvm_cli, keys["owner"])


@pytest.fixture
def signed(tmp_path, cvm_cli, keys, modules):
    """name -> a signed copy in tmp_path: v1, v2, v3 (owner's key), v1_other (the other key),
    v1_gen2 / v3_gen1 (generations), wrong_kernel."""
    d = tmp_path / "signed"
    d.mkdir()
    out = {
        "v1": sign(cvm_cli, keys["owner"], modules["v1"], str(d / "v1.ko")),
        "v2": sign(cvm_cli, keys["owner"], modules["v2"], str(d / "v2.ko")),
        "v1_other": sign(cvm_cli, keys["other"], modules["v1"], str(d / "v1_other.ko")),
        "v2_gen2": sign(cvm_cli, keys["owner"], modules["v2"], str(d / "v2_gen2.ko"), generation=2),
        "v3_gen1": sign(cvm_cli, keys["owner"], modules["v3"], str(d / "v3_gen1.ko"), generation=1),
        "wrong_kernel": sign(cvm_cli, keys["owner"], modules["wrong_kernel"], str(d / "wrong.ko")),
    }
    return out


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(colls, module, args, check=False):
    """Runs lpguard.livepatch.MODULE on localhost; returns its result dict."""
    env = helpers.ansible_env(colls, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    argv = ["ansible", "all", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3",
            "-m", f"lpguard.livepatch.{module}", "-a", json.dumps(args)]
    if check:
        argv.append("--check")
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    try:
        return json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"no module result from ansible (rc {p.returncode}):\n{p.stdout}\n{p.stderr}")


def test_ansible_doc_renders_every_module(colls):
    found = sorted(f[:-3] for f in os.listdir(os.path.join(helpers.COLLECTION, "plugins", "modules"))
                   if f.endswith(".py"))
    assert found == sorted(MODULES)
    env = helpers.ansible_env(colls)
    for m in MODULES:
        p = subprocess.run(["ansible-doc", f"lpguard.livepatch.{m}"], capture_output=True, text=True, env=env)
        assert p.returncode == 0, p.stderr
        assert f"LPGUARD.LIVEPATCH.{m.upper()}" in p.stdout and "EXAMPLES:" in p.stdout, p.stdout
        assert "RETURN VALUES:" in p.stdout and "lp_load" in p.stdout, p.stdout
        # The shared option comes from the doc fragment.
        assert "- lp_load" in p.stdout, p.stdout
    for kind, name in (("callback", "rollout_summary"), ("filter", "rollout_summary")):
        p = subprocess.run(["ansible-doc", "-t", kind, f"lpguard.livepatch.{name}"], capture_output=True, text=True,
                           env=env)
        assert p.returncode == 0 and "LPGUARD.LIVEPATCH.ROLLOUT_SUMMARY" in p.stdout, p.stderr


def test_status_reports_the_state(colls, host, signed):
    r = run(colls, "status", {"lp_load": host.lp_load})
    f = r["ansible_facts"]["lpguard_livepatch"]
    assert not r.get("failed") and r["changed"] is False
    assert f["active"] is None and f["installed"] is None and f["kernel_release"] == "6.12.0-fake"
    run(colls, "install", {"lp_load": host.lp_load, "src": signed["v2_gen2"], "now": True})
    f = run(colls, "status", {"lp_load": host.lp_load})["ansible_facts"]["lpguard_livepatch"]
    assert f["active"] == "lpg_fake_b"
    assert f["active_sha256"] == sha256(signed["v2_gen2"]) and f["active_sha256_source"] == "lpguard-log"
    assert f["generation"] == 2 and f["lpguard"]["enforcing"] == "yes"
    assert f["installed"]["name"] == "lpg_fake_b" and f["installed"]["generation"] == 2


def test_apply_applies_then_is_idempotent(colls, host, signed):
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1"], "sha256": sha256(signed["v1"])})
    assert not r.get("failed"), r
    assert r["changed"] is True and r["lp_load"]["result"] == "applied" and r["exit_code"] == 0
    assert r["msg"] == "lpg_fake_a is active (transition 1.0 ms)"
    assert host.active() == "lpg_fake_a"
    assert r["ansible_facts"]["lpguard_livepatch"]["active_sha256"] == sha256(signed["v1"])
    assert r["ansible_facts"]["lpguard_livepatch_report"] == r["lp_load"]   # lp-load's JSON as facts too
    host.reset_calls()
    again = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1"]})
    assert not again.get("failed") and again["changed"] is False, again
    assert "apply" not in host.commands()
    # v2 replaces it.
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v2"]})
    assert r["changed"] is True and r["lp_load"]["replaced"] == ["lpg_fake_a"] and host.active() == "lpg_fake_b"
    assert r["before"]["active"] == "lpg_fake_a"


def test_apply_in_check_mode_only_verifies(colls, host, signed):
    run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1"]})
    before = host.snapshot()
    host.reset_calls()
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v2"]}, check=True)
    assert not r.get("failed") and r["changed"] is True, r
    assert r["msg"] == "would apply lpg_fake_b replacing lpg_fake_a (check mode: lp-load verify passed)"
    assert set(host.commands()) == {"status", "verify"}
    assert host.snapshot() == before
    # A patch that would be refused fails in check mode too, with lp-load's reason.
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1_other"]}, check=True)
    assert r["failed"] and r["exit_code"] == 3 and "fails the signature check" in r["msg"], r
    assert host.snapshot() == before


def test_apply_refusal_fails_with_lp_loads_reason_and_code(colls, host, signed):
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1_other"]})
    assert r["failed"] and r["exit_code"] == 3 and r["result"] == "precheck-failed", r
    assert r["msg"].startswith("lp-load apply failed (exit 3, precheck-failed): ")
    assert r["msg"].endswith("(sign it with the livepatch key lpguard trusts)")
    assert "\n" not in r["msg"]
    assert host.active() is None
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["wrong_kernel"]})
    assert r["exit_code"] == 3 and "built for 5.10.0-other, running 6.12.0-fake" in r["msg"], r
    # Another image under the active patch's name: the kernel's EEXIST, exit 4.
    run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v2_gen2"]})
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v2"]})
    assert r["failed"] and r["exit_code"] == 4 and "a module named lpg_fake_b is already loaded" in r["msg"], r
    # The generation ratchet (lpguard's, in the fake kernel): exit 4, refused by lpguard.
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v3_gen1"]})
    assert r["exit_code"] == 4 and "refused by lpguard: generation 1 is lower than 2" in r["msg"], r
    assert host.active() == "lpg_fake_b"


def test_apply_checks_the_copy_before_lp_load_runs(colls, host, signed):
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1"], "sha256": "0" * 64})
    assert r["failed"] and "the copy is not the signed patch" in r["msg"], r
    assert "apply" not in host.commands() and host.active() is None
    r = run(colls, "apply", {"lp_load": host.lp_load, "src": "/nonexistent/p.ko"})
    assert r["failed"] and r["msg"].startswith("cannot read the patch /nonexistent/p.ko on this host"), r


def test_missing_lp_load_is_one_line(colls, signed):
    r = run(colls, "status", {"lp_load": "/nonexistent/lp-load"})
    assert r["failed"] and r["msg"] == ("lp-load not found: /nonexistent/lp-load is not an executable file "
                                        "(install the lp-load package on this host, or set lp_load to its path)")


def test_lock_held_fails_with_exit_7(colls, host, signed):
    import fcntl
    with open(os.path.join(host.dir, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = run(colls, "status", {"lp_load": host.lp_load})
    assert r["failed"] and r["exit_code"] == 7 and "another lp-load is running" in r["msg"], r


def test_install_uninstall_idempotent(colls, host, signed):
    r = run(colls, "install", {"lp_load": host.lp_load, "src": signed["v2_gen2"]})
    assert r["changed"] is True and host.installed()["name"] == "lpg_fake_b" and host.active() is None, r
    r = run(colls, "install", {"lp_load": host.lp_load, "src": signed["v2_gen2"]})
    assert r["changed"] is False, r
    r = run(colls, "install", {"lp_load": host.lp_load, "src": signed["v2_gen2"], "now": True})
    assert r["changed"] is True and host.active() == "lpg_fake_b", r
    r = run(colls, "install", {"lp_load": host.lp_load, "src": signed["v2_gen2"], "now": True})
    assert r["changed"] is False, r
    # A lower generation than the installed one: lp-load's refusal, exit 4.
    r = run(colls, "install", {"lp_load": host.lp_load, "src": signed["v3_gen1"]})
    assert r["failed"] and r["exit_code"] == 4 and "its generation 1 is lower than generation 2" in r["msg"], r
    before = host.snapshot()
    r = run(colls, "uninstall", {"lp_load": host.lp_load}, check=True)
    assert r["changed"] is True and r["msg"] == "would uninstall lpg_fake_b" and host.snapshot() == before
    r = run(colls, "uninstall", {"lp_load": host.lp_load})
    assert r["changed"] is True and host.installed() is None, r
    assert host.active() == "lpg_fake_b"   # the running patch stays
    r = run(colls, "uninstall", {"lp_load": host.lp_load})
    assert r["changed"] is False and not r.get("failed"), r


def test_disable_idempotent(colls, host, signed):
    r = run(colls, "disable", {"lp_load": host.lp_load})
    assert r["changed"] is False and not r.get("failed"), r
    run(colls, "apply", {"lp_load": host.lp_load, "src": signed["v1"]})
    r = run(colls, "disable", {"lp_load": host.lp_load}, check=True)
    assert r["changed"] is True and host.active() == "lpg_fake_a", r
    r = run(colls, "disable", {"lp_load": host.lp_load})
    assert r["changed"] is True and host.active() is None, r
    assert r["msg"] == "disabled and removed lpg_fake_a; kernel unpatched"


# The fake's reports carry the keys docs/lp-load.md (JSON output) documents for
# each command, so the modules are tested against the documented shape.
DOC_KEYS = {
    "apply": {"command", "result", "exit_code", "message", "patch", "refusal", "transition_ms", "revert_ms",
              "replaced", "cleanup", "blocking_tasks", "active", "precheck", "marked_bad"},
    "status": {"command", "kernel_release", "active", "patches", "transition", "leftovers", "lpguard", "taint",
               "installed", "boot_apply", "boot_attempt"},
    "verify": {"command", "ok", "message", "path", "name", "sha256", "vermagic", "kernel_release",
               "certificates", "signer", "checks"},
    "install": {"command", "result", "exit_code", "message", "installed", "precheck"},
    "uninstall": {"command", "result", "exit_code", "message", "installed"},
    "disable": {"command", "result", "exit_code", "message", "disabled", "transition_ms", "cleanup",
                "blocking_tasks"},
}


def test_fake_lp_load_reports_have_the_documented_keys(host, signed):
    doc = open(os.path.join(helpers.TOP, "docs", "lp-load.md")).read()
    for k in ("blocking_tasks", "boot_attempt", "marked_bad", "certificates", "transition_ms"):
        assert f'"{k}"' in doc, f"docs/lp-load.md no longer documents {k}: update DOC_KEYS and the fake"

    def call(*args):
        p = subprocess.run([host.lp_load, *args, "--json"], capture_output=True, text=True)
        return p.returncode, json.loads(p.stdout)

    rc, r = call("verify", signed["v1"])
    assert rc == 0 and set(r) == DOC_KEYS["verify"]
    rc, r = call("apply", signed["v1"])
    assert rc == 0 and set(r) == DOC_KEYS["apply"] and r["exit_code"] == 0
    rc, r = call("status")
    assert rc == 0 and set(r) == DOC_KEYS["status"]
    rc, r = call("install", signed["v1"])
    assert rc == 0 and set(r) == DOC_KEYS["install"]
    rc, r = call("uninstall")
    assert rc == 0 and set(r) == DOC_KEYS["uninstall"]
    rc, r = call("disable")
    assert rc == 0 and set(r) == DOC_KEYS["disable"]
    rc, r = call("disable")
    assert rc == 8 and r["result"] == "none"
    rc, r = call("apply", signed["v1_other"])
    assert rc == 3 and r["result"] == "precheck-failed" and set(r) == DOC_KEYS["apply"]
