# SPDX-License-Identifier: GPL-2.0
"""cvm-cli livepatch against a guest that is short of room, or busy:

- the upload directory (--remote-dir) is a tmpfs smaller than the patch:
  cvm-cli stops with the one line naming the guest's free space, exit 7, and
  nothing is left in that directory or in /var/lib/lp-load, nothing applied;
- two cvm-cli livepatch at once against the guest: one applies, the other is
  told that another lp-load runs (exit 24); one active patch at the end.
"""
import os
import subprocess
import time

import pytest

from conftest import BUILD
from lpg import CVM_CLI, PAYLOAD

KEYS = os.path.join(BUILD, "test", "keys")
LIVEPATCH = "/sys/kernel/livepatch"
SMALL = "/mnt/lpg-small"
# Lines cvm-cli prints on stderr on its way (not failures).
PROGRESS = ("cvm-cli: connecting to the guest (", "cvm-cli: guest runs ", "cvm-cli: running lp-load apply on the guest")


@pytest.fixture(scope="module")
def known_hosts(tmp_path_factory):
    from conftest import SSH_DIR
    path = tmp_path_factory.mktemp("ssh") / "known_hosts"
    with open(os.path.join(SSH_DIR, "ssh_host_ed25519_key.pub")) as f:
        hostkey = " ".join(f.read().split()[:2])
    return str(path), hostkey


def argv(vm, known_hosts, module, extra=()):
    path, hostkey = known_hosts
    with open(path, "w") as f:
        f.write(f"[127.0.0.1]:{vm.port} {hostkey}\n")
    return [CVM_CLI, "livepatch", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={path}", "-o", "StrictHostKeyChecking=yes",
            "--key", os.path.join(KEYS, "livepatch.key"), "--cert", os.path.join(KEYS, "livepatch.crt"),
            *extra, os.path.join(PAYLOAD, module)]


def failure_lines(err):
    return [ln for ln in err.splitlines() if not ln.startswith(PROGRESS)]


def signed_kb(module, tmp_path):
    """The size cvm-cli reports for the signed patch, in kB (rounded up):
    signed here with the same key (RSA signatures are deterministic)."""
    out = str(tmp_path / f"{module}.signed")
    subprocess.run([CVM_CLI, "sign", "--key", os.path.join(KEYS, "livepatch.key"),
                    "--cert", os.path.join(KEYS, "livepatch.crt"), "-o", out, os.path.join(PAYLOAD, module)],
                   check=True, capture_output=True)
    return (os.path.getsize(out) + 1023) // 1024


def lp_load_state(vm):
    """lp-load's files, and the contents of each."""
    return vm.run("ls -A /var/lib/lp-load /run/lp-load 2>/dev/null; "
                  "find /var/lib/lp-load /run/lp-load -type f -exec sha256sum {} \\; 2>/dev/null; true").out


def active(vm):
    return vm.run(f"ls {LIVEPATCH}").out.split()


def test_upload_to_a_directory_smaller_than_the_patch(vm, known_hosts, tmp_path):
    size_kb = signed_kb("lpg_replace_a.ko", tmp_path)
    assert size_kb > 4, size_kb
    vm.run(f"mkdir -p {SMALL} && mount -t tmpfs -o size=4k tmpfs {SMALL}", check=True)
    try:
        free_kb = int(vm.run(f"df -Pk {SMALL}", check=True).out.splitlines()[1].split()[3])
        assert free_kb == 4
        before = lp_load_state(vm)
        p = subprocess.run(argv(vm, known_hosts, "lpg_replace_a.ko", ["--remote-dir", SMALL]),
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 7, p
        assert failure_lines(p.stderr) == [
            f"cvm-cli: not enough space on the guest for the upload: {SMALL} has {free_kb} kB free and the patch "
            f"is {size_kb} kB; nothing was uploaded (free space there, or upload elsewhere with --remote-dir DIR)"], p
        # Nothing loadable or half-written: its private directory is gone,
        # lp-load's state did not change, nothing was applied.
        assert vm.run(f"ls -A {SMALL}", check=True).out.split() == []
        assert lp_load_state(vm) == before
        assert vm.run("find /tmp /mnt /run /var/lib/lp-load -name 'lpg_replace_a*'", check=True).out == ""
        assert active(vm) == [] and vm.run("test -e /sys/module/lpg_replace_a").rc != 0
        # The same patch uploads and applies with room for it.
        p = subprocess.run(argv(vm, known_hosts, "lpg_replace_a.ko"), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p
        assert active(vm) == ["lpg_replace_a"]
        assert vm.run("lp-load disable").rc == 0
    finally:
        vm.run(f"umount {SMALL}")


def test_two_livepatch_at_once_one_applies_the_other_is_told(fresh_vm, known_hosts):
    """The race made deterministic: the first cvm-cli applies lpg_busy, whose
    transition cannot finish on its own (tests/modules/lpg_busy.c), so its
    lp-load holds the guest's lock and waits; the second cvm-cli starts
    once the guest shows that transition, and its lp-load finds the lock.
    Then the first transition is completed (written 1 to its 'force': a
    forced patch stays loaded for good, hence a boot of its own) and the
    first cvm-cli succeeds."""
    vm = fresh_vm
    first = subprocess.Popen(argv(vm, known_hosts, "lpg_busy.ko"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while vm.run(f"cat {LIVEPATCH}/lpg_busy/transition 2>/dev/null").out.strip() != "1":
            assert first.poll() is None, first.communicate()
            assert time.time() < deadline, "the first cvm-cli's lp-load never started its transition"
            time.sleep(0.2)
        holder = vm.run("cat /run/lp-load.lock", check=True).out.strip()
        assert vm.run(f"cat /proc/{holder}/comm", check=True).out.strip() == "lp-load"
        second = subprocess.run(argv(vm, known_hosts, "lpg_replace_b.ko"), capture_output=True, text=True,
                                timeout=300)
        assert second.returncode == 24, second
        assert failure_lines(second.stderr) == [
            f"cvm-cli: lp-load on the guest did not run: another lp-load is running: pid {holder} holds "
            "/run/lp-load.lock (wait for it to finish and retry)"], second
        assert first.poll() is None, "the first cvm-cli did not wait for its transition"
        vm.run(f"echo 1 > {LIVEPATCH}/lpg_busy/force", check=True)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, (out, err)
    assert out.startswith("cvm-cli: lpg_busy is active (transition "), (out, err)
    # Exactly one active patch: the first's; the second's never loaded.
    assert active(vm) == ["lpg_busy"]
    assert vm.run(f"cat {LIVEPATCH}/lpg_busy/enabled {LIVEPATCH}/lpg_busy/transition").out.split() == ["1", "0"]
    assert vm.run("test -e /sys/module/lpg_replace_b").rc != 0
    assert vm.run("ls -A /tmp | grep '^cvm-cli-'").out == ""
