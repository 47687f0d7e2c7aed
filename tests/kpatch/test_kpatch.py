# SPDX-License-Identifier: GPL-2.0
"""The patch builders for a test kernel: real patches in, livepatch modules out.

Builds, with scripts/build-patch.sh (kpatch-build for 6.x trees, the kernel's
klp-build for trees that ship it), against build/kernel-6.12-kpatch
(LPGUARD_KPATCH_KOUT overrides it; make test-kernels passes the 7.x test kernel):
  livepatch-cmdline-v1.ko             cmdline-v1.patch, replace (default)
  livepatch-cmdline-v2.ko             cmdline-v2.patch (cumulative: v1's function + one more), replace
  livepatch-cmdline-v1-nonreplace.ko  cmdline-v1.patch with --no-replace
then checks each module from the outside (modinfo, ELF, bytes) and boots the
kernel in QEMU to load them (signed here with cvm-cli and the test livepatch
key, which the test kernels trust) and read the patched /proc files.
"""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.realpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("LPGUARD_BUILD", os.path.join(TOP, "build"))
KOUT = os.environ.get("LPGUARD_KPATCH_KOUT", os.path.join(BUILD, "kernel-6.12-kpatch"))
OUT = os.path.join(BUILD, "test", "kpatch", os.path.basename(KOUT))
# The livepatch key the kernel trusts (LPGUARD_KPATCH_KEYS: another key
# directory, e.g. keys/ for the demo's image kernel).
KEYS = os.environ.get("LPGUARD_KPATCH_KEYS", os.path.join(BUILD, "test", "keys"))
SSH_DIR = os.path.join(BUILD, "test", "ssh")
CVM_CLI = os.path.join(BUILD, "cmake", "bin", "cvm-cli")
SIG_MAGIC = b"~Module signature appended~\n"
R_NON_REPLACE = "klp_patch.replace is false: only cumulative replace livepatches may be enabled"

MODULES = {
    "livepatch-cmdline-v1": dict(patch="cmdline-v1.patch", replace=True,
                                 funcs={"cmdline_proc_show"}, marker=b" livepatched=cmdline-v1"),
    "livepatch-cmdline-v2": dict(patch="cmdline-v2.patch", replace=True,
                                 funcs={"cmdline_proc_show", "version_proc_show"},
                                 marker=b" livepatched=cmdline-v2"),
    "livepatch-cmdline-v1-nonreplace": dict(patch="cmdline-v1.patch", replace=False,
                                            funcs={"cmdline_proc_show"}, marker=b" livepatched=cmdline-v1"),
}


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def lpguard_built_in():
    with open(os.path.join(KOUT, ".config")) as f:
        return "CONFIG_SECURITY_LPGUARD=y" in f.read().splitlines()


def builder():
    p = run([os.path.join(TOP, "scripts", "build-patch.sh"), "--which"], env=dict(os.environ, KOUT=KOUT))
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def kernel_release():
    with open(os.path.join(KOUT, "include", "config", "kernel.release")) as f:
        return f.read().strip()


@pytest.fixture(scope="session")
def modules():
    for f in (".config", "vmlinux", "Module.symvers"):
        if not os.path.exists(os.path.join(KOUT, f)):
            pytest.fail(f"{KOUT}/{f} missing: build the kpatch kernel first ('make kernel-kpatch')", pytrace=False)
    os.makedirs(OUT, exist_ok=True)
    built = {}
    for name, m in MODULES.items():
        # -f: always a real builder run, never a module reused from an earlier one.
        argv = [os.path.join(TOP, "scripts", "build-patch.sh"), "-f", "-n", name]
        if not m["replace"]:
            argv.append("--no-replace")
        argv += [os.path.join(HERE, m["patch"]), OUT]
        p = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, KOUT=KOUT))
        assert p.returncode == 0, f"build-patch.sh {name} failed:\n{p.stdout}\n{p.stderr}"
        ko = os.path.join(OUT, name + ".ko")
        assert p.stdout.strip().splitlines()[-1] == ko, p.stdout
        built[name] = ko
    return built


