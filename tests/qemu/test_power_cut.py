# SPDX-License-Identifier: GPL-2.0
"""Power cut during 'lp-load install': QEMU is killed (SIGKILL, no shutdown,
the guest's page cache lost) at random points while the guest installs two
patches in turn; after every boot exactly one of them is installed, its file
matches its record and verifies, and boot applied it.

The persistent disk is ext4, as a real image's root file system is; the busybox
guest proves the same as the Debian one here and boots in seconds.
"""
import json
import random
import time

import conftest
from lpg import T

ROUNDS = 6
PATCHES = {"lpg_replace_a": f"{T}/lpg_replace_a.lp.ko", "lpg_replace_b": f"{T}/lpg_replace_b.lp.ko"}
MESSAGES = {"lpg_replace_a": "lpguard test: replace A", "lpg_replace_b": "lpguard test: replace B"}


def sha256(vm, path):
    return vm.run(f"sha256sum {path}", check=True).out.split()[0]


def test_power_cut_during_install_leaves_old_or_new(tmp_path):
    disk = conftest.make_disk(str(tmp_path / "disk.img"))
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    with conftest.make_vm(disk=disk, name="power-0") as vm:
        digests = {name: sha256(vm, path) for name, path in PATCHES.items()}
        assert vm.run(f"lp-load install {PATCHES['lpg_replace_a']}").rc == 0
        vm.run("sync", check=True)
    for i in range(ROUNDS):
        with conftest.make_vm(disk=disk, name=f"power-{i + 1}") as vm:
            s = json.loads(vm.run("lp-load status --json", check=True).out)
            inst = s["installed"]
            where = f"round {i} (seed {seed})"
            assert inst is not None, f"{where}: nothing installed after the cut\n{s}"
            name = inst["name"]
            assert name in PATCHES, f"{where}: {inst}"
            # The file is the recorded patch, whole, and it verifies.
            assert sha256(vm, inst["path"]) == digests[name] == inst["sha256"], f"{where}: {inst}"
            r = vm.run(f"lp-load verify {inst['path']}")
            assert r.rc == 0, f"{where}: {r}"
            # ...and boot applied exactly that one.
            assert s["active"] == name, f"{where}: {s}"
            assert vm.run("cat /proc/cmdline").out.strip() == MESSAGES[name]
            # Nothing half-written lies next to it.
            files = vm.run("ls -A /var/lib/lp-load", check=True).out.split()
            assert not [f for f in files if ".tmp" in f or f.startswith(".")], f"{where}: {files}"
            # Install the two in turn, over and over, and cut the power.
            vm.run("(while :; do for p in %s; do lp-load install $p >/dev/null 2>&1; done; done) "
                   "</dev/null >/dev/null 2>&1 &" % " ".join(PATCHES.values()), check=True)
            time.sleep(rng.uniform(0.2, 2.5))
            vm._kill()
