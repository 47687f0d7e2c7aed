#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: the owner's workflow on a local QEMU VM.

keys -> image kernel with the owner's certificate -> livepatches -> VM ->
sign and apply a livepatch with `cvm-cli livepatch ssh` -> visible effect ->
a cumulative patch replaces it -> a patch signed with another key and a
non-replace patch are refused -> summary. The VM is always stopped at the end.

The livepatches come from kpatch-build (tests/kpatch/cmdline-v{1,2}.patch,
scripts/kpatch/kpatch-build.sh) when its tools are built (build/kpatch, by
`make test-kpatch` or an earlier `make demo DEMO_KPATCH=1`), else from the
hand-written sources in tests/modules. DEMO_KPATCH=1 forces kpatch-build
(downloads Debian's kpatch source once, about 10 more minutes the first
time), DEMO_KPATCH=0 the hand-written ones.
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


KSRC = os.path.join(BUILD, "src", f"linux-source-{KVER}")
KPATCH_DIR = os.path.join(BUILD, "kpatch")


def step_kernel():
    # kpatch.config: debug info and no IBT, so that kpatch-build can build
    # patches for this kernel, as it must for the image.
    kout = os.path.join(DEMO, f"image-kernel-{KVER}")
    say(f"image kernel: linux {KVER} with lpguard built in and the owner's certificate embedded ({kout})")
    env = dict(os.environ, KSRC=KSRC, KOUT=kout,
               FRAGMENTS=f"{TOP}/kconfig/qemu.config {TOP}/kconfig/lpguard.config {TOP}/kconfig/kpatch.config",
               LPGUARD_BUILTIN="y", LPGUARD_CERTS=os.path.join(KEYS, "livepatch.der"))
    run([os.path.join(TOP, "scripts", "build-kernel.sh")], env=env)
    return kout


def step_patches(kout, mods):
    """The three livepatches of the demo: first, cumulative second, non-replace."""
    mode = os.environ.get("DEMO_KPATCH", "auto")
    if mode not in ("auto", "0", "1"):
        raise SystemExit(f"demo: DEMO_KPATCH={mode!r}: use 1 (kpatch-build), 0 (hand-written) or leave it unset")
    tools = os.path.exists(os.path.join(KPATCH_DIR, "tools.path"))
    if mode == "0" or (mode == "auto" and not tools):
        why = "DEMO_KPATCH=0" if mode == "0" else "kpatch-build tools not built; DEMO_KPATCH=1 builds them"
        say(f"livepatches: hand-written sources from tests/modules ({why})")
        summary.append("livepatches: hand-written (tests/modules)")
        return [os.path.join(mods, f"{n}.ko") for n in ("lpg_replace_a", "lpg_replace_b", "lpg_noreplace")]
    out = os.path.join(DEMO, "kpatch")
    build = os.path.join(TOP, "scripts", "kpatch", "kpatch-build.sh")
    env = dict(os.environ, KOUT=kout, KSRC=KSRC, KPATCH_DIR=KPATCH_DIR)
    patches = os.path.join(TOP, "tests", "kpatch")
    say("livepatches: kpatch-build of tests/kpatch/cmdline-v1.patch and cmdline-v2.patch "
        "(first run compiles a copy of the tree: several minutes)")
    run([build, os.path.join(patches, "cmdline-v1.patch"), out], env=env)
    run([build, os.path.join(patches, "cmdline-v2.patch"), out], env=env)
    say("livepatches: kpatch-build -R (non-replace) of cmdline-v1.patch")
    run([build, "-R", "-n", "livepatch-cmdline-v1-nonreplace", os.path.join(patches, "cmdline-v1.patch"), out],
        env=env)
    summary.append(f"livepatches: kpatch-build from tests/kpatch/*.patch ({out})")
    return [os.path.join(out, f"{n}.ko")
            for n in ("livepatch-cmdline-v1", "livepatch-cmdline-v2", "livepatch-cmdline-v1-nonreplace")]


def module_name(ko):
    return os.path.basename(ko)[:-len(".ko")].replace("-", "_")


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
    first, second, noreplace = step_patches(kout, mods)
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

        say(f"apply: {os.path.basename(first)} signed with the owner's key (cvm-cli signs, uploads, lp-load applies)")
        cvm_livepatch(vm, known_hosts, first, KEYS, True)
        after_a = cmdline()
        say(f"guest /proc/cmdline now: {after_a!r}")
        if after_a == before:
            raise SystemExit("demo: the livepatch did not change /proc/cmdline")
        summary.append(f"{module_name(first)} applied: /proc/cmdline {before!r} -> {after_a!r}")

        say(f"apply: {os.path.basename(second)}, a cumulative livepatch, replaces the first")
        cvm_livepatch(vm, known_hosts, second, KEYS, True)
        after_b = cmdline()
        say(f"guest /proc/cmdline now: {after_b!r}")
        active = vm.run("ls /sys/kernel/livepatch", check=True).out.split()
        say(f"active livepatches: {active}")
        if active != [module_name(second)]:
            raise SystemExit(f"demo: expected exactly {module_name(second)} active, found {active}")
        summary.append(f"{module_name(second)} replaced it: exactly one active ({active[0]})")

        say(f"refuse: {os.path.basename(first)} signed with someone else's key")
        cvm_livepatch(vm, known_hosts, first, other, False)
        summary.append("a patch signed with another key: refused")

        say(f"refuse: {os.path.basename(noreplace)}, a non-replace livepatch signed with the owner's key")
        cvm_livepatch(vm, known_hosts, noreplace, KEYS, False)
        summary.append("a non-replace patch: refused")
        if cmdline() != after_b:
            raise SystemExit("demo: a refused patch changed /proc/cmdline")

        say("guest: lp-load status")
        print(vm.run("lp-load status", check=True).out, flush=True)
        say("guest: lpguard's decisions (kernel log)")
        # (the image's KUnit suite fills a keyring of its own at boot: not part of the story)
        print("\n".join(line for line in vm.dmesg().splitlines()
                        if "lpguard:" in line and "lpguard-kunit" not in line), flush=True)
    say("VM stopped")
    print("\nSummary:")
    for line in summary:
        print(f"  - {line}")
    print(f"demo: done in {int(time.time() - T0)}s")


if __name__ == "__main__":
    main()
