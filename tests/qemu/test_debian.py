# SPDX-License-Identifier: GPL-2.0
"""The Debian 12 guest under systemd, with the lp-load package installed by
dpkg: the unit applies the installed patch early at every boot.

Boots the image kernel (lpguard built in) with the Debian guest's disk as
root file system (`make test-debian`); tests run in file order on one VM,
whose disk survives its reboots.
"""
import glob
import os

import pytest

import conftest
from lpg import T, PAYLOAD

LIVEPATCH = "/sys/kernel/livepatch"


def deb(name):
    found = glob.glob(os.path.join(conftest.DEB_DIR, f"{name}_*.deb"))
    if not found:
        pytest.fail(f"no {name} package in {conftest.DEB_DIR}: run 'make deb'", pytrace=False)
    return found[0]


def test_boots_under_systemd(vm_debian):
    assert vm_debian.run("cat /proc/1/comm", check=True).out.strip() == "systemd"
    state = vm_debian.run("systemctl is-system-running --wait", timeout=180).out.strip()
    assert state in ("running", "degraded"), vm_debian.run("systemctl --failed").out


def test_lp_load_package_installs(vm_debian):
    vm_debian.copy_in(deb("lp-load"), "/tmp/lp-load.deb")
    r = vm_debian.run("dpkg -i /tmp/lp-load.deb", timeout=120)
    assert r.rc == 0, r
    assert vm_debian.run("test -x /usr/sbin/lp-load && test -d /var/lib/lp-load && test -d /etc/lp-load/certs").rc == 0
    assert vm_debian.run("systemctl is-enabled lp-load.service").out.strip() == "enabled"
    assert vm_debian.run("systemctl is-enabled lp-load-boot-ok.service").out.strip() == "enabled"
    # Nothing that changes the kernel ran at install time.
    assert vm_debian.run(f"ls {LIVEPATCH}").out.split() == []
    assert vm_debian.run("man -w lp-load 2>/dev/null || test -f /usr/share/man/man8/lp-load.8.gz").rc == 0


def test_installed_patch_is_applied_at_boot_before_multi_user(vm_debian):
    vm_debian.copy_in(os.path.join(PAYLOAD, "lpg_replace_a.lp.ko"), "/root/lpg_replace_a.lp.ko")
    r = vm_debian.run("lp-load install /root/lpg_replace_a.lp.ko")
    assert r.rc == 0, r
    vm_debian.reboot()
    assert vm_debian.run("cat /proc/cmdline", check=True).out.strip() == "lpguard test: replace A"
    assert vm_debian.run("systemctl is-failed lp-load.service").out.strip() != "failed"
    # Finished before multi-user.target was reached.
    done = int(vm_debian.run("systemctl show -P ExecMainExitTimestampMonotonic lp-load.service",
                             check=True).out)
    mu = int(vm_debian.run("systemctl show -P ActiveEnterTimestampMonotonic multi-user.target",
                           check=True).out)
    assert 0 < done < mu, (done, mu)
    journal = vm_debian.run("journalctl -b -u lp-load --no-pager -o cat", check=True).out
    assert "lpg_replace_a is active" in journal, journal
    # The boot reached multi-user.target: lp-load-boot-ok confirms it (a boot
    # cut short before that would have the next boot mark the patch bad).
    vm_debian.run("systemctl is-system-running --wait", timeout=180)
    ok = vm_debian.run("journalctl -b -u lp-load-boot-ok --no-pager -o cat", check=True).out
    assert "lp-load: confirmed lpg_replace_a: this boot reached multi-user.target" in ok, ok
    assert vm_debian.run("test -e /var/lib/lp-load/boot-attempt.json").rc != 0


def test_lp_load_enable_0_skips_it(vm_debian):
    vm_debian.append = (vm_debian.append + " lp_load.enable=0").strip()
    try:
        vm_debian.stop()
        vm_debian.start()
        assert vm_debian.run(f"ls {LIVEPATCH}").out.split() == []
        assert "lpguard test: replace A" not in vm_debian.run("cat /proc/cmdline").out
    finally:
        vm_debian.append = vm_debian.append.replace(" lp_load.enable=0", "").replace("lp_load.enable=0", "")


def test_uninstall_then_next_boot_is_unpatched(vm_debian):
    vm_debian.stop()
    vm_debian.start()
    assert vm_debian.run("cat /proc/cmdline").out.strip() == "lpguard test: replace A"
    vm_debian.run("systemctl is-system-running --wait", timeout=180)  # boot-ok confirmed this boot
    assert vm_debian.run("lp-load uninstall").rc == 0
    vm_debian.reboot()
    assert vm_debian.run(f"ls {LIVEPATCH}").out.split() == []
