# SPDX-License-Identifier: GPL-2.0
"""lpguard built in: the lock on disabling the active livepatch.

The test kernel is built without CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE (so the
other suites can disable patches); this file boots it with lpguard.lock_active=1,
which turns the same lock on. The image kernel (LPGUARD_LOCK_ACTIVE=y) has it
on from boot. One boot of each, tests in file order.
"""
import re

import pytest

import conftest
from lpg import T, SFS, ima_records, sha256, wait_transition, cmdline

LIVEPATCH = "/sys/kernel/livepatch"
R_LOCKED = ("the active livepatch is locked (CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE): "
            "apply a newer cumulative patch to go back")


@pytest.fixture(scope="module")
def vm_locked():
    with conftest.make_vm(name="locked", append="lpguard.lock_active=1") as v:
        yield v


def status(vm):
    return vm.run(f"cat {SFS}/status", check=True).out


def enabled(vm, name):
    return vm.run(f"cat {LIVEPATCH}/{name}/enabled", check=True).out.strip()


def test_without_the_lock_the_active_patch_can_be_disabled(vm):
    """The control case: the same write succeeds on a boot without the lock."""
    assert re.search(r"^lock: off$", status(vm), re.M)
    assert vm.run(f"lp-load apply {T}/lpg_replace_a.lp.ko").rc == 0
    r = vm.run(f"echo 0 > {LIVEPATCH}/lpg_replace_a/enabled")
    assert r.rc == 0, r


def test_lock_is_on(vm_locked):
    assert re.search(r"^lock: on$", status(vm_locked), re.M)
    assert "the active livepatch is locked: disabling it is refused" in vm_locked.dmesg()


def test_disabling_the_active_patch_is_refused(vm_locked):
    vm = vm_locked
    a = f"{T}/lpg_replace_a.lp.ko"
    assert vm.run(f"lp-load apply {a}").rc == 0
    assert cmdline(vm) == "lpguard test: replace A"
    mark = vm.dmesg_mark()
    r = vm.run(f"echo 0 > {LIVEPATCH}/lpg_replace_a/enabled")
    assert r.rc != 0 and "Operation not permitted" in r.err, r
    assert re.search(r'lpguard: disable refused obj="lpg_replace_a" signer="-" reason="%s" sha256=- '
                     r'pid=\d+ comm="sh"$' % re.escape(R_LOCKED), vm.dmesg_since(mark), re.M)
    assert enabled(vm, "lpg_replace_a") == "1"
    assert cmdline(vm) == "lpguard test: replace A"
    assert "active: lpg_replace_a" in status(vm)
    # Measured: a verifier sees the attempt.
    last = ima_records(vm)[-1]
    assert last[0] == "lpguard-disable-refused", last
    assert last[1]["module"] == "lpg_replace_a" and last[1]["sha256"] == sha256(vm, a)
    assert last[1]["active"] == "lpg_replace_a"


def test_lp_load_disable_says_how_to_go_back(vm_locked):
    r = vm_locked.run("lp-load disable")
    assert r.rc == 4, r
    assert r.err.strip() == (
        "lp-load: cannot disable livepatch lpg_replace_a: lpguard locks the active livepatch ('lock: on' in "
        "'lp-load status') (to go back, apply a newer cumulative patch, for example one that restores the "
        "original functions)"), r
    assert enabled(vm_locked, "lpg_replace_a") == "1"


def test_a_stalled_transition_still_reverts(vm_locked):
    """lp-load reverses a stalled replace by writing 0 to the new patch in transition."""
    r = vm_locked.run(f"lp-load apply --timeout 2 {T}/lpg_busy.lp.ko", timeout=120)
    assert r.rc == 5, r
    assert "reverted and removed it, active: lpg_replace_a" in r.err, r
    assert enabled(vm_locked, "lpg_replace_a") == "1"
    assert cmdline(vm_locked) == "lpguard test: replace A"


def test_a_newer_cumulative_patch_replaces_the_locked_one(vm_locked):
    assert vm_locked.run(f"lp-load apply {T}/lpg_replace_b.lp.ko").rc == 0
    wait_transition(vm_locked, "lpg_replace_b")
    assert cmdline(vm_locked) == "lpguard test: replace B"
    assert "active: lpg_replace_b" in status(vm_locked)
