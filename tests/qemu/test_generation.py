# SPDX-License-Identifier: GPL-2.0
"""lpguard built in: the generation ratchet refuses a rollback within a boot.

Runs in file order on one boot: A (generation 1), then B (generation 2)
replacing it, then A again (refused), then A signed as generation 3.
"""
import re

from lpg import T, SFS, EPERM, load, refused_livepatch_load, wait_transition

R_LOWER = ("livepatch generation 1 is lower than 2, the highest enabled since boot: "
           "apply a patch of generation 2 or higher")
R_OTHER_IMAGE = ("livepatch generation 4 was enabled since boot with another image: "
                 "sign this patch with a generation higher than 4")


def generation(vm):
    return re.search(r"^generation: (\S+)$", vm.run(f"cat {SFS}/status", check=True).out, re.M).group(1)


def test_no_generation_before_any_patch(vm):
    assert generation(vm) == "none"


def test_generations_rise(vm):
    assert load(vm, f"{T}/lpg_replace_a.gen1.lp.ko").rc == 0
    wait_transition(vm, "lpg_replace_a")
    assert generation(vm) == "1"
    assert load(vm, f"{T}/lpg_replace_b.gen2.lp.ko").rc == 0
    wait_transition(vm, "lpg_replace_b")
    assert generation(vm) == "2"


def test_older_generation_is_refused(vm):
    assert vm.run("rmmod lpg_replace_a").rc == 0     # replaced by B, so unloadable
    refused_livepatch_load(vm, f"{T}/lpg_replace_a.gen1.lp.ko", R_LOWER)
    assert "active: lpg_replace_b" in vm.run(f"cat {SFS}/status", check=True).out


def test_untagged_patch_is_refused_once_a_generation_was_enabled(vm):
    r = load(vm, f"{T}/lpg_replace_a.lp.ko")
    assert r.rc == EPERM, r


def test_newer_generation_replaces(vm):
    assert load(vm, f"{T}/lpg_replace_a.gen3.lp.ko").rc == 0
    wait_transition(vm, "lpg_replace_a")
    assert generation(vm) == "3"
    assert "active: lpg_replace_a" in vm.run(f"cat {SFS}/status", check=True).out


def test_same_generation_needs_the_same_image(vm):
    """lpg_busy as generation 4 raises the mark; another generation-4 image is refused."""
    assert vm.run("rmmod lpg_replace_b").rc == 0
    assert load(vm, f"{T}/lpg_busy.gen4.lp.ko").rc == 0
    assert generation(vm) == "4"
    mark = vm.dmesg_mark()
    r = load(vm, f"{T}/lpg_replace_b.gen4.lp.ko")
    assert r.rc == EPERM, r
    assert R_OTHER_IMAGE in vm.dmesg_since(mark)
