# SPDX-License-Identifier: GPL-2.0
"""The Debian 12 guest under systemd, with the lp-load package installed by
dpkg: the unit applies the installed patch early at every boot.

Boots the image kernel (lpguard built in) with the Debian guest's disk as
root file system (`make test-debian`); tests run in file order on one VM,
whose disk survives its reboots.
"""
import glob
import json
import os
import re

import pytest

import conftest
from lpg import T, PAYLOAD

LIVEPATCH = "/sys/kernel/livepatch"
STARTED = "Starting lp-load.service - Apply the installed kernel livepatch (lp-load)..."
FINISHED = "Finished lp-load.service - Apply the installed kernel livepatch (lp-load)."
TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def deb(name):
    found = glob.glob(os.path.join(conftest.DEB_DIR, f"{name}_*.deb"))
    if not found:
        pytest.fail(f"no {name} package in {conftest.DEB_DIR}: run 'make deb'", pytrace=False)
    return found[0]


def journal(vm, unit):
    """This boot's journal of @unit, one message per line."""
    return vm.run(f"journalctl -b -u {unit} --no-pager -o cat", check=True).out.splitlines()


def assert_boot_applied(vm, name):
    lines = journal(vm, "lp-load")
    assert len(lines) == 3, lines
    assert lines[0] == STARTED, lines
    assert re.fullmatch(re.escape(name) + r" is active \(transition \d+\.\d ms\)", lines[1]), lines
    assert lines[2] == FINISHED, lines


def status(vm):
    return json.loads(vm.run("lp-load status --json", check=True).out)


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
    # Finished before multi-user.target was reached (once it is).
    vm_debian.run("systemctl is-system-running --wait", timeout=180)
    done = int(vm_debian.run("systemctl show -P ExecMainExitTimestampMonotonic lp-load.service",
                             check=True).out)
    mu = int(vm_debian.run("systemctl show -P ActiveEnterTimestampMonotonic multi-user.target",
                           check=True).out)
    assert 0 < done < mu, (done, mu)
    # One line per step in the unit's journal: started, applied, finished.
    assert_boot_applied(vm_debian, "lpg_replace_a")
    # The boot reached multi-user.target: lp-load-boot-ok confirms it (a boot
    # cut short before that would have the next boot mark the patch bad).
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


# ---- crash-loop protection -------------------------------------------------
# lpg_warn WARNs (taint W) the first time /proc/cmdline is read once it is
# applied. This unit reads it in every boot, after lp-load.service applied the
# installed patch and before lp-load-boot-ok.service judges the boot, so the
# warning surely falls between the two.
READER = """[Unit]
Description=lpguard test: read /proc/cmdline between lp-load and lp-load-boot-ok
After=lp-load.service
Before=lp-load-boot-ok.service
[Service]
Type=oneshot
ExecStart=/bin/cat /proc/cmdline
[Install]
WantedBy=multi-user.target
"""
# Keeps a boot that finds /etc/lpg-hold-boot from reaching multi-user.target
# (sshd still starts). Removing the flag in that boot changes nothing there
# (the condition was checked), while removing the unit would (systemctl
# daemon-reload drops it from what multi-user.target waits for).
HOLD = """[Unit]
Description=lpguard test: keep this boot from reaching multi-user.target
After=lp-load.service
ConditionPathExists=/etc/lpg-hold-boot
[Service]
Type=oneshot
ExecStart=/bin/sleep infinity
TimeoutStartSec=infinity
[Install]
WantedBy=multi-user.target
"""
NOT_APPLYING_TODO = ("install a fixed patch with lp-load install, or lp-load install --clear-mark PATCH.ko if the "
                     "mark is wrong")
# systemd's lines after lp-load exited 13 (the unit fails: 'systemctl --failed').
FAILED_13 = ["lp-load.service: Main process exited, code=exited, status=13/n/a",
             "lp-load.service: Failed with result 'exit-code'.",
             "Failed to start lp-load.service - Apply the installed kernel livepatch (lp-load)."]
MARKS = {}   # what the tests below found, in file order


def add_unit(vm, name, text):
    vm.run(f"cat > /etc/systemd/system/{name} <<'EOF'\n{text}EOF\nsystemctl daemon-reload && "
           f"systemctl enable {name}", check=True)


def remove_unit(vm, name):
    vm.run(f"systemctl disable {name} && rm /etc/systemd/system/{name} && systemctl daemon-reload && sync",
           check=True)


