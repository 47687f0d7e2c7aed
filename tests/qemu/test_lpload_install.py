# SPDX-License-Identifier: GPL-2.0
"""lp-load install: the patch survives a reboot (applied by 'lp-load boot'
from the guest's /init), lp_load.enable=0 skips it, uninstall stops it; an
installed generation never goes back (install refuses a lower one, boot an
older file than its record)."""
import json

import conftest
from lpg import T, sign_generation

def installed_path(vm):
    """The installed module: /var/lib/lp-load/patch-<sha256>.ko, named by the record."""
    return json.loads(vm.run("lp-load status --json", check=True).out)["installed"]["path"]


def status(vm):
    return json.loads(vm.run("lp-load status --json", check=True).out)


def test_install_then_reboot_finds_the_patch_active(vm_with_disk):
    vm = vm_with_disk
    r = vm.run(f"lp-load install {T}/lpg_replace_a.lp.ko")
    assert r.rc == 0, r
    sha = vm.run(f"sha256sum {T}/lpg_replace_a.lp.ko", check=True).out.split()[0]
    assert r.out.strip() == (f"installed lpg_replace_a as /var/lib/lp-load/patch-{sha}.ko; "
                             "it is applied at boot")
    assert status(vm)["active"] is None  # install alone does not apply
    rec = json.loads(vm.run("cat /var/lib/lp-load/patch.json", check=True).out)
    assert rec["name"] == "lpg_replace_a" and rec["source"] == f"{T}/lpg_replace_a.lp.ko"
    assert rec["file"] == f"patch-{sha}.ko" and rec["sha256"] == sha
    vm.run("sync", check=True)

    # Power-cycle: a new boot of the same kernel with the same disk.
    disk = vm.disk
    vm.stop()
    with conftest.make_vm(disk=disk, name="disk-reboot") as again:
        s = status(again)
        assert s["active"] == "lpg_replace_a"
        assert s["installed"]["name"] == "lpg_replace_a"
        assert again.run("cat /proc/cmdline").out.strip() == "lpguard test: replace A"
        assert "lpg_replace_a is active (transition " in again.console_text()
        # A second boot apply (the systemd unit after the initramfs) is a no-op.
        r = again.run("lp-load boot")
        assert r.rc == 0 and r.out.strip() == "lp-load: lpg_replace_a is already active", r

    # lp_load.enable=0 on the command line: same disk, nothing applied.
    with conftest.make_vm(disk=disk, append="lp_load.enable=0", name="disk-off") as off:
        assert status(off)["active"] is None
        assert status(off)["installed"]["name"] == "lpg_replace_a"
        assert ("lp-load: lp_load.enable=0 on the kernel command line: not applying the installed patch"
                in off.console_text())
        r = off.run("lp-load uninstall")
        assert r.rc == 0, r
        assert [f for f in off.run("ls /var/lib/lp-load/").out.split() if f.startswith("patch")] == []
        assert off.run("lp-load uninstall").rc == 8
        off.run("sync", check=True)

    with conftest.make_vm(disk=disk, name="disk-after") as after:
        assert status(after)["active"] is None
        assert status(after)["installed"] is None
        assert "lp-load: no patch installed" in after.console_text()


def test_install_refuses_what_fails_the_prechecks(vm_with_disk):
    vm = vm_with_disk
    r = vm.run(f"lp-load install {T}/lpg_replace_a.other.ko")
    assert r.rc == 3, r
    assert r.err.startswith(f"lp-load: {T}/lpg_replace_a.other.ko fails the signature check: ")
    assert vm.run("test -e /var/lib/lp-load/patch.json").rc != 0


def test_install_refuses_a_lower_generation_and_boot_applies_the_installed_one(vm_with_disk, tmp_path):
    vm = vm_with_disk
    r = vm.run(f"lp-load install {T}/lpg_replace_b.gen2.lp.ko")
    assert r.rc == 0, r
    assert json.loads(vm.run("cat /var/lib/lp-load/patch.json", check=True).out)["generation"] == 2
    for lower, g in ((f"{T}/lpg_replace_a.gen1.lp.ko", 1), (f"{T}/lpg_replace_a.lp.ko", 0)):
        r = vm.run(f"lp-load install {lower}")
        assert r.rc == 4, r
        assert r.err == (f"lp-load: refusing to install {lower}: its generation {g} is lower than generation 2 "
                         "of the installed patch lpg_replace_b (install a patch of generation 2 or higher)\n")
    j = json.loads(vm.run(f"lp-load install --json {T}/lpg_replace_a.gen1.lp.ko").out)
    assert j["result"] == "refused" and j["exit_code"] == 4
    assert j["installed"]["name"] == "lpg_replace_b" and j["installed"]["generation"] == 2
    LP = installed_path(vm)
    assert vm.run(f"cmp {T}/lpg_replace_b.gen2.lp.ko {LP}").rc == 0
    vm.run("sync", check=True)

    # Power-cycle: /init's 'lp-load boot' applies generation 2, and lpguard
    # reads the generation cvm-cli sign --generation wrote.
    vm.reboot()
    s = status(vm)
    assert s["active"] == "lpg_replace_b"
    assert s["installed"]["name"] == "lpg_replace_b" and s["installed"]["generation"] == 2
    assert s["lpguard"]["status"]["generation"] == "2"
    assert (f"installed:   lpg_replace_b ({LP}), generation 2\n"
            in vm.run("lp-load status", check=True).out)

    # A higher generation, signed here with the largest one lpguard takes.
    top = sign_generation(vm, "lpg_replace_a", 4294967295, str(tmp_path))
    r = vm.run(f"lp-load install --now {top}")
    assert r.rc == 0, r
    s = status(vm)
    assert s["active"] == "lpg_replace_a" and s["installed"]["generation"] == 4294967295
    assert s["lpguard"]["status"]["generation"] == "4294967295"


def test_boot_refuses_an_installed_file_older_than_its_record(vm_with_disk):
    vm = vm_with_disk
    assert vm.run(f"lp-load install {T}/lpg_replace_a.gen3.lp.ko").rc == 0
    LP = installed_path(vm)
    vm.run(f"cp {T}/lpg_replace_a.gen1.lp.ko {LP}", check=True)  # swapped behind lp-load's back
    want = (f"refusing to apply {LP}: its generation 1 is lower than generation 3 recorded when lpg_replace_a "
            "was installed: the file was replaced since (install a patch of generation 3 or higher with "
            "lp-load install)")
    r = vm.run("lp-load boot")
    assert r.rc == 4, r
    assert r.err == f"lp-load: {want}\n"
    j = json.loads(vm.run("lp-load boot --json").out)
    assert j == {"command": "boot", "result": "refused", "exit_code": 4, "message": want}
    assert status(vm)["active"] is None
    assert status(vm)["installed"]["generation"] == 3