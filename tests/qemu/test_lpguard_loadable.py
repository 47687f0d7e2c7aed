# SPDX-License-Identifier: GPL-2.0
"""lpguard.ko, the loadable form, on a kernel built without lpguard: loaded first
by the guest's /init; it cannot be unloaded, ftrace cannot be turned off under
it, and it enforces the same load policy and replace-only rule as the built-in
form (see docs/lpguard.md for what it does not guarantee)."""
import os
import re
import shutil
import subprocess

import pytest

import conftest

from lpg import (EBUSY, EKEYREJECTED, EPERM, R_LP_KEY_ORDINARY, R_NON_REPLACE, R_NOT_LP_KEY, R_OK, ftrace_off_refused,
                          R_UNSIGNED, T, SFS, enabled_patches, expect_line, keyring_checks, line_re, livepatch_key_desc,
                          load, loaded, refused_livepatch, sha256, status, wait_transition)

assert EBUSY == 16


def test_lpguard_module_is_loaded_first_and_enforcing(vm_loadable):
    console = vm_loadable.console_text()
    assert "guest-init: lpguard.ko loaded" in console
    assert "lpguard: enforcing (form=module keys=1); this module cannot be unloaded" in console
    st = status(vm_loadable)
    assert re.search(r"^form: module$", st, re.M), st
    assert re.search(r"^lock: unavailable$", st, re.M), st   # the lock needs klp_mutex (built in only)
    assert re.search(r"^enforcing: yes$", st, re.M), st
    assert vm_loadable.run("cat /sys/module/lpguard/initstate").out.strip() == "live"


@pytest.mark.parametrize("cmd", ["rmmod lpguard", "rmmod -f lpguard"])
def test_lpguard_module_cannot_be_unloaded(vm_loadable, cmd):
    r = vm_loadable.run(cmd)
    assert r.rc != 0 and "Device or resource busy" in r.err, r
    assert vm_loadable.run("cat /sys/module/lpguard/initstate").out.strip() == "live"


def test_ftrace_cannot_be_turned_off_under_it(vm_loadable):
    ftrace_off_refused(vm_loadable)


def test_livepatch_keyring_is_sealed(vm_loadable):
    keyring_checks(vm_loadable, nkeys=1)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_unsigned_livepatch_is_refused(vm_loadable, syscall):
    refused_livepatch(vm_loadable, f"{T}/lpg_busy.ko", syscall, EKEYREJECTED, "unsigned", R_UNSIGNED)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_livepatch_signed_by_kernel_build_key_is_refused(vm_loadable, syscall):
    refused_livepatch(vm_loadable, f"{T}/lpg_busy.build.ko", syscall, EKEYREJECTED, "not a .livepatch key",
                      R_NOT_LP_KEY)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_ordinary_module_signed_by_livepatch_key_is_refused(vm_loadable, syscall):
    path = f"{T}/lpg_plain.lp.ko"
    sha = sha256(vm_loadable, path)
    mark = vm_loadable.dmesg_mark()
    r = load(vm_loadable, path, syscall)
    assert r.rc == EPERM, r
    expect_line(vm_loadable.dmesg_since(mark),
                line_re("module", "refused", "lpg_plain", livepatch_key_desc(vm_loadable), R_LP_KEY_ORDINARY, sha))
    assert not loaded(vm_loadable, "lpg_plain")


def test_ordinary_module_signed_by_build_key_loads(vm_loadable):
    r = load(vm_loadable, f"{T}/lpg_plain.build.ko", "finit")
    assert r.rc == 0, r
    assert loaded(vm_loadable, "lpg_plain")
    assert vm_loadable.run("rmmod lpg_plain").rc == 0


def test_livepatch_loads_and_non_replace_is_refused(vm_loadable):
    v = vm_loadable
    path = f"{T}/lpg_replace_a.lp.ko"
    sha = sha256(v, path)
    mark = v.dmesg_mark()
    r = load(v, path, "init")
    assert r.rc == 0, r
    expect_line(v.dmesg_since(mark), line_re("livepatch", "allowed", "lpg_replace_a", livepatch_key_desc(v), R_OK,
                                             sha))
    wait_transition(v, "lpg_replace_a")
    assert v.run("cat /proc/cmdline", check=True).out == "lpguard test: replace A\n"

    mark = v.dmesg_mark()
    r = load(v, f"{T}/lpg_noreplace.lp.ko", "finit")
    assert r.rc == EPERM, r
    expect_line(v.dmesg_since(mark), line_re("klp_enable_patch", "refused", "lpg_noreplace", "-", R_NON_REPLACE,
                                             "-"))
    assert not loaded(v, "lpg_noreplace")
    assert v.run("cat /proc/cmdline", check=True).out == "lpguard test: replace A\n"
    assert enabled_patches(v) == {"lpg_replace_a": "1"}
    assert v.run(f"cat {SFS}/status").rc == 0