def modinfo(ko, field):
    p = run(["modinfo", "-F", field, ko])
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_the_front_end_picks_the_trees_builder():
    # 6.12: kpatch-build; 7.x ships scripts/livepatch/klp-build.
    major = int(kernel_release().split(".")[0])
    assert builder() == ("klp-build" if major >= 7 else "kpatch-build")


@pytest.mark.parametrize("name", MODULES)
def test_module_is_a_livepatch_named_after_the_patch(modules, name):
    ko = modules[name]
    assert modinfo(ko, "livepatch") == "Y"
    assert modinfo(ko, "name") == name.replace("-", "_")
    assert modinfo(ko, "license") == "GPL"


@pytest.mark.parametrize("name", MODULES)
def test_vermagic_is_the_kernels(modules, name):
    # The kernel compares a module's vermagic with its own VERMAGIC_STRING,
    # which vmlinux carries as a string starting with the release.
    release = kernel_release()
    p = run(["strings", "-a", os.path.join(KOUT, "vmlinux")])
    assert p.returncode == 0
    own = {s.strip() for s in p.stdout.splitlines() if s.startswith(release + " ") and "mod_unload" in s}
    assert len(own) == 1, f"cannot find the one vermagic string of {release} in vmlinux: {own}"
    assert modinfo(modules[name], "vermagic") == own.pop()


@pytest.mark.parametrize("name", MODULES)
def test_module_is_unsigned(modules, name):
    with open(modules[name], "rb") as f:
        data = f.read()
    assert not data.endswith(SIG_MAGIC)
    assert modinfo(modules[name], "signer") == ""


@pytest.mark.parametrize("name", MODULES)
def test_module_carries_the_patched_functions_and_text(modules, name):
    p = run(["readelf", "-sW", modules[name]])
    assert p.returncode == 0, p.stderr
    funcs = set()
    for line in p.stdout.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) == 8 and f[3] == "FUNC" and f[6] != "UND":
            funcs.add(f[7])
    assert MODULES[name]["funcs"] <= funcs, f"patched functions missing from {name}: {sorted(funcs)}"
    with open(modules[name], "rb") as f:
        assert MODULES[name]["marker"] in f.read()


def test_cumulative_patch_is_a_superset(modules):
    assert MODULES["livepatch-cmdline-v1"]["funcs"] < MODULES["livepatch-cmdline-v2"]["funcs"]
    with open(modules["livepatch-cmdline-v1"], "rb") as a, open(modules["livepatch-cmdline-v2"], "rb") as b:
        assert a.read() != b.read()


# ---- in the guest ----------------------------------------------------------
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))


@pytest.fixture(scope="session")
def guest(modules):
    import vm as vmlib

    bzimage = os.path.join(KOUT, "arch", "x86", "boot", "bzImage")
    for f in (bzimage, CVM_CLI, os.path.join(KEYS, "livepatch.key"), os.path.join(SSH_DIR, "id_ed25519")):
        if not os.path.exists(f):
            pytest.fail(f"missing {f}: run 'make kernel-kpatch test-keys build' first", pytrace=False)
    payload = os.path.join(OUT, "payload")
    dest = os.path.join(payload, "opt", "kpatch")
    os.makedirs(dest, exist_ok=True)
    for name, ko in modules.items():
        with open(ko, "rb") as src, open(os.path.join(dest, name + ".ko"), "wb") as dst:
            dst.write(src.read())
        # Signed as the owner signs: cvm-cli with the livepatch key.
        signed = os.path.join(dest, name + ".lp.ko")
        p = run([CVM_CLI, "sign", "--key", os.path.join(KEYS, "livepatch.key"),
                 "--cert", os.path.join(KEYS, "livepatch.crt"), "-o", signed, ko])
        assert p.returncode == 0, p.stderr
    initrd = os.path.join(OUT, "initramfs.cpio.gz")
    p = run([os.path.join(TOP, "scripts", "mkinitramfs.sh"), initrd, SSH_DIR, payload])
    assert p.returncode == 0, p.stdout + p.stderr
    accel = vmlib.probe_accel(bzimage, initrd, os.path.join(OUT, "qemu-accel"))
    with vmlib.VM(kernel=bzimage, initrd=initrd, ssh_dir=SSH_DIR, accel=accel, name="kpatch",
                  workdir=os.path.join(OUT, "vm")) as v:
        yield v


