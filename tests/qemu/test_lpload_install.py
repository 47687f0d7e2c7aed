# SPDX-License-Identifier: GPL-2.0
"""lp-load install: the patch survives a reboot (applied by 'lp-load boot'
from the guest's /init), lp_load.enable=0 skips it, uninstall stops it."""
import json

import conftest

T = "/opt/lpguard-tests"


def status(vm):
    return json.loads(vm.run("lp-load status --json", check=True).out)


def test_install_then_reboot_finds_the_patch_active(vm_with_disk):
    vm = vm_with_disk
    r = vm.run(f"lp-load install {T}/lpg_replace_a.lp.ko")
    assert r.rc == 0, r
    assert r.out.strip() == "installed lpg_replace_a as /var/lib/lp-load/patch.ko; it is applied at boot"
    assert status(vm)["active"] is None  # install alone does not apply
    rec = json.loads(vm.run("cat /var/lib/lp-load/patch.json", check=True).out)
    assert rec["name"] == "lpg_replace_a" and rec["source"] == f"{T}/lpg_replace_a.lp.ko"
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
        assert off.run("test -e /var/lib/lp-load/patch.ko").rc != 0
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
    assert vm.run("test -e /var/lib/lp-load/patch.ko").rc != 0
