# SPDX-License-Identifier: GPL-2.0
"""The test kernel and guest: livepatch present, module signatures enforced,
lockdown forced to integrity, ssh reaches the guest."""
import subprocess

T = "/opt/lpguard-tests"


def test_ssh_from_host_reaches_guest(vm):
    # A plain ssh client, not the harness's multiplexed connection.
    p = subprocess.run(["ssh"] + vm.ssh_options() + ["-p", str(vm.port), "root@127.0.0.1", "hostname; id -u"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["lpguard-guest", "0"]


def test_livepatch_is_available(vm):
    r = vm.run("test -d /sys/kernel/livepatch && echo present")
    assert r.out.strip() == "present", r


def test_lockdown_is_integrity(vm):
    r = vm.run("cat /sys/kernel/security/lockdown", check=True)
    assert r.out.strip() == "none [integrity] confidentiality"


def test_lockdown_cannot_be_lowered(vm):
    r = vm.run("echo none > /sys/kernel/security/lockdown")
    assert r.rc != 0
    assert vm.run("cat /sys/kernel/security/lockdown").out.strip() == "none [integrity] confidentiality"


def test_unsigned_module_is_rejected(vm):
    mark = vm.dmesg_mark()
    r = vm.run(f"modload --finit {T}/foundation_hello.ko")
    assert r.rc == 129, r  # EKEYREJECTED
    assert "EKEYREJECTED: Key was rejected by service" in r.err
    assert "foundation_hello: loaded" not in vm.dmesg_since(mark)
    assert vm.run("test -d /sys/module/foundation_hello").rc != 0


def test_unsigned_module_is_rejected_by_busybox_insmod(vm):
    r = vm.run(f"insmod {T}/foundation_hello.ko")
    assert r.rc != 0
    assert "Key was rejected by service" in r.err, r


def test_build_key_signed_module_loads(vm):
    mark = vm.dmesg_mark()
    r = vm.run(f"modload --finit {T}/foundation_hello.build.ko")
    assert r.rc == 0, r
    assert "foundation_hello: loaded" in vm.dmesg_since(mark)
    assert vm.run("cat /sys/module/foundation_hello/initstate").out.strip() == "live"
    assert vm.run("rmmod foundation_hello").rc == 0
