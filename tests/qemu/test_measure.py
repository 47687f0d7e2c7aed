# SPDX-License-Identifier: GPL-2.0
"""lpguard built in: every livepatch state change is measured into IMA (PCR 10 of
the guest's swtpm), and the generation ratchet refuses a rollback.

Runs in file order on one boot: A (generation 1), then B (generation 2)
replacing it, then A again (refused), then A signed as generation 3.
"""
import hashlib
import re
import struct

from lpg import T, SFS, IMA, load, refused_livepatch_load, sha256, wait_transition
from lpg import ima_records as records

R_LOWER = ("livepatch generation 1 is lower than 2, the highest enabled since boot: "
           "apply a patch of generation 2 or higher")


def replay_pcr10(blob):
    """PCR 10 from IMA's sha256 binary measurement list."""
    pcr, off = bytes(32), 0
    while off < len(blob):
        idx, = struct.unpack_from("<I", blob, off)
        digest = blob[off + 4:off + 36]
        off += 36
        nlen, = struct.unpack_from("<I", blob, off)
        off += 4 + nlen
        dlen, = struct.unpack_from("<I", blob, off)
        off += 4 + dlen
        if idx == 10:
            pcr = hashlib.sha256(pcr + digest).digest()
    return pcr.hex()


def test_ima_and_tpm_are_up(vm):
    assert vm.run("test -c /dev/tpmrm0").rc == 0, vm.dmesg()
    assert vm.run(f"test -r {IMA}/ascii_runtime_measurements_sha256").rc == 0, vm.dmesg()
    assert "generation: none" in vm.run(f"cat {SFS}/status", check=True).out


def test_each_change_is_measured_in_order(vm):
    a, b = f"{T}/lpg_replace_a.gen1.lp.ko", f"{T}/lpg_replace_b.gen2.lp.ko"
    sha_a, sha_b = sha256(vm, a), sha256(vm, b)
    assert load(vm, a).rc == 0
    wait_transition(vm, "lpg_replace_a")
    assert load(vm, b).rc == 0
    wait_transition(vm, "lpg_replace_b")
    got = [(e, r.get("module"), r.get("generation"), r.get("active")) for e, r in records(vm)]
    assert got == [
        ("lpguard-load", "lpg_replace_a", "1", "-"),
        ("lpguard-enable", "lpg_replace_a", "1", "-"),
        ("lpguard-patched", "lpg_replace_a", "1", "lpg_replace_a"),
        ("lpguard-load", "lpg_replace_b", "2", "lpg_replace_a"),
        ("lpguard-enable", "lpg_replace_b", "2", "lpg_replace_a"),
        ("lpguard-replaced", "lpg_replace_a", "1", "lpg_replace_b"),
        ("lpguard-patched", "lpg_replace_b", "2", "lpg_replace_b"),
    ], got
    recs = records(vm)
    assert {r["sha256"] for e, r in recs if r["module"] == "lpg_replace_a"} == {sha_a}
    assert {r["sha256"] for e, r in recs if r["module"] == "lpg_replace_b"} == {sha_b}
    seqs = [int(r["seq"]) for e, r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert re.search(r"^generation: 2$", vm.run(f"cat {SFS}/status", check=True).out, re.M)


def test_pcr10_replays_from_the_measurement_list(vm):
    vm.run(f"cat {SFS}/status >/dev/null", check=True)
    r = vm.run(f"cat {IMA}/binary_runtime_measurements_sha256 | od -An -v -tx1 | tr -d ' \\n'", check=True)
    want = replay_pcr10(bytes.fromhex(r.out.strip()))
    pcr = vm.run("tpm2_pcrread -T device:/dev/tpmrm0 sha256:10", check=True).out
    got = re.search(r"10\s*:\s*0x([0-9A-Fa-f]{64})", pcr).group(1).lower()
    assert got == want, pcr


def test_older_generation_is_refused_and_measured(vm):
    a = f"{T}/lpg_replace_a.gen1.lp.ko"
    assert vm.run("rmmod lpg_replace_a").rc == 0     # replaced by B, so unloadable
    before = len(records(vm))
    refused_livepatch_load(vm, a, R_LOWER)
    new = records(vm)[before:]
    assert [(e, r["module"], r["generation"], r["active"]) for e, r in new] == [
        ("lpguard-generation-refused", "lpg_replace_a", "1", "lpg_replace_b")], new
    assert "active: lpg_replace_b" in vm.run(f"cat {SFS}/status", check=True).out


def test_a_b_a_with_a_newer_generation_leaves_new_records(vm):
    a3 = f"{T}/lpg_replace_a.gen3.lp.ko"
    before = len(records(vm))
    assert load(vm, a3).rc == 0
    wait_transition(vm, "lpg_replace_a")
    new = [(e, r["module"], r["generation"]) for e, r in records(vm)[before:]]
    assert new == [("lpguard-load", "lpg_replace_a", "3"), ("lpguard-enable", "lpg_replace_a", "3"),
                   ("lpguard-replaced", "lpg_replace_b", "2"), ("lpguard-patched", "lpg_replace_a", "3")], new
