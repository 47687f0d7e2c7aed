# SPDX-License-Identifier: GPL-2.0
"""The user guide's workflow end to end, from the host: cvm-cli signs a livepatch,
uploads it over ssh and runs lp-load in the guest; the image kernel (lpguard
built in) accepts the owner's cumulative patches and refuses the others."""
import json
import os
import subprocess

import pytest

from conftest import BUILD, KVER
from lpg import cmdline

CVM_CLI = os.path.join(BUILD, "cmake", "bin", "cvm-cli")
MODS = os.path.join(BUILD, "test", KVER, "payload", "opt", "lpguard-tests")
KEYS = os.path.join(BUILD, "test", "keys")
OTHER = os.path.join(BUILD, "test", "keys-other")
ECDSA = os.path.join(BUILD, "test", "keys-ecdsa")


@pytest.fixture(scope="module")
def known_hosts(vm, tmp_path_factory):
    path = tmp_path_factory.mktemp("ssh") / "known_hosts"
    with open(os.path.join(vm.ssh_dir, "ssh_host_ed25519_key.pub")) as f:
        hostkey = " ".join(f.read().split()[:2])
    path.write_text(f"[127.0.0.1]:{vm.port} {hostkey}\n")
    return str(path)


def livepatch(vm, known_hosts, module, keys=KEYS, extra=()):
    argv = [CVM_CLI, "livepatch", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "--key", os.path.join(keys, "livepatch.key"), "--cert", os.path.join(keys, "livepatch.crt"),
            *extra, os.path.join(MODS, module)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def active(vm):
    return vm.run("ls /sys/kernel/livepatch").out.split()


def test_owner_patch_applies_and_changes_behaviour(vm, known_hosts):
    before = cmdline(vm)
    p = livepatch(vm, known_hosts, "lpg_replace_a.ko")
    assert p.returncode == 0, p.stderr
    assert cmdline(vm) == "lpguard test: replace A" != before
    assert active(vm) == ["lpg_replace_a"]
    # What reached the guest is signed by the owner's key.
    log = vm.run("cat /sys/kernel/security/lpguard/log", check=True).out
    assert 'livepatch allowed obj="lpg_replace_a"' in log, log


def test_cumulative_patch_replaces_the_first(vm, known_hosts):
    p = livepatch(vm, known_hosts, "lpg_replace_b.ko", extra=["--json"])
    assert p.returncode == 0, p.stderr
    assert cmdline(vm) == "lpguard test: replace B"
    assert active(vm) == ["lpg_replace_b"]
    # The replaced module is gone, not left loaded.
    assert vm.run("test -d /sys/module/lpg_replace_a").rc != 0
    json.loads(p.stdout)


def test_patch_signed_with_another_key_is_refused(vm, known_hosts):
    p = livepatch(vm, known_hosts, "lpg_replace_a.ko", keys=OTHER)
    assert p.returncode != 0
    assert p.stderr.strip(), "a refusal must say why"
    assert cmdline(vm) == "lpguard test: replace B"
    assert active(vm) == ["lpg_replace_b"]
    assert vm.run("test -d /sys/module/lpg_replace_a").rc != 0


def test_non_replace_patch_is_refused(vm, known_hosts):
    mark = vm.dmesg_mark()
    p = livepatch(vm, known_hosts, "lpg_noreplace.ko")
    assert p.returncode != 0
    assert "replace" in p.stderr, p.stderr
    assert cmdline(vm) == "lpguard test: replace B"
    assert active(vm) == ["lpg_replace_b"]
    assert vm.run("test -d /sys/module/lpg_noreplace").rc != 0
    assert 'klp_enable_patch refused obj="lpg_noreplace"' in vm.dmesg_since(mark)


def test_status_tells_the_story(vm):
    r = vm.run("lp-load status --json", check=True)
    status = json.loads(r.out)
    assert json.dumps(status).count("lpg_replace_b") >= 1


def test_gcp_provider_through_gcloud_double(vm, known_hosts, tmp_path):
    """`cvm-cli livepatch gcp` drives gcloud compute ssh/scp (a double on PATH that accepts only gcloud's
    documented syntax and forwards to the guest)."""
    from conftest import TOP
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(os.path.join(TOP, "tests", "unit", "data", "gcloud-double"), bindir / "gcloud")
    log = tmp_path / "gcloud.log"
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", GCLOUD_DOUBLE_INSTANCE="cvm-test",
               GCLOUD_DOUBLE_DEST="root@127.0.0.1", GCLOUD_DOUBLE_PORT=str(vm.port), GCLOUD_DOUBLE_LOG=str(log),
               GCLOUD_DOUBLE_SSH_OPTS=f"-i {os.path.join(vm.ssh_dir, 'id_ed25519')} -o BatchMode=yes "
                                      f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes")
    p = subprocess.run([CVM_CLI, "livepatch", "gcp", "cvm-test", "--zone", "europe-west4-a", "--project", "acme-prod",
                        "--key", os.path.join(KEYS, "livepatch.key"), "--cert", os.path.join(KEYS, "livepatch.crt"),
                        os.path.join(MODS, "lpg_replace_a.ko")], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert cmdline(vm) == "lpguard test: replace A"
    assert active(vm) == ["lpg_replace_a"]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert {c[1] for c in calls} == {"ssh", "scp"}
    assert all("--zone=europe-west4-a" in c or "europe-west4-a" in c for c in calls), calls


def test_ecdsa_owner_key(vm, known_hosts):
    """An owner key made with --type ecdsa-p384: the kernel's own signature check and lpguard both accept it."""
    p = livepatch(vm, known_hosts, "lpg_replace_b.ko", keys=ECDSA)
    assert p.returncode == 0, p.stderr
    assert cmdline(vm) == "lpguard test: replace B"
    assert active(vm) == ["lpg_replace_b"]
    log = vm.run("cat /sys/kernel/security/lpguard/log", check=True).out.splitlines()
    mine = [ln for ln in log if 'livepatch allowed obj="lpg_replace_b"' in ln]
    assert mine and 'signer="lpguard test ECDSA livepatch key' in mine[-1], log
