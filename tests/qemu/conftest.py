# SPDX-License-Identifier: GPL-2.0
"""pytest fixtures for the QEMU tests.

Artifacts come from the build tree (made by `make test-artifacts`):
  build/kernel-<KVER>/arch/x86/boot/bzImage      image kernel, lpguard built in
  build/kernel-<KVER>-mod/arch/x86/boot/bzImage  kernel without lpguard (loadable form)
  build/kernel-<KVER>-kasan/arch/x86/boot/bzImage  image kernel with KASAN (make test-kasan)
  build/test/<KVER>[-mod|-kasan]/initramfs.cpio.gz  guest initramfs with the test payload
  build/test/ssh/                                test-only ssh keys
  build/test/<KVER>/patch-kit/                   the image kernel's patch kit (cvm-cli preflight)
KVER defaults to 6.12 (LPGUARD_TEST_KVER overrides it).
"""
import os
import subprocess

import pytest

import vm as vmlib

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LPGUARD_BUILD", os.path.join(TOP, "build"))
KVER = os.environ.get("LPGUARD_TEST_KVER", "6.12")
SSH_DIR = os.path.join(BUILD, "test", "ssh")


def artifacts(variant=""):
    kernel = os.path.join(BUILD, f"kernel-{KVER}{variant}", "arch", "x86", "boot", "bzImage")
    initrd = os.path.join(BUILD, "test", f"{KVER}{variant}", "initramfs.cpio.gz")
    for f in (kernel, initrd, os.path.join(SSH_DIR, "id_ed25519")):
        if not os.path.exists(f):
            pytest.fail(f"missing test artifact {f}: run 'make test-artifacts' first", pytrace=False)
    return kernel, initrd


def patch_kit():
    """The patch kit of the image kernel, with its bzImage and preflight guest."""
    kit = os.path.join(BUILD, "test", KVER, "patch-kit")
    if not os.path.exists(os.path.join(kit, "patch-kit.json")):
        pytest.fail(f"missing patch kit {kit}: run 'make test-artifacts' first", pytrace=False)
    return kit


# What the loadable form's test kernel leaves to the command line.
LOADABLE_APPEND = "module.sig_enforce=1 lockdown=integrity"


def accel():
    kernel, initrd = artifacts()
    return vmlib.probe_accel(kernel, initrd, os.path.join(BUILD, "test", "qemu-accel"))


def make_vm(variant="", append="", disk=None, name="guest", mem="512M", root_image=None, boot_timeout=120,
            tpm=True):
    """tpm=False: no swtpm, the guest has no TPM. root_image: boot that disk
    (the Debian guest) instead of the initramfs."""
    kernel, initrd = artifacts(variant)
    return vmlib.VM(kernel=kernel, initrd=initrd, ssh_dir=SSH_DIR, append=append, disk=disk, mem=mem,
                    accel=accel(), name=name, root_image=root_image, boot_timeout=boot_timeout, tpm=tpm,
                    workdir=os.path.join(BUILD, "test", "vms", f"{name}-{os.getpid()}"))


def make_disk(path, size_mb=16):
    """A fresh ext4 disk image for /var/lib/lp-load (journalled, as a real
    image's root file system is: the power-cut test relies on it)."""
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run(["truncate", "-s", f"{size_mb}M", path], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True)
    return path


@pytest.fixture(scope="module")
def vm():
    """The image kernel (lpguard built in), one boot per test module."""
    with make_vm(name="image") as v:
        yield v


@pytest.fixture(scope="module")
def vm_loadable():
    """A kernel without lpguard built in; the initramfs loads lpguard.ko first.
    Its kernel enforces module signatures and lockdown from the command line
    (kconfig/qemu-loadable.config)."""
    with make_vm(variant="-mod", name="loadable", append=LOADABLE_APPEND) as v:
        yield v


@pytest.fixture(scope="module")
def vm_kasan():
    """The image kernel built with KASAN (make test-kasan)."""
    with make_vm(variant="-kasan", name="kasan", mem="1024M") as v:
        yield v


DEBIAN_IMAGE = os.path.join(BUILD, "test", "debian-guest.img")
DEB_DIR = os.path.join(BUILD, "deb")


@pytest.fixture(scope="module")
def vm_debian():
    """The image kernel booting the Debian 12 guest (systemd) from its disk
    image (`make test-debian`: scripts/mkdebian-guest.sh, `make deb`)."""
    if not os.path.exists(DEBIAN_IMAGE):
        pytest.fail(f"missing {DEBIAN_IMAGE}: run 'make test-debian' (it builds the guest image)", pytrace=False)
    with make_vm(name="debian", root_image=DEBIAN_IMAGE, mem="1024M", boot_timeout=300) as v:
        yield v


@pytest.fixture
def fresh_vm():
    """A new boot of the image kernel for one test."""
    with make_vm(name="fresh") as v:
        yield v


@pytest.fixture
def vm_with_disk(tmp_path):
    """The image kernel with a persistent disk mounted at /var/lib/lp-load."""
    disk = make_disk(str(tmp_path / "disk.img"))
    with make_vm(disk=disk, name="disk") as v:
        yield v


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for v in list(vmlib._LIVE):
            rep.sections.append((f"guest console ({v.name})", v.console_tail(60)))