R_SIG_NOT_ENFORCED = ("lpguard: not loaded: module signatures are not enforced, so any unsigned module could undo "
                      "lpguard; boot with module.sig_enforce=1 (or CONFIG_MODULE_SIG_FORCE=y) and load it again")


def test_refuses_to_load_where_module_signatures_are_not_enforced():
    """The same kernel booted without module.sig_enforce=1 (and no lockdown)."""
    with conftest.make_vm(variant="-mod", name="loadable-nosig") as v:
        console = v.console_text()
        assert "guest-init: lpguard.ko FAILED to load" in console, v.console_tail()
        assert R_SIG_NOT_ENFORCED in v.dmesg(), v.dmesg()
        assert v.run("cat /sys/module/lpguard/initstate").rc != 0
        assert v.run(f"test -e {SFS}").rc != 0


def test_kbuild_refuses_kernels_with_forced_unloading(tmp_path):
    """CONFIG_MODULE_FORCE_UNLOAD=y: 'rmmod -f lpguard' would free it under its hooks."""
    kout = os.path.join(conftest.BUILD, f"kernel-{conftest.KVER}-mod")
    src = tmp_path / "kmod"
    shutil.copytree(os.path.join(conftest.TOP, "kmod"), src)
    r = subprocess.run(["make", "-s", "-C", kout, f"M={src}", "CONFIG_MODULE_FORCE_UNLOAD=y", "modules"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert ("lpguard: this kernel has CONFIG_MODULE_FORCE_UNLOAD=y: 'rmmod -f lpguard' would leave its hooks on "
            "freed code; build the loadable form for a kernel without it, or use the built-in form") in r.stderr, r.stderr
    assert not list(src.glob("*.ko"))


R_LOWER = ("livepatch generation 1 is lower than 2, the highest enabled since boot: "
           "apply a patch of generation 2 or higher")


def test_generations_and_measurements_in_the_loadable_form():
    """A (generation 1), then B (generation 2), then A again: refused with its
    reason, and every change is in IMA in order, as in the built-in form
    (test_generation.py, test_measure.py). Its own boot: a tagged patch makes
    untagged ones refused for the rest of it."""
    from lpg import ima_records
    with conftest.make_vm(variant="-mod", name="loadable-gen", append=conftest.LOADABLE_APPEND) as v:
        a, b = f"{T}/lpg_replace_a.gen1.lp.ko", f"{T}/lpg_replace_b.gen2.lp.ko"
        assert load(v, a).rc == 0
        wait_transition(v, "lpg_replace_a")
        assert load(v, b).rc == 0
        wait_transition(v, "lpg_replace_b")
        assert re.search(r"^generation: 2$", status(v), re.M)
        assert v.run("rmmod lpg_replace_a").rc == 0
        mark = v.dmesg_mark()
        assert load(v, a).rc == EPERM
        assert R_LOWER in v.dmesg_since(mark)
        assert enabled_patches(v) == {"lpg_replace_b": "1"}
        recs = ima_records(v)
        events = [(e, r["module"], r["generation"]) for e, r in recs]
        assert events == [
            ("lpguard-load", "lpg_replace_a", "1"), ("lpguard-enable", "lpg_replace_a", "1"),
            ("lpguard-patched", "lpg_replace_a", "1"),
            ("lpguard-load", "lpg_replace_b", "2"), ("lpguard-enable", "lpg_replace_b", "2"),
            ("lpguard-replaced", "lpg_replace_a", "1"), ("lpguard-patched", "lpg_replace_b", "2"),
            ("lpguard-generation-refused", "lpg_replace_a", "1"),
        ], events
        assert recs[-1][1]["sha256"] == sha256(v, a)
        assert [int(r["seq"]) for _, r in recs] == list(range(1, len(recs) + 1))
