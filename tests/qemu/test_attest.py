# SPDX-License-Identifier: GPL-2.0
"""cvm-cli attest against the QEMU guest with its swtpm: the AK created in the
guest, A (generation 1) then B (generation 2) applied, the quote verified on
the host by cvm-cli and by tpm2_checkquote, forged evidence refused, a guest
without TPM, and a reboot that re-applies the installed patch."""
import base64
import json
import os
import subprocess

import pytest

import conftest
from conftest import BUILD, KVER

CVM_CLI = os.path.join(BUILD, "cmake", "bin", "cvm-cli")
MODS = os.path.join(BUILD, "test", KVER, "payload", "opt", "lpguard-tests")
T = "/opt/lpguard-tests"
A, B = "lpg_replace_a.gen1.lp.ko", "lpg_replace_b.gen2.lp.ko"


def known_hosts(vm, tmp_path):
    path = tmp_path / "known_hosts"
    with open(os.path.join(vm.ssh_dir, "ssh_host_ed25519_key.pub")) as f:
        hostkey = " ".join(f.read().split()[:2])
    path.write_text(f"[127.0.0.1]:{vm.port} {hostkey}\n")
    return str(path)


def attest(vm, tmp_path, *extra):
    argv = [CVM_CLI, "attest", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={known_hosts(vm, tmp_path)}", "-o", "StrictHostKeyChecking=yes",
            "--pin-file", str(tmp_path / "pin.pem"), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def verify(tmp_path, evidence, nonce, ak, *extra):
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(evidence))
    return subprocess.run([CVM_CLI, "attest", "verify", "--evidence", str(path), "--nonce", nonce,
                           "--ak-pub", ak, *extra], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def applied(vm):
    """The AK created in the guest, then A and B applied in order."""
    assert vm.run("lp-load attest --create-ak", timeout=120).rc == 0
    assert vm.run(f"lp-load apply {T}/{A}", timeout=180).rc == 0
    assert vm.run(f"lp-load apply {T}/{B}", timeout=180).rc == 0
    return vm


def test_expect_b_reports_a_then_b(applied, tmp_path):
    r = attest(applied, tmp_path, "--expect", os.path.join(MODS, B), "--json",
               "--save-evidence", str(tmp_path / "ev.json"))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["verdict"]["verified"] and j["expect"]["matches"]
    assert j["verdict"]["active"]["name"] == "lpg_replace_b"
    assert j["verdict"]["active"]["generation"] == 2
    loads = [h["module"] for h in j["verdict"]["history"] if h["event"] == "load"]
    assert loads == ["lpg_replace_a", "lpg_replace_b"]
    assert "warning: first use" in r.stderr


def test_expect_a_is_refused(applied, tmp_path):
    assert attest(applied, tmp_path).returncode == 0  # pins the key
    r = attest(applied, tmp_path, "--expect", os.path.join(MODS, A))
    assert r.returncode == 21, r.stderr
    assert "the active livepatch is lpg_replace_b (generation 2)" in r.stderr


def test_tpm2_checkquote_agrees_and_forgeries_are_refused(applied, tmp_path):
    r = attest(applied, tmp_path, "--json", "--save-evidence", str(tmp_path / "ev.json"))
    assert r.returncode == 0, r.stderr
    nonce = json.loads(r.stdout)["nonce"]
    ev = json.loads((tmp_path / "ev.json").read_text())
    ak = tmp_path / "pin.pem"
    # tpm2_checkquote wants the TPMS_ATTEST, the TPMT_SIGNATURE and the nonce
    # (an RSASSA key; see docs/lp-load.md for RSAPSS).
    (tmp_path / "q.attest").write_bytes(base64.b64decode(ev["quote"]["attest"]))
    (tmp_path / "q.sig").write_bytes(base64.b64decode(ev["quote"]["signature"]))
    c = subprocess.run(["tpm2_checkquote", "-Q", "-u", str(ak), "-m", str(tmp_path / "q.attest"),
                        "-s", str(tmp_path / "q.sig"), "-q", nonce, "-g", "sha256"], capture_output=True, text=True)
    assert c.returncode == 0, c.stderr
    assert verify(tmp_path, ev, nonce, str(ak)).returncode == 0

    log = bytearray(base64.b64decode(ev["ima_log"]))
    changed = bytearray(log)
    i = changed.find(b"generation=2")
    changed[i + 11] = ord("9")
    assert verify(tmp_path, dict(ev, ima_log=base64.b64encode(bytes(changed)).decode()), nonce, str(ak)).returncode == 18
    # A record removed: its entry cut out of the list.
    entries = parse_entries(bytes(log))
    rec = next(k for k, (s, e) in enumerate(entries) if b"lpguard/1 seq=2 " in log[s:e])
    s, e = entries[rec]
    cut = bytes(log[:s] + log[e:])
    assert verify(tmp_path, dict(ev, ima_log=base64.b64encode(cut).decode()), nonce, str(ak)).returncode == 17
    # An earlier call's quote: the nonce of this call differs.
    assert verify(tmp_path, ev, "00" * 32, str(ak)).returncode == 15
    # Another TPM's key.
    other = os.path.join(os.path.dirname(__file__), "..", "unit", "data", "attest", "ak-other.pem")
    assert verify(tmp_path, ev, nonce, other).returncode == 13


def parse_entries(log):
    """(start, end) of each entry of a sha256 binary measurement list."""
    out, p = [], 0
    while p < len(log):
        start = p
        p += 4 + 32
        n = int.from_bytes(log[p:p + 4], "little")
        p += 4
        name = log[p:p + n]
        p += n
        if name != b"ima":
            d = int.from_bytes(log[p:p + 4], "little")
            p += 4 + d
        else:
            p += 20 + 4 + int.from_bytes(log[p + 20:p + 24], "little")
        out.append((start, p))
    return out


def test_guest_without_tpm(tmp_path):
    with conftest.make_vm(name="no-tpm", tpm=False) as v:
        r = attest(v, tmp_path, "--ak-pub", os.path.join(os.path.dirname(__file__), "..", "unit", "data",
                                                         "attest", "ak-rsa.pem"))
        assert r.returncode == 10, r.stderr
        assert "no TPM" in r.stderr


def test_reboot_reapplies_the_installed_patch(vm_with_disk, tmp_path):
    vm = vm_with_disk
    assert vm.run("lp-load attest --create-ak", timeout=120).rc == 0
    assert vm.run(f"lp-load install {T}/{B}", timeout=60).rc == 0
    vm.reboot()  # TPM state survives; the initramfs runs lp-load boot
    r = attest(vm, tmp_path, "--expect", os.path.join(MODS, B), "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["verdict"]["active"]["name"] == "lpg_replace_b"
    assert {h["module"] for h in j["verdict"]["history"]} == {"lpg_replace_b"}


def test_livepatch_attest_prints_the_verdict_last(applied, tmp_path):
    """cvm-cli livepatch --attest: sign A as generation 3, apply it over B, attest expecting exactly that image."""
    keys = os.path.join(BUILD, "test", "keys")
    argv = [CVM_CLI, "livepatch", "ssh", applied.ssh_target(), os.path.join(MODS, "lpg_replace_a.ko"),
            "-i", os.path.join(applied.ssh_dir, "id_ed25519"),
            "-o", f"UserKnownHostsFile={known_hosts(applied, tmp_path)}", "-o", "StrictHostKeyChecking=yes",
            "--key", os.path.join(keys, "livepatch.key"), "--cert", os.path.join(keys, "livepatch.crt"),
            "--generation", "3", "--attest", "--pin-file", str(tmp_path / "pin.pem")]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = (r.stdout.strip().splitlines() or [""])[-1]
    assert "lpg_replace_a" in last and "generation 3" in last, r.stdout
    assert applied.run("cat /proc/cmdline", check=True).out.strip() == "lpguard test: replace A"
