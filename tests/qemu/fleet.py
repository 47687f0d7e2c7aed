# SPDX-License-Identifier: GPL-2.0
"""A fleet of Debian 12 guests for the rollout playbook (test_fleet.py,
bench/fleet-bench.py): N guests booted at once from the Debian guest image, each
with its own forwarded ssh port, the lp-load package installed with dpkg -i, and
an Ansible inventory of them (generated, with the test ssh key and host key)."""
import glob
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time

import conftest
import vm as vmlib

sys.path.insert(0, os.path.join(conftest.TOP, "tests", "ansible"))
import helpers  # noqa: E402  (tests/ansible/helpers.py: the collection, ansible-playbook runs)

KEYS = os.path.join(conftest.BUILD, "test", "keys")
CVM_CLI = os.path.join(conftest.BUILD, "bin", "cvm-cli")
PAYLOAD = os.path.join(conftest.BUILD, "test", conftest.KVER, "payload", "opt", "lpguard-tests")


def deb(name):
    found = glob.glob(os.path.join(conftest.DEB_DIR, f"{name}_*.deb"))
    if not found:
        raise RuntimeError(f"no {name} package in {conftest.DEB_DIR}: run 'make deb'")
    return found[0]


def _parallel(fn, items):
    errors = []

    def run(i):
        try:
            fn(i)
        except Exception as e:   # reported below, with the guest it came from
            errors.append((i, e))
    threads = [threading.Thread(target=run, args=(i,)) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        i, e = errors[0]
        raise RuntimeError(f"{getattr(i, 'name', i)}: {e}") from e


class Fleet:
    """Guests g1..gN; inventory(hosts) writes an inventory of some of them."""

    def __init__(self, n, workdir, boot_timeout=900):
        if not os.path.exists(conftest.DEBIAN_IMAGE):
            raise RuntimeError(f"missing {conftest.DEBIAN_IMAGE}: run 'make debian-guest'")
        kernel, initrd = conftest.artifacts()
        self.workdir = workdir
        self.vms = [vmlib.VM(kernel=kernel, initrd=initrd, ssh_dir=conftest.SSH_DIR, mem="768M",
                             accel=conftest.accel(), name=f"g{i}", root_image=conftest.DEBIAN_IMAGE,
                             boot_timeout=boot_timeout, tpm=False, workdir=os.path.join(workdir, f"g{i}"))
                    for i in range(1, n + 1)]
        self.colls = helpers.collections_path(workdir)
        self.known_hosts = os.path.join(workdir, "known_hosts")
        self.summary = os.path.join(workdir, "summary.json")

    def __getitem__(self, name):
        return next(v for v in self.vms if v.name == name)

    def start(self):
        t0 = time.monotonic()
        _parallel(lambda v: v.start(), self.vms)
        self.boot_s = time.monotonic() - t0
        with open(os.path.join(conftest.SSH_DIR, "ssh_host_ed25519_key.pub")) as f:
            hostkey = " ".join(f.read().split()[:2])
        with open(self.known_hosts, "w") as f:
            for v in self.vms:
                f.write(f"[127.0.0.1]:{v.port} {hostkey}\n")
        _parallel(self._install, self.vms)
        return self

    def _install(self, v):
        v.run("systemctl is-system-running --wait", timeout=600)
        v.copy_in(deb("lp-load"), "/tmp/lp-load.deb")
        r = v.run("dpkg -i /tmp/lp-load.deb", timeout=300)
        if r.rc != 0:
            raise RuntimeError(f"dpkg -i lp-load failed in {v.name}: {r}")

    def qemu_cpu_s(self):
        """CPU seconds the running guests' QEMU processes used so far (user + system)."""
        total = 0
        for v in self.vms:
            if v.proc is not None and v.proc.poll() is None:
                with open(f"/proc/{v.proc.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self):
        for v in self.vms:
            v.stop()

    def inventory(self, names=None, path=None):
        names = names or [v.name for v in self.vms]
        path = path or os.path.join(self.workdir, "inventory.ini")
        lines = ["[fleet]"] + [f"{n} ansible_port={self[n].port}" for n in names] + [
            "[fleet:vars]", "ansible_host=127.0.0.1", "ansible_user=root",
            f"ansible_ssh_private_key_file={os.path.join(conftest.SSH_DIR, 'id_ed25519')}",
            f"ansible_ssh_common_args='-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes'",
            "ansible_python_interpreter=/usr/bin/python3"]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def rollout(self, module, names=None, check=False, forks=4, **extra):
        """Runs lpguard.livepatch.rollout with the test keys; returns helpers.Playbook
        with .wall_s. Each run has its own ssh ControlPath directory, so its ssh
        connections are its own."""
        ev = {"lpguard_patch": os.path.join(PAYLOAD, module), "lpguard_cvm_cli": CVM_CLI,
              "lpguard_key": os.path.join(KEYS, "livepatch.key"), "lpguard_cert": os.path.join(KEYS, "livepatch.crt"),
              "lpguard_health_delay": 2}
        ev.update(extra)
        cp = os.path.join(self.workdir, f"cp-{time.monotonic_ns()}")
        os.makedirs(cp)
        # The guests' host key is pinned in known_hosts (StrictHostKeyChecking=yes).
        env = helpers.ansible_env(self.colls, ANSIBLE_SSH_CONTROL_PATH_DIR=cp, ANSIBLE_TIMEOUT="60",
                                  ANSIBLE_FORKS=str(forks), ANSIBLE_HOST_KEY_CHECKING="True")
        t0, ru0, q0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN), self.qemu_cpu_s()
        r = helpers.run_playbook(self.colls, self.inventory(names), ev, self.summary, check=check, env=env,
                                 timeout=3600)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r.wall_s = time.monotonic() - t0
        # CPU time of this machine: the control node's (ansible-playbook and what it ran) and the guests' (QEMU).
        r.control_cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        r.guests_cpu_s = self.qemu_cpu_s() - q0
        for sock in glob.glob(os.path.join(cp, "*")):
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True)
        return r


def accepted_ssh(v):
    """sshd's accepted connections since boot (its journal)."""
    out = v.run("journalctl -b -u ssh.service --no-pager -o cat", check=True).out
    return sum(1 for line in out.splitlines() if line.startswith("Accepted publickey for "))


def status(v):
    r = v.run("lp-load status --json", check=True)
    return json.loads(r.out)


def cmdline(v):
    return v.run("cat /proc/cmdline", check=True).out.strip()


def lpguard_log(v):
    return v.run("cat /sys/kernel/security/lpguard/log", check=True).out


def signed_sha256(module, keys=KEYS, generation=None, workdir="/tmp"):
    """The SHA-256 of MODULE signed as the playbook signs it (RSA: deterministic)."""
    out = os.path.join(workdir, f"expect-{module}")
    argv = [CVM_CLI, "sign", "--key", os.path.join(keys, "livepatch.key"), "--cert",
            os.path.join(keys, "livepatch.crt"), "-o", out, os.path.join(PAYLOAD, module)]
    if generation is not None:
        argv[2:2] = ["--generation", str(generation)]
    subprocess.run(argv, check=True, capture_output=True)
    with open(out, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
