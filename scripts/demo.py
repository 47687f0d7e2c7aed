#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make demo: the owner's workflow of the user guide on a local QEMU VM.

keys -> image kernel with the owner's certificate (built so that a patch
builder can target it) -> livepatches built from source patches with
scripts/build-patch.sh (kpatch-build for 6.x, the kernel's klp-build for 7.x)
-> VM -> `cvm-cli livepatch ssh --generation 1` signs and applies the first
-> visible effect -> a cumulative patch (generation 2) replaces it -> refusals:
a patch signed with someone else's key (by lp-load's pre-check, and by the
kernel when the pre-check is bypassed), a non-replace patch (by the kernel),
the first patch again, a generation rollback (by the kernel) -> status, the
kernel's decision lines, a summary with the time of each step. The VM is
always stopped at the end.

DEMO_KPATCH=1 (the default) builds the livepatches from tests/kpatch/*.patch;
the first run downloads Debian's kpatch source and builds a copy of the kernel
tree once (README, Try it). DEMO_KPATCH=0 takes the hand-written livepatch
modules of tests/modules instead (quick).
"""
import os
import re
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
KSRC = os.environ.get("KSRC", os.path.join(BUILD, "src", f"linux-source-{KVER}"))
T0 = time.time()
summary = []
timings = []


def say(msg):
    print(f"[{int(time.time() - T0):4d}s] {msg}", flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def fmt_time(s):
    s = int(s)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class timed:
    """with timed("step"): ... records how long the step took for the summary."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.t = time.time()

    def __exit__(self, *exc):
        timings.append((self.what, time.time() - self.t))


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
    # kpatch.config: debug information and no IBT, so that kpatch-build can
    # build patches for this kernel, as it must for the image.
    kout = os.path.join(DEMO, f"image-kernel-{KVER}")
    say(f"image kernel: linux {KVER} with lpguard built in and the owner's certificate embedded ({kout}); "
        "the first build takes a while, its progress line shows the elapsed time")
    env = dict(os.environ, KSRC=KSRC, KOUT=kout,
               FRAGMENTS=f"{TOP}/kconfig/qemu.config {TOP}/kconfig/lpguard.config {TOP}/kconfig/kpatch.config",
               LPGUARD_BUILTIN="y", LPGUARD_CERTS=os.path.join(KEYS, "livepatch.der"))
    with timed("image kernel build"):
        run([os.path.join(TOP, "scripts", "build-kernel.sh")], env=env)
    return kout


def demo_mode():
    mode = os.environ.get("DEMO_KPATCH", "1")
    if mode not in ("0", "1"):
        raise SystemExit(f"demo: DEMO_KPATCH={mode!r}: use 1 (build the patches with kpatch-build/klp-build, "
                         "the default) or 0 (the hand-written test modules)")
    return mode == "1"


def step_patches(kout, other, built):
    """The livepatches of the demo: first, cumulative second, non-replace."""
    if not built:
        say("livepatches: hand-written sources from tests/modules (DEMO_KPATCH=0)")
        payload = os.path.join(DEMO, "payload")
        with timed("hand-written livepatch modules"):
            run([os.path.join(TOP, "scripts", "mkpayload.sh"), kout, payload, KEYS, other],
                stdout=subprocess.DEVNULL)
        summary.append("livepatches: hand-written (tests/modules; DEMO_KPATCH=0)")
        mods = os.path.join(payload, "opt", "lpguard-tests")
        return [os.path.join(mods, f"{n}.ko") for n in ("lpg_replace_a", "lpg_replace_b", "lpg_noreplace")]
    out = os.path.join(DEMO, "patches")
    build = os.path.join(TOP, "scripts", "build-patch.sh")
    env = dict(os.environ, KOUT=kout, KSRC=KSRC)
    which = subprocess.run([build, "--which"], env=env, capture_output=True, text=True)
    if which.returncode != 0:
        raise SystemExit(which.stderr.strip())
    builder = which.stdout.strip()
    patches = os.path.join(TOP, "tests", "kpatch")
    say(f"livepatches: {builder} builds tests/kpatch/cmdline-v1.patch and cmdline-v2.patch "
        f"(scripts/build-patch.sh; the first run builds a copy of the kernel tree in full)")
    with timed(f"{builder}: cmdline-v1 (first run: the tree copy built in full)"):
        run([build, os.path.join(patches, "cmdline-v1.patch"), out], env=env)
    with timed(f"{builder}: cmdline-v2"):
        run([build, os.path.join(patches, "cmdline-v2.patch"), out], env=env)
    say(f"livepatches: {builder} --no-replace of cmdline-v1.patch (a patch lpguard must refuse)")
    with timed(f"{builder}: cmdline-v1 --no-replace"):
        run([build, "--no-replace", "-n", "livepatch-cmdline-v1-nonreplace", os.path.join(patches, "cmdline-v1.patch"),
             out], env=env)
    summary.append(f"livepatches: built with {builder} from tests/kpatch/*.patch ({out})")
    return [os.path.join(out, f"{n}.ko")
            for n in ("livepatch-cmdline-v1", "livepatch-cmdline-v2", "livepatch-cmdline-v1-nonreplace")]


def module_name(ko):
    return os.path.basename(ko)[:-len(".ko")].replace("-", "_")


def cvm_livepatch(vm, known_hosts, patch, key_dir, generation, expect_ok):
    argv = [CVM_CLI, "livepatch", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "--key", os.path.join(key_dir, "livepatch.key"), "--cert", os.path.join(key_dir, "livepatch.crt"),
            "--generation", str(generation), patch]
    shown_key = "" if key_dir == KEYS else f" --key {os.path.relpath(key_dir, TOP)}/livepatch.key ..."
    print(f"    $ cvm-cli livepatch ssh {vm.ssh_target()} ...{shown_key} --generation {generation} "
          f"{os.path.basename(patch)}", flush=True)
    p = subprocess.run(argv)
    print(f"    (cvm-cli exit {p.returncode})", flush=True)
    if (p.returncode == 0) != expect_ok:
        raise SystemExit(f"demo: cvm-cli livepatch exited {p.returncode}, expected "
                         f"{'success' if expect_ok else 'a refusal'}")
    return p.returncode


def lpguard_lines(text):
    # (the image's KUnit suite fills a keyring of its own at boot: not part of the story)
    return [ln for ln in text.splitlines() if "lpguard:" in ln and "lpguard-kunit" not in ln]


def kernel_says(vm, mark, want):
    """Print lpguard's kernel log lines since @mark; one must contain @want."""
    lines = lpguard_lines(vm.dmesg_since(mark))
    print("    kernel log:", flush=True)
    for ln in lines:
        print(f"      {ln}", flush=True)
    hit = [ln for ln in lines if want in ln]
    if not hit:
        raise SystemExit(f"demo: expected the kernel to log a refusal with '{want}', found none")
    # The decision line without the timestamp, for the summary.
    return re.sub(r"^\[[^]]*\]\s*", "", hit[0])


def main():
    if not os.access(CVM_CLI, os.X_OK):
        raise SystemExit(f"demo: {CVM_CLI} missing: run 'make build' (or 'make deps' first on a fresh machine)")
    built = demo_mode()
    other = step_keys()
    kout = step_kernel()
    first, second, noreplace = step_patches(kout, other, built)
    say("guest: initramfs (busybox, sshd, lp-load)")
    initrd = os.path.join(DEMO, "initramfs.cpio.gz")
    ssh_dir = os.path.join(BUILD, "test", "ssh")
    run([os.path.join(TOP, "scripts", "mkinitramfs.sh"), initrd, ssh_dir], stdout=subprocess.DEVNULL)
    kernel = os.path.join(kout, "arch", "x86", "boot", "bzImage")
    accel = vmlib.probe_accel(kernel, initrd, os.path.join(BUILD, "test", "qemu-accel"))
    say(f"VM: booting the image kernel under QEMU ({accel})")
    t_vm = time.time()
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

        say(f"apply: {os.path.basename(first)}, generation 1, signed with the owner's key "
            "(cvm-cli signs, uploads, lp-load applies)")
        cvm_livepatch(vm, known_hosts, first, KEYS, 1, True)
        after_a = cmdline()
        say(f"guest /proc/cmdline now: {after_a!r}")
        if after_a == before:
            raise SystemExit("demo: the livepatch did not change /proc/cmdline")
        summary.append(f"{module_name(first)} (generation 1) applied: /proc/cmdline {before!r} -> {after_a!r}")

        say(f"apply: {os.path.basename(second)}, generation 2, a cumulative livepatch, replaces the first")
        cvm_livepatch(vm, known_hosts, second, KEYS, 2, True)
        after_b = cmdline()
        say(f"guest /proc/cmdline now: {after_b!r}")
        active = vm.run("ls /sys/kernel/livepatch", check=True).out.split()
        say(f"active livepatches: {active}")
        if active != [module_name(second)]:
            raise SystemExit(f"demo: expected exactly {module_name(second)} active, found {active}")
        summary.append(f"{module_name(second)} (generation 2) replaced it: exactly one active ({active[0]})")

        # Someone else's key, twice: lp-load's pre-check stops it before the
        # kernel sees it; with the pre-check bypassed, the kernel refuses it.
        say(f"refuse: {os.path.basename(first)} signed with someone else's key (generation 3): lp-load's pre-check")
        cvm_livepatch(vm, known_hosts, first, other, 3, False)
        summary.append("a patch signed with another key: refused by lp-load's pre-check (the kernel never saw it)")

        say("refuse: the same patch with lp-load's pre-check bypassed (lp-load apply --no-precheck): the kernel")
        foreign = os.path.join(DEMO, "foreign.ko")
        run([CVM_CLI, "sign", "--key", os.path.join(other, "livepatch.key"), "--cert",
             os.path.join(other, "livepatch.crt"), "--generation", "3", "-o", foreign, first],
            stdout=subprocess.DEVNULL)
        vm.copy_in(foreign, "/tmp/foreign.ko")
        mark = vm.dmesg_mark()
        print("    $ lp-load apply --no-precheck /tmp/foreign.ko   (in the guest)", flush=True)
        r = vm.run("lp-load apply --no-precheck /tmp/foreign.ko")
        for ln in (r.out + r.err).strip().splitlines():
            print(f"    {ln}", flush=True)
        print(f"    (lp-load exit {r.rc})", flush=True)
        if r.rc == 0:
            raise SystemExit("demo: the kernel accepted a patch signed with another key")
        line = kernel_says(vm, mark, 'reason="livepatch is not signed by a key in .livepatch')
        summary.append(f"the same patch with the pre-check bypassed: refused by the kernel: {line}")

        def kernel_refuses(patch, generation, why, want, what):
            """cvm-cli livepatch of @patch is refused by the kernel with @want."""
            say(f"refuse: {os.path.basename(patch)}, {why}, signed with the owner's key "
                f"(generation {generation}): the kernel")
            mark = vm.dmesg_mark()
            cvm_livepatch(vm, known_hosts, patch, KEYS, generation, False)
            summary.append(f"{what}: refused by the kernel: {kernel_says(vm, mark, want)}")

        kernel_refuses(noreplace, 3, "a non-replace livepatch", 'reason="klp_patch.replace is false',
                       "a non-replace patch")
        kernel_refuses(first, 1, "again, a rollback below generation 2", "livepatch generation 1 is lower than 2",
                       "a generation rollback (1 after 2)")

        if cmdline() != after_b:
            raise SystemExit("demo: a refused patch changed /proc/cmdline")
        active = vm.run("ls /sys/kernel/livepatch", check=True).out.split()
        if active != [module_name(second)]:
            raise SystemExit(f"demo: after the refusals expected exactly {module_name(second)} active, found {active}")
        summary.append(f"after the refusals: still exactly one active ({active[0]}), /proc/cmdline unchanged")

        say("guest: lp-load status")
        print(vm.run("lp-load status", check=True).out, flush=True)
        say("guest: lpguard's decisions since boot (kernel log)")
        print("\n".join(lpguard_lines(vm.dmesg())), flush=True)
    timings.append(("VM: boot, apply, refusals, status", time.time() - t_vm))
    say("VM stopped")
    print("\nSummary:")
    for line in summary:
        print(f"  - {line}")
    print("\nTime:")
    for what, s in timings:
        print(f"  {fmt_time(s):>14}  {what}")
    print(f"demo: done in {fmt_time(time.time() - T0)}")


if __name__ == "__main__":
    main()
