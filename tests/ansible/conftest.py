# SPDX-License-Identifier: GPL-2.0
"""Fixtures of the collection's fast tests: cvm-cli, two RSA signing keys (RSA
signatures are deterministic, so signing the same module again gives the same
image), small livepatch-shaped modules cvm-cli signs and inspects, and fake
hosts, each a state directory for tests/ansible/fake-lp-load with an lp-load
wrapper pointing at it."""
import json
import os
import shutil
import subprocess

import pytest

import helpers

BUILD = os.environ.get("LPGUARD_BUILD", os.path.join(helpers.TOP, "build"))
CVM_CLI = os.environ.get("LPGUARD_CVM_CLI", os.path.join(BUILD, "cmake", "bin", "cvm-cli"))
RELEASE = "6.12.0-fake"

MODULE_C = r"""
__attribute__((section(".modinfo"), used, aligned(1))) static const char modinfo[] =
	"license=GPL\0livepatch=Y\0name=" NAME "\0vermagic=" VERMAGIC " SMP preempt mod_unload \0";
struct fake_module { char pad[24]; char name[56]; char rest[944]; };
__attribute__((section(".gnu.linkonce.this_module"), used)) struct fake_module __this_module = { .name = NAME };
"""


@pytest.fixture(scope="session")
def cvm_cli():
    if not os.access(CVM_CLI, os.X_OK):
        pytest.fail(f"{CVM_CLI} missing: run 'make build' first (or set LPGUARD_CVM_CLI)", pytrace=False)
    return CVM_CLI


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("ansible")


@pytest.fixture(scope="session")
def colls(work):
    return helpers.collections_path(str(work))


@pytest.fixture(scope="session")
def keys(work, cvm_cli):
    """{"owner": dir, "other": dir}: the fleet's key, and one the fleet does not trust."""
    out = {}
    for k in ("owner", "other"):
        d = str(work / f"keys-{k}")
        subprocess.run([cvm_cli, "generate-livepatch-keys", "--out", d, "--subject", f"fake {k} key"],
                       check=True, capture_output=True)
        out[k] = d
    return out


@pytest.fixture(scope="session")
def modules(work):
    """Unsigned livepatch-shaped modules: lpg_fake_a (v1), lpg_fake_b (v2), and
    lpg_fake_a built for another kernel."""
    src = work / "module.c"
    src.write_text(MODULE_C)
    out = {}
    for key, name, release in (("v1", "lpg_fake_a", RELEASE), ("v2", "lpg_fake_b", RELEASE),
                               ("v3", "lpg_fake_c", RELEASE), ("wrong_kernel", "lpg_fake_w", "5.10.0-other")):
        ko = str(work / f"{name}.ko")
        subprocess.run(["gcc", "-c", "-O0", f'-DNAME="{name}"', f'-DVERMAGIC="{release}"', "-o", ko, str(src)],
                       check=True)
        out[key] = ko
    return out


def sign(cvm_cli, keydir, module, out, generation=None):
    argv = [cvm_cli, "sign", "--key", os.path.join(keydir, "livepatch.key"), "--cert",
            os.path.join(keydir, "livepatch.crt"), "-o", out, module]
    if generation is not None:
        argv[2:2] = ["--generation", str(generation)]
    subprocess.run(argv, check=True, capture_output=True)
    return out


class FakeHost:
    def __init__(self, root, name, cvm_cli, certdir):
        self.name = name
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "certs"))
        with open(os.path.join(self.dir, "release"), "w") as f:
            f.write(RELEASE + "\n")
        self.trust(certdir)
        self.lp_load = os.path.join(self.dir, "lp-load")
        with open(self.lp_load, "w") as f:
            f.write(f"#!/bin/sh\nLP_LOAD_FAKE_STATE={self.dir} LP_LOAD_FAKE_CVM_CLI={cvm_cli} "
                    f"exec /usr/bin/python3 {helpers.FAKE_LP_LOAD} \"$@\"\n")
        os.chmod(self.lp_load, 0o755)

    def trust(self, keydir):
        certs = os.path.join(self.dir, "certs")
        for f in os.listdir(certs):
            os.unlink(os.path.join(certs, f))
        with open(os.path.join(keydir, "livepatch.crt")) as src, open(os.path.join(certs, "livepatch.crt"), "w") as d:
            d.write(src.read())

    def kernel(self):
        try:
            with open(os.path.join(self.dir, "kernel.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"active": None, "generation": None, "log": []}

    def active(self):
        return self.kernel()["active"]

    def installed(self):
        try:
            with open(os.path.join(self.dir, "var", "patch.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def calls(self):
        try:
            with open(os.path.join(self.dir, "calls")) as f:
                return [line.split() for line in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def commands(self):
        return [c[0] for c in self.calls()]

    def reset_calls(self):
        if os.path.exists(os.path.join(self.dir, "calls")):
            os.unlink(os.path.join(self.dir, "calls"))

    def snapshot(self):
        """Every file of the fake kernel's state but the call log, with its content."""
        out = {}
        for dirpath, _, files in os.walk(self.dir):
            for f in files:
                p = os.path.join(dirpath, f)
                if f in ("calls", "lock"):
                    continue
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, self.dir)] = fh.read()
        return out


@pytest.fixture
def fleet(tmp_path, cvm_cli, keys):
    """Four fake hosts h1..h4 over ansible_connection=local, trusting the owner's key,
    and their inventory; fleet.inventory(unreachable=[...]) rewrites it."""
    class Fleet:
        def __init__(self):
            self.root = str(tmp_path)
            self.hosts = {n: FakeHost(self.root, n, cvm_cli, keys["owner"]) for n in ("h1", "h2", "h3", "h4")}
            self.summary = os.path.join(self.root, "summary.json")
            self.inventory()

        def inventory(self, unreachable=(), over_fake_ssh=()):
            """unreachable: hosts at a closed port. over_fake_ssh: hosts reached through
            tests/ansible/fake-ssh, which fails once the test makes them go down."""
            lines = ["[fleet]"]
            for n, h in self.hosts.items():
                if n in over_fake_ssh:
                    ssh = os.path.join(h.dir, "ssh")
                    shutil.copy(os.path.join(os.path.dirname(helpers.FAKE_LP_LOAD), "fake-ssh"), ssh)
                    lines.append(f"{n} ansible_connection=ssh ansible_host=127.0.0.1 ansible_ssh_executable={ssh} "
                                 f"ansible_ssh_transfer_method=piped lpguard_lp_load={h.lp_load} "
                                 f"lpguard_staging_dir={h.dir}")
                elif n in unreachable:
                    # A closed port on loopback: ssh fails at once, as for a VM that is down.
                    lines.append(f"{n} ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=9 "
                                 f"lpguard_lp_load={h.lp_load}")
                else:
                    # Each fake host stages its copy in its own directory (they share one file system).
                    lines.append(f"{n} ansible_connection=local lpguard_lp_load={h.lp_load} "
                                 f"lpguard_staging_dir={h.dir}")
            lines += ["[fleet:vars]", "ansible_python_interpreter=/usr/bin/python3"]
            self.path = os.path.join(self.root, "inventory.ini")
            with open(self.path, "w") as f:
                f.write("\n".join(lines) + "\n")
            return self.path

        def __getitem__(self, n):
            return self.hosts[n]

    return Fleet()
