#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: the owner's workflow on a local QEMU VM.

keys -> image kernel with the owner's certificate -> VM -> sign and apply a
livepatch with `cvm-cli livepatch ssh` -> visible effect -> a cumulative patch
replaces it -> a patch signed with another key and a non-replace patch are
refused -> summary. The VM is always stopped at the end.
"""
import os
import subprocess
import sys
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
import vm as vmlib  # noqa: E402

BUILD = os.path.join(TOP, "build")
DEMO = os.path.join(BUILD, "demo")
KVER = os.environ.get("KVER", "6.12")
CVM_CLI = os.path.join(BUILD, "cmake", "bin", "cvm-cli")
KEYS = os.environ.get("LPGUARD_KEYS", os.path.join(TOP, "keys"))
T0 = time.time()
summary = []


def say(msg):
    print(f"[{int(time.time() - T0):4d}s] {msg}", flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def step_keys():
    if os.path.exists(os.path.join(KEYS, "livepatch.der")):
        say(f"keys: using the existing livepatch key in {KEYS}/")
    else:
        say(f"keys: cvm-cli generate-livepatch-keys --out {KEYS}")
        run([CVM_CLI, "generate-livepatch-keys", "--out", KEYS])
    other = os.path.join(DEMO, "keys-other")
    if not os.path.exists(os.path.join(other, "livepatch.der")):
        run([CVM_CLI, "generate-livepatch-keys", "--out", other, "--subject", "someone else's key"],
            stdout=subprocess.DEVNULL)
    summary.append(f"owner's livepatch certificate: {KEYS}/livepatch.der")
    return other


def step_kernel():
    kout = os.path.join(DEMO, f"kernel-{KVER}")
    say(f"image kernel: linux {KVER} with lpguard built in and the owner's certificate embedded ({kout})")
    env = dict(os.environ, KSRC=os.path.join(BUILD, "src", f"linux-source-{KVER}"), KOUT=kout,
               FRAGMENTS=f"{TOP}/kconfig/qemu.config {TOP}/kconfig/lpguard.config", LPGUARD_BUILTIN="y",
               LPGUARD_CERTS=os.path.join(KEYS, "livepatch.der"))
    run([os.path.join(TOP, "scripts", "build-kernel.sh")], env=env)
    return kout


def step_guest(kout, other):
    say("guest: test livepatch modules and initramfs")
    payload = os.path.join(DEMO, "payload")
    run([os.path.join(TOP, "scripts", "mkpayload.sh"), kout, payload, KEYS, other], stdout=subprocess.DEVNULL)
    initrd = os.path.join(DEMO, "initramfs.cpio.gz")
    run([os.path.join(TOP, "scripts", "mkinitramfs.sh"), initrd, os.path.join(BUILD, "test", "ssh")],
        stdout=subprocess.DEVNULL)
    return os.path.join(payload, "opt", "lpguard-tests"), initrd


def cvm_livepatch(vm, known_hosts, patch, key_dir, expect_ok):
    argv = [CVM_CLI, "livepatch", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "--key", os.path.join(key_dir, "livepatch.key"), "--cert", os.path.join(key_dir, "livepatch.crt"),
            patch]
    print("    $ " + " ".join(argv[:2] + ["ssh", vm.ssh_target(), "...", os.path.basename(patch)]), flush=True)
    p = subprocess.run(argv)
    if (p.returncode == 0) != expect_ok:
        raise SystemExit(f"demo: cvm-cli livepatch exited {p.returncode}, expected "
                         f"{'success' if expect_ok else 'a refusal'}")
    return p.returncode


def main():
    for f in (CVM_CLI,):
        if not os.access(f, os.X_OK):
            raise SystemExit(f"demo: {f} missing: run 'make build' (or 'make deps' first on a fresh machine)")
    other = step_keys()
    kout = step_kernel()
    mods, initrd = step_guest(kout, other)
    kernel = os.path.join(kout, "arch", "x86", "boot", "bzImage")
    ssh_dir = os.path.join(BUILD, "test", "ssh")
    accel = vmlib.probe_accel(kernel, initrd, os.path.join(BUILD, "test", "qemu-accel"))
    say(f"VM: booting the image kernel under QEMU ({accel})")
    with vmlib.VM(kernel=kernel, initrd=initrd, ssh_dir=ssh_dir, accel=accel, name="demo",
                  workdir=os.path.join(DEMO, "vm")) as vm:
        say(f"VM: up, ssh on {vm.ssh_target()}")
        known_hosts = os.path.join(DEMO, "known_hosts")
        with open(os.path.join(ssh_dir, "ssh_host_ed25519_key.pub")) as f:
            hostkey = " ".join(f.read().split()[:2])
        with open(known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{vm.port} {hostkey}\n")

        def cmdline():
            return vm.run("cat /proc/cmdline", check=True).out.strip()

        before = cmdline()
        say(f"guest /proc/cmdline before: {before!r}")

        say("apply: a livepatch signed with the owner's key (cvm-cli signs, uploads, lp-load applies)")
        cvm_livepatch(vm, known_hosts, os.path.join(mods, "lpg_replace_a.ko"), KEYS, True)
        after_a = cmdline()
        say(f"guest /proc/cmdline now: {after_a!r}")
        if after_a == before:
            raise SystemExit("demo: the livepatch did not change /proc/cmdline")
        summary.append(f"lpg_replace_a applied: /proc/cmdline {before!r} -> {after_a!r}")

        say("apply: a second, cumulative livepatch replaces the first")
        cvm_livepatch(vm, known_hosts, os.path.join(mods, "lpg_replace_b.ko"), KEYS, True)
        after_b = cmdline()
        say(f"guest /proc/cmdline now: {after_b!r}")
        active = vm.run("ls /sys/kernel/livepatch", check=True).out.split()
        say(f"active livepatches: {active}")
        if active != ["lpg_replace_b"]:
            raise SystemExit(f"demo: expected exactly lpg_replace_b active, found {active}")
        summary.append(f"lpg_replace_b replaced it: exactly one active ({active[0]})")

        say("refuse: the same kind of patch signed with someone else's key")
        cvm_livepatch(vm, known_hosts, os.path.join(mods, "lpg_replace_a.ko"), other, False)
        summary.append("a patch signed with another key: refused")

        say("refuse: a non-cumulative (non-replace) livepatch signed with the owner's key")
        cvm_livepatch(vm, known_hosts, os.path.join(mods, "lpg_noreplace.ko"), KEYS, False)
        summary.append("a non-replace patch: refused")
        if cmdline() != after_b:
            raise SystemExit("demo: a refused patch changed /proc/cmdline")

        say("guest: lp-load status")
        print(vm.run("lp-load status", check=True).out, flush=True)
        say("guest: lpguard's decisions (kernel log)")
        print("\n".join(line for line in vm.dmesg().splitlines() if "lpguard:" in line), flush=True)
    say("VM stopped")
    print("\nSummary:")
    for line in summary:
        print(f"  - {line}")
    print(f"demo: done in {int(time.time() - T0)}s")


if __name__ == "__main__":
    main()
