# SPDX-License-Identifier: GPL-2.0
"""lp-load in the guest (image kernel, lpguard built in): apply, replace,
stall -> timeout -> revert, disable, status/list JSON, refusal reasons."""
import json

import pytest
from lpg import cmdline, livepatch_state

T = "/opt/lpguard-tests"
LIVEPATCH = "/sys/kernel/livepatch"


@pytest.fixture
def clean(vm):
    """Every test starts and ends with no livepatch loaded."""
    original = cmdline(vm)
    assert livepatch_state(vm) == ([], []), "a previous test left a livepatch behind"
    yield original
    vm.run("lp-load disable")
    assert livepatch_state(vm) == ([], [])
    assert cmdline(vm) == original


def test_apply_patches_and_disable_restores(vm, clean):
    r = vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko")
    assert r.rc == 0, r
    assert r.out.startswith("lpg_replace_a is active (transition "), r
    assert cmdline(vm) == "lpguard test: replace A"
    assert vm.run(f"cat {LIVEPATCH}/lpg_replace_a/enabled {LIVEPATCH}/lpg_replace_a/transition").out.split() == ["1", "0"]

    r = vm.run("lp-load disable")
    assert r.rc == 0, r
    assert r.out.strip() == "disabled and removed lpg_replace_a; kernel unpatched"
    assert livepatch_state(vm) == ([], [])
    assert cmdline(vm) == clean

    r = vm.run("lp-load disable")
    assert r.rc == 8, r
    assert r.err.strip() == "lp-load: no active livepatch, nothing to disable"


def test_default_command_is_apply_and_json_report(vm, clean):
    r = vm.run(f"lp-load {T}/lpg_replace_a.lp.ko --json")
    assert r.rc == 0, r
    j = json.loads(r.out)
    assert j["command"] == "apply"
    assert j["result"] == "applied"
    assert j["exit_code"] == 0
    assert j["patch"]["name"] == "lpg_replace_a"
    assert j["patch"]["path"] == f"{T}/lpg_replace_a.lp.ko"
    assert len(j["patch"]["sha256"]) == 64
    assert isinstance(j["transition_ms"], (int, float))
    assert j["replaced"] == [] and j["active"] == ["lpg_replace_a"]
    assert j["precheck"]["ok"] is True
    assert j["precheck"]["certificates"] == "/sys/kernel/security/lpguard/certificates"
    assert [c["check"] for c in j["precheck"]["checks"]] == ["format", "livepatch", "vermagic", "signature"]


def test_replace_removes_previous_module(vm, clean):
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    r = vm.run(f"lp-load apply {T}/lpg_replace_b.lp.ko")
    assert r.rc == 0, r
    assert "replaced lpg_replace_a" in r.out
    assert "removed module lpg_replace_a" in r.out
    assert cmdline(vm) == "lpguard test: replace B"
    assert livepatch_state(vm) == (["lpg_replace_b"], ["lpg_replace_b"])
    assert vm.run("test -e /sys/module/lpg_replace_a").rc != 0


def test_status_and_list_json(vm, clean):
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    s = json.loads(vm.run("lp-load status --json", check=True).out)
    assert s["command"] == "status"
    assert s["active"] == "lpg_replace_a"
    assert s["transition"] is None
    assert s["leftovers"] == []
    (p,) = s["patches"]
    assert p["name"] == "lpg_replace_a" and p["enabled"] is True and p["replace"] is True
    assert p["objects"] == [{"name": "vmlinux", "patched": True, "functions": ["cmdline_proc_show,1"]}]
    assert s["lpguard"]["status"]["form"] == "builtin"
    assert s["lpguard"]["status"]["active"] == "lpg_replace_a"
    last = s["lpguard"]["recent_decisions"][-1]
    assert (last["module"], last["verdict"]) == ("lpg_replace_a", "allowed")
    assert "K (livepatch)" in s["taint"]["flags"]
    assert s["kernel_release"] == vm.run("uname -r").out.strip()

    lst = json.loads(vm.run("lp-load list --json", check=True).out)
    assert lst == {"command": "list", "modules": [
        {"name": "lpg_replace_a", "state": "active", "refcnt": lst["modules"][0]["refcnt"], "replace": True}]}
    assert isinstance(lst["modules"][0]["refcnt"], int)


def test_stall_times_out_reverts_and_leaves_system_as_before(vm, clean):
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    r = vm.run(f"lp-load apply --timeout 2 {T}/lpg_busy.lp.ko", timeout=120)
    assert r.rc == 5, r
    assert "transition of lpg_busy did not finish within 2000 ms (blocked by " in r.err, r
    assert "kthreadd[2]" in r.err.splitlines()[0]
    assert "reverted and removed it, active: lpg_replace_a" in r.err
    # The blocking task with its kernel stack.
    assert "tasks that kept the transition from finishing, with their kernel stacks:" in r.err
    assert "  2/2 kthreadd\n" in r.err
    assert "kthreadd+0x" in r.err.split("  2/2 kthreadd\n", 1)[1]
    # As before: the previous patch active, lpg_busy gone without trace.
    assert livepatch_state(vm) == (["lpg_replace_a"], ["lpg_replace_a"])
    assert cmdline(vm) == "lpguard test: replace A"


