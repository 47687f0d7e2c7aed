# SPDX-License-Identifier: GPL-2.0
"""An lp-load killed (SIGKILL) while it waits for a transition: the next
lp-load, whichever command, finds the transition it left, takes the lock (a
stale pid in the lock file never blocks), finishes or reverts it, says what it
found in the documented line, and goes on with its own command.

The killed lp-load applies lpg_busy, whose transition never finishes on its
own (tests/modules/lpg_busy.c: kthreadd never leaves kthreadd()), so it is
surely still waiting when it is killed. Its record asks for a 6 s timeout, so
the next lp-load waits for what is left of it and then reverts, as the killed
one would have. Busybox guest: it proves the same as the Debian one here and
boots in seconds.
"""
import json
import re

import pytest

from lpg import T, cmdline, livepatch_state

LIVEPATCH = "/sys/kernel/livepatch"
TIMEOUT = 6
RECORD = "/run/lp-load/transition.json"
LOCK = "/run/lp-load.lock"


def found(pid):
    return f"lp-load: found lpg_busy's transition left by lp-load pid {pid} (killed?): "


def reverted_re(pid, active):
    """The line of a forward transition that ran out of its time and was reverted."""
    return re.compile(re.escape(found(pid)) + re.escape(f"it did not finish within its {TIMEOUT} s (blocked by ")
                      + r"[^()]*kthreadd\[2\][^()]*"
                      + re.escape(f"); reverted and removed lpg_busy, {active}") + "$")


def kill_waiting_apply(vm):
    """Starts 'lp-load apply' of lpg_busy, SIGKILLs it while it waits for the
    transition; returns the killed pid. The transition and the record stay."""
    pid = vm.run(f"lp-load apply --timeout {TIMEOUT} {T}/lpg_busy.lp.ko >/tmp/killed.out 2>&1 & echo $!",
                 check=True).out.strip()
    vm.run(f"while ! [ \"$(cat {LIVEPATCH}/lpg_busy/transition 2>/dev/null)\" = 1 ] || ! [ -f {RECORD} ]; "
           "do sleep 0.1; done", timeout=30, check=True)
    assert vm.run(f"cat /proc/{pid}/comm", check=True).out.strip() == "lp-load"
    vm.run(f"kill -KILL {pid}; while [ -d /proc/{pid} ]; do sleep 0.1; done", timeout=30, check=True)
    # What the killed lp-load left: the transition, its record, its pid in the lock file.
    assert vm.run(f"cat {LIVEPATCH}/lpg_busy/transition", check=True).out.strip() == "1"
    rec = json.loads(vm.run(f"cat {RECORD}", check=True).out)
    assert (rec["command"], rec["patch"], rec["pid"], rec["timeout_s"]) == ("apply", "lpg_busy", int(pid), TIMEOUT)
    assert vm.run(f"cat {LOCK}", check=True).out.strip() == pid
    return pid


def nothing_left(vm):
    assert vm.run(f"test -e {RECORD}").rc != 0
    assert vm.run("test -e /sys/module/lpg_busy").rc != 0


@pytest.fixture
def clean(vm):
    """Every test starts and ends with no livepatch loaded."""
    original = cmdline(vm)
    assert livepatch_state(vm) == ([], []), "a previous test left a livepatch behind"
    yield original
    vm.run("lp-load disable", timeout=120)
    assert livepatch_state(vm) == ([], [])
    assert cmdline(vm) == original


def test_status_reverts_what_the_killed_apply_left(vm, clean):
    pid = kill_waiting_apply(vm)
    r = vm.run("lp-load status", timeout=120)
    assert r.rc == 0, r
    first, *rest = r.err.splitlines()
    assert reverted_re(pid, "kernel unpatched").match(first), r.err
    assert rest == [], r.err
    # Then its own report, after the recovery: nothing active, nothing in transition.
    assert "active:      none (kernel unpatched)" in r.out.splitlines(), r.out
    assert "transition:  none" in r.out.splitlines(), r.out
    assert livepatch_state(vm) == ([], [])
    nothing_left(vm)
    # The lock is free: the stale pid did not block, and nothing holds it now.
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    assert livepatch_state(vm) == (["lpg_replace_a"], ["lpg_replace_a"])