def sysfs(vm, patch, attr):
    r = vm.run(f"cat /sys/kernel/livepatch/{patch}/{attr}")
    return r.out.strip() if r.rc == 0 else None


def load(vm, name):
    r = vm.run(f"insmod /opt/kpatch/{name}.lp.ko")
    assert r.rc == 0, r
    mod = name.replace("-", "_")
    r = vm.run(f"for i in $(seq 100); do [ \"$(cat /sys/kernel/livepatch/{mod}/transition)\" = 0 ] && exit 0; "
               f"sleep 0.2; done; exit 1")
    assert r.rc == 0, f"{mod}: transition did not finish in 20 s\n{vm.dmesg()}"
    return mod


def test_kpatch_output_is_unsigned_so_the_kernel_refuses_it(guest):
    r = guest.run("insmod /opt/kpatch/livepatch-cmdline-v1.ko")
    assert r.rc != 0, r
    assert guest.run("test -d /sys/kernel/livepatch/livepatch_cmdline_v1").rc != 0


def test_patches_change_proc_in_the_guest(guest):
    cmdline = guest.run("cat /proc/cmdline", check=True).out
    version = guest.run("cat /proc/version", check=True).out
    assert "livepatched=" not in cmdline + version

    # v1: /proc/cmdline gains the marker; replace mode.
    v1 = load(guest, "livepatch-cmdline-v1")
    assert sysfs(guest, v1, "enabled") == "1"
    assert sysfs(guest, v1, "replace") == "1"
    assert guest.run("cat /proc/cmdline", check=True).out == cmdline.rstrip("\n") + " livepatched=cmdline-v1\n"
    assert guest.run("cat /proc/version", check=True).out == version

    # v2 (cumulative) replaces v1: v1 leaves /sys/kernel/livepatch, both functions are v2's.
    v2 = load(guest, "livepatch-cmdline-v2")
    assert sysfs(guest, v2, "replace") == "1"
    # The replaced patch is freed asynchronously after the transition.
    r = guest.run(f"for i in $(seq 50); do [ -d /sys/kernel/livepatch/{v1} ] || exit 0; sleep 0.2; done; exit 1")
    assert r.rc == 0, "v1 is still registered 10 s after the replacing v2 loaded"
    assert guest.run("cat /proc/cmdline", check=True).out == cmdline.rstrip("\n") + " livepatched=cmdline-v2\n"
    assert guest.run("cat /proc/version", check=True).out == version + "livepatched=cmdline-v2\n"

    if lpguard_built_in():
        # lpguard allows only cumulative (replace) livepatches: --no-replace is refused, v2 stays.
        mark = guest.dmesg_mark()
        r = guest.run("insmod /opt/kpatch/livepatch-cmdline-v1-nonreplace.lp.ko")
        assert r.rc != 0, r
        log = guest.dmesg_since(mark)
        assert re.search(r'lpguard: klp_enable_patch refused obj="livepatch_cmdline_v1_nonreplace" .*reason="%s'
                         % re.escape(R_NON_REPLACE), log), log
        assert sysfs(guest, "livepatch_cmdline_v1_nonreplace", "enabled") is None
        assert sysfs(guest, v2, "enabled") == "1"
        assert guest.run("cat /proc/cmdline", check=True).out == cmdline.rstrip("\n") + " livepatched=cmdline-v2\n"
        return

    # Without lpguard, -R stacks on top of v2 instead of replacing it.
    nr = load(guest, "livepatch-cmdline-v1-nonreplace")
    assert sysfs(guest, nr, "replace") == "0"
    assert sysfs(guest, v2, "enabled") == "1", "the non-replace patch disabled v2"
    assert guest.run("cat /proc/cmdline", check=True).out == cmdline.rstrip("\n") + " livepatched=cmdline-v1\n"
    assert guest.run("cat /proc/version", check=True).out == version + "livepatched=cmdline-v2\n"
    assert re.search(r"livepatch: '%s': patching complete" % nr, guest.dmesg())