def installed_line(vm, name, path, reason):
    line = f"installed:   {name} ({path}), generation 0 (marked bad: {reason})"
    out = vm.run("lp-load status", check=True).out
    assert line in out.splitlines(), out


def test_a_warning_after_the_boot_apply_marks_the_patch_bad(vm_debian):
    """The WARN comes after lp-load.service applied lpg_warn: lp-load-boot-ok
    marks the patch bad. A process of the boot may read /proc/cmdline while
    lp-load is still applying it (the transition, its cleanup): then lp-load's
    own taint check marks it at once and boot-ok has nothing to judge. Either
    way the documented lines say so and the mark is recorded."""
    vm = vm_debian
    add_unit(vm, "lpg-read-cmdline.service", READER)
    vm.copy_in(os.path.join(PAYLOAD, "lpg_warn.lp.ko"), "/root/lpg_warn.lp.ko")
    assert vm.run("lp-load install /root/lpg_warn.lp.ko").rc == 0
    path = status(vm)["installed"]["path"]
    vm.reboot()
    vm.run("systemctl is-system-running --wait", timeout=180)
    assert vm.run("cat /proc/cmdline", check=True).out.strip() == "lpguard test: warn"
    assert "lpguard test: lpg_warn warns on purpose" in vm.dmesg()
    lines = journal(vm, "lp-load")
    assert len(lines) == 3 and lines[0] == STARTED and lines[2] == FINISHED, lines
    ok = [ln for ln in journal(vm, "lp-load-boot-ok") if ln.startswith("lp-load: ")]
    by_apply = re.fullmatch(r"lpg_warn is active \(transition \d+\.\d ms\); marked it bad: (the kernel reported a "
                            r"warning \(taint W\) while lp-load boot applied it at %s) \(lp-load boot will not apply "
                            r"it; see the kernel log\)" % TIME, lines[1])
    if by_apply:
        # Marked by lp-load boot itself: no attempt left for boot-ok.
        assert ok == [], ok
        reason = by_apply.group(1)
    else:
        # lp-load boot applied it (no warning yet at its own taint check)...
        assert_boot_applied(vm, "lpg_warn")
        # ...and lp-load-boot-ok, after multi-user.target, marked it bad.
        assert len(ok) == 1, ok
        m = re.fullmatch(r"lp-load: marked lpg_warn bad: (the kernel reported a warning \(taint W\) after lp-load "
                         r"boot applied it at %s) \(lp-load boot will not apply it again; see the kernel log, and "
                         r"install a fixed patch with lp-load install\)" % TIME, ok[0])
        assert m, ok
        reason = m.group(1)
    assert vm.run("systemctl is-failed lp-load-boot-ok.service").out.strip() != "failed"   # 13 is its success
    assert vm.run("test -e /var/lib/lp-load/boot-attempt.json").rc != 0
    inst = status(vm)["installed"]
    assert inst["name"] == "lpg_warn" and inst["marked_bad"]["reason"] == reason, inst
    installed_line(vm, "lpg_warn", path, reason)
    MARKS["warn"] = (path, reason)


def test_the_next_boot_does_not_apply_the_marked_patch(vm_debian):
    vm = vm_debian
    path, reason = MARKS["warn"]
    vm.reboot()
    vm.run("systemctl is-system-running --wait", timeout=180)
    assert vm.run(f"ls {LIVEPATCH}").out.split() == []
    assert vm.run("cat /proc/cmdline", check=True).out.strip() != "lpguard test: warn"
    want = f"lp-load: not applying lpg_warn ({path}): it is marked bad: {reason} ({NOT_APPLYING_TODO})"
    assert journal(vm, "lp-load") == [STARTED, want] + FAILED_13
    # Exit 13 fails the unit, so that it shows in 'systemctl --failed'.
    assert vm.run("systemctl is-failed lp-load.service").out.strip() == "failed"
    assert vm.run("systemctl show -P ExecMainStatus lp-load.service").out.strip() == "13"
    r = vm.run("lp-load boot --json")
    assert r.rc == 13, r
    assert json.loads(r.out) == {"command": "boot", "result": "marked-bad", "exit_code": 13,
                                 "message": want[len("lp-load: "):]}
    # It stays installed, whole, with its mark.
    inst = status(vm)["installed"]
    assert (inst["name"], inst["path"], inst["problem"]) == ("lpg_warn", path, None), inst
    assert inst["marked_bad"]["reason"] == reason and re.fullmatch(TIME, inst["marked_bad"]["marked_at"]), inst
    assert vm.run(f"lp-load verify {path}").rc == 0
    installed_line(vm, "lpg_warn", path, reason)
    assert vm.run("test -e /var/lib/lp-load/boot-attempt.json").rc != 0