def test_apply_reverts_it_then_applies_its_own_patch(vm, clean):
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    pid = kill_waiting_apply(vm)
    r = vm.run(f"lp-load apply --json {T}/lpg_replace_b.lp.ko", timeout=120)
    assert r.rc == 0, r
    j = json.loads(r.out)
    rec = j["recovered"]
    assert rec["outcome"] == "reverted", rec
    assert reverted_re(pid, "active: lpg_replace_a").match("lp-load: " + rec["message"]), rec
    assert (rec["found"]["pid"], rec["found"]["patch"], rec["found"]["command"]) == (int(pid), "lpg_busy", "apply")
    assert any(t["pid"] == 2 and t["comm"] == "kthreadd" for t in rec["blocking_tasks"]), rec
    assert rec["active"] == ["lpg_replace_a"]
    # Its own command, after that: lpg_replace_b replaced lpg_replace_a.
    assert (j["command"], j["result"], j["replaced"], j["active"]) == (
        "apply", "applied", ["lpg_replace_a"], ["lpg_replace_b"]), j
    assert livepatch_state(vm) == (["lpg_replace_b"], ["lpg_replace_b"])
    assert cmdline(vm) == "lpguard test: replace B"
    nothing_left(vm)


def test_disable_reverts_it_then_disables_the_active_patch(vm, clean):
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    pid = kill_waiting_apply(vm)
    r = vm.run("lp-load disable", timeout=120)
    assert r.rc == 0, r
    assert len(r.err.splitlines()) == 1 and reverted_re(pid, "active: lpg_replace_a").match(r.err.strip()), r.err
    assert r.out == "disabled and removed lpg_replace_a; kernel unpatched\n", r
    assert livepatch_state(vm) == ([], [])
    nothing_left(vm)


def test_list_removes_what_was_reverted_meanwhile(vm, clean):
    """The transition was reverted by hand after the kill: the next lp-load
    (list) removes the module that is left and says so, without waiting."""
    pid = kill_waiting_apply(vm)
    vm.run(f"echo 0 > {LIVEPATCH}/lpg_busy/enabled", check=True)
    vm.run(f"while [ -d {LIVEPATCH}/lpg_busy ]; do sleep 0.1; done", timeout=30, check=True)
    assert livepatch_state(vm) == ([], ["lpg_busy"])   # a leftover module
    r = vm.run("lp-load list --json", timeout=120)
    assert r.rc == 0, r
    j = json.loads(r.out)
    assert j["recovered"]["outcome"] == "reverted", j
    assert j["recovered"]["message"] == (f"found lpg_busy's transition left by lp-load pid {pid} (killed?): "
                                         "it had been reverted: removed lpg_busy, kernel unpatched")
    assert j["recovered"]["cleanup"]["removed"] == ["lpg_busy"], j
    assert j["modules"] == []
    assert livepatch_state(vm) == ([], [])
    nothing_left(vm)


def test_a_transition_that_completed_meanwhile(fresh_vm):
    """The transition completed after the kill (forced here, the only way
    lpg_busy's can; a forced patch's module stays for good, so on a boot of
    its own): the next lp-load says so and leaves the patch active."""
    vm = fresh_vm
    pid = kill_waiting_apply(vm)
    vm.run(f"echo 1 > {LIVEPATCH}/lpg_busy/force", check=True)
    vm.run(f"while [ \"$(cat {LIVEPATCH}/lpg_busy/transition)\" = 1 ]; do sleep 0.1; done", timeout=30, check=True)
    r = vm.run("lp-load status --json", timeout=120)
    assert r.rc == 0, r
    j = json.loads(r.out)
    assert j["recovered"]["outcome"] == "completed", j
    assert j["recovered"]["message"] == (f"found lpg_busy's transition left by lp-load pid {pid} (killed?): "
                                         "it completed: lpg_busy is active")
    assert j["recovered"]["mark"] is None
    assert j["active"] == "lpg_busy" and j["transition"] is None, j
    assert vm.run(f"cat {LIVEPATCH}/lpg_busy/enabled {LIVEPATCH}/lpg_busy/transition").out.split() == ["1", "0"]
    assert vm.run(f"test -e {RECORD}").rc != 0
    # Found once: the next command has nothing to recover.
    assert "recovered" not in json.loads(vm.run("lp-load status --json", check=True).out)