def test_stall_json_reports_blocking_task(vm, clean):
    r = vm.run(f"lp-load apply --json --timeout 1 {T}/lpg_busy.lp.ko", timeout=120)
    assert r.rc == 5, r
    j = json.loads(r.out)
    assert j["result"] == "reverted" and j["exit_code"] == 5
    assert j["transition_ms"] is None and isinstance(j["revert_ms"], (int, float))
    blockers = {(t["pid"], t["comm"]) for t in j["blocking_tasks"]}
    assert (2, "kthreadd") in blockers
    kt = next(t for t in j["blocking_tasks"] if t["pid"] == 2)
    assert any(f.split()[-1].startswith("kthreadd+0x") for f in kt["stack"]), kt
    assert j["active"] == []
    assert livepatch_state(vm) == ([], [])


# lpguard's refusals, with --no-precheck so that the kernel decides.
REFUSALS = [
    ("lpg_replace_a.ko", "EKEYREJECTED",
     "signature refused by lpguard: livepatch is not signed: sign it with a livepatch key"),
    ("lpg_replace_a.build.ko", "EKEYREJECTED",
     "signature refused by lpguard: livepatch is not signed by a key in .livepatch: "
     "sign it with a livepatch key"),
    ("lpg_replace_a.other.ko", "EKEYREJECTED",
     "signature refused by lpguard: livepatch is not signed by a key in .livepatch: "
     "sign it with a livepatch key"),
    ("lpg_replace_a.tampered.ko", "EKEYREJECTED",
     "signature refused by lpguard: livepatch signature does not verify against .livepatch ("),
    ("lpg_plain.lp.ko", "EPERM",
     "refused by lpguard: ordinary module signed by a livepatch key: livepatch keys sign livepatches only; "
     "sign it with the kernel module key"),
    ("lpg_noreplace.lp.ko", "EPERM",
     "refused by lpguard: klp_patch.replace is false: only cumulative replace livepatches may be enabled; "
     "build it with .replace = true"),
]


@pytest.mark.parametrize("ko,errno,reason", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_lpguard_refusal_reasons(vm, clean, ko, errno, reason):
    name = ko.split(".")[0]
    r = vm.run(f"lp-load apply --no-precheck --json {T}/{ko}")
    assert r.rc == 4, r
    j = json.loads(r.out)
    assert j["result"] == "refused"
    assert j["refusal"]["errno"] == errno
    assert j["refusal"]["reason"].startswith(reason), j["refusal"]
    assert j["refusal"]["lpguard"]["verdict"] == "refused"
    assert f'obj="{name}"' in j["refusal"]["lpguard"]["line"]
    # The one line printed without --json carries the same reason.
    r = vm.run(f"lp-load apply --no-precheck {T}/{ko}")
    assert r.rc == 4
    assert f"lp-load: cannot load {name}: {reason}" in r.err, r
    assert vm.run(f"test -e /sys/module/{name}").rc != 0


PRECHECK = [
    ("lpg_replace_a.ko", "signature", "the module is not signed"),
    ("lpg_replace_a.build.ko", "signature", None),
    ("lpg_replace_a.other.ko", "signature", None),
    ("lpg_replace_a.tampered.ko", "signature", None),
    ("lpg_plain.lp.ko", "livepatch", "no livepatch= tag in .modinfo: an ordinary module"),
]


@pytest.mark.parametrize("ko,check,detail", PRECHECK, ids=[p[0] for p in PRECHECK])
def test_precheck_refuses_before_the_kernel_sees_it(vm, clean, ko, check, detail):
    mark = vm.dmesg_mark()
    r = vm.run(f"lp-load apply {T}/{ko}")
    assert r.rc == 3, r
    assert r.err.startswith(f"lp-load: {T}/{ko} fails the {check} check: "), r
    if detail:
        assert detail in r.err
    v = json.loads(vm.run(f"lp-load verify --json {T}/{ko}").out)
    assert v["ok"] is False
    failed = [c for c in v["checks"] if not c["ok"]]
    assert failed[0]["check"] == check
    # lpguard never saw it.
    assert "lpguard" not in vm.dmesg_since(mark)


def test_verify_accepts_the_signed_patch(vm):
    r = vm.run(f"lp-load verify {T}/lpg_replace_a.lp.ko")
    assert r.rc == 0, r
    assert r.out.splitlines()[:4] == [
        "ok    format: ELF module lpg_replace_a",
        "ok    livepatch: livepatch=Y",
        "ok    vermagic: " + json.loads(vm.run(f"lp-load verify --json {T}/lpg_replace_a.lp.ko").out)["vermagic"],
        r.out.splitlines()[3]]
    assert r.out.splitlines()[3].startswith("ok    signature: verified by ")
    assert "CN = lpguard test livepatch" in r.out.splitlines()[3]


def test_lock_contention(vm, clean):
    # A first lp-load holds the lock while it waits on a transition that cannot finish.
    vm.run(f"lp-load apply --timeout 4 {T}/lpg_busy.lp.ko >/tmp/first.out 2>&1 & echo $! > /tmp/first.pid",
           check=True)
    vm.run("while ! test -d /sys/kernel/livepatch/lpg_busy; do sleep 0.1; done", timeout=30, check=True)
    first = vm.run("cat /tmp/first.pid", check=True).out.strip()
    r = vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko")
    assert r.rc == 7, r
    assert r.err.strip() == f"lp-load: another lp-load is running: pid {first} holds /run/lp-load.lock " \
                            "(wait for it to finish and retry)"
    vm.run(f"while test -d /proc/{first}; do sleep 0.2; done", timeout=60, check=True)
    assert "reverted and removed it" in vm.run("cat /tmp/first.out").out
    assert livepatch_state(vm) == ([], [])
    # The lock is free again.
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