def test_installing_a_newer_patch_clears_the_mark(vm_debian):
    vm = vm_debian
    old, _ = MARKS["warn"]
    vm.copy_in(os.path.join(PAYLOAD, "lpg_replace_b.lp.ko"), "/root/lpg_replace_b.lp.ko")
    r = vm.run("lp-load install /root/lpg_replace_b.lp.ko")
    assert r.rc == 0, r
    inst = status(vm)["installed"]
    assert r.out == f"installed lpg_replace_b as {inst['path']}; it is applied at boot\n", r
    assert inst["name"] == "lpg_replace_b" and inst["marked_bad"] is None, inst
    assert vm.run(f"test -e {old}").rc != 0
    assert "lpg_warn" not in vm.run("cat /var/lib/lp-load/marks.json 2>/dev/null; true").out
    vm.reboot()
    vm.run("systemctl is-system-running --wait", timeout=180)
    assert_boot_applied(vm, "lpg_replace_b")
    assert vm.run("cat /proc/cmdline", check=True).out.strip() == "lpguard test: replace B"
    ok = [ln for ln in journal(vm, "lp-load-boot-ok") if ln.startswith("lp-load: ")]
    assert len(ok) == 1 and ok[0].startswith("lp-load: confirmed lpg_replace_b: this boot reached "
                                             "multi-user.target with no oops, BUG or warning"), ok
    remove_unit(vm, "lpg-read-cmdline.service")


def test_a_boot_that_never_reaches_multi_user_marks_the_patch_bad(vm_debian):
    """One boot held before multi-user.target by a unit that never finishes,
    then cut (QEMU killed): the next boot finds its unconfirmed attempt."""
    vm = vm_debian
    vm.copy_in(os.path.join(PAYLOAD, "lpg_replace_b.lp.ko"), "/root/lpg_replace_b.lp.ko")
    assert vm.run("lp-load install /root/lpg_replace_b.lp.ko").rc == 0   # installed already by the test above
    path = status(vm)["installed"]["path"]
    add_unit(vm, "lpg-hold-boot.service", HOLD)
    vm.run("touch /etc/lpg-hold-boot && sync", check=True)
    vm.reboot()
    # lp-load.service applied the patch and recorded the attempt...
    vm.run("while [ \"$(systemctl is-active lp-load.service)\" != active ]; do sleep 0.5; done", timeout=180,
           check=True)
    assert vm.run("cat /proc/cmdline", check=True).out.strip() == "lpguard test: replace B"
    attempt = json.loads(vm.run("cat /var/lib/lp-load/boot-attempt.json", check=True).out)
    boot_id = vm.run("cat /proc/sys/kernel/random/boot_id", check=True).out.strip()
    assert (attempt["name"], attempt["boot_id"]) == ("lpg_replace_b", boot_id), attempt
    assert status(vm)["boot_attempt"]["this_boot"] is True
    # ...but the boot is held: multi-user.target not reached, boot-ok never ran.
    vm.run("while [ \"$(systemctl is-active lpg-hold-boot.service)\" != activating ]; do sleep 0.5; done",
           timeout=180, check=True)
    assert vm.run("systemctl is-active multi-user.target").out.strip() != "active"
    assert [ln for ln in journal(vm, "lp-load-boot-ok") if ln.startswith("lp-load: ")] == []
    vm.run("rm /etc/lpg-hold-boot && sync", check=True)   # the next boot is not held
    vm._kill()                                           # power cut
    vm.start()
    vm.run("systemctl is-system-running --wait", timeout=180)
    remove_unit(vm, "lpg-hold-boot.service")
    reason = f"the boot of {attempt['started_at']} after applying it did not reach multi-user.target"
    want = f"lp-load: not applying lpg_replace_b ({path}): it is marked bad: {reason} ({NOT_APPLYING_TODO})"
    assert journal(vm, "lp-load") == [STARTED, want] + FAILED_13
    assert vm.run(f"ls {LIVEPATCH}").out.split() == []
    inst = status(vm)["installed"]
    assert inst["name"] == "lpg_replace_b" and inst["marked_bad"]["reason"] == reason, inst
    installed_line(vm, "lpg_replace_b", path, reason)
    assert vm.run("test -e /var/lib/lp-load/boot-attempt.json").rc != 0
    assert status(vm)["boot_attempt"] is None
