#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Writes a fake IMA binary measurement list (sha256 template digests, the
# layout of binary_runtime_measurements_sha256) to argv[1], and prints
# "<pcr> <hex>" for every extend a kernel would have made, for
# make-golden.sh to replay into a swtpm. Templates: ima-ng (boot_aggregate),
# ima-buf (lpguard's records, as kmod/record.c writes them) and one
# violation (all-zero digest in the list, 0xff.. extended). With "gap" as
# argv[2], the record of seq=3 is left out (a list lpguard never writes).
# LPG_A_SHA / LPG_B_SHA replace the patches' SHA-256 (tests of --expect with
# real signed modules).
import hashlib
import os
import struct
import sys

A_SHA = os.environ.get("LPG_A_SHA", "11" * 32)
B_SHA = os.environ.get("LPG_B_SHA", "22" * 32)
KEYID = "3c9d" + "ab" * 18
RECORDS = [
    ("load", "lpg_a", A_SHA, 1, None),
    ("enable", "lpg_a", A_SHA, 1, None),
    ("patched", "lpg_a", A_SHA, 1, "lpg_a"),
    ("load", "lpg_b", B_SHA, 2, "lpg_a"),
    ("enable", "lpg_b", B_SHA, 2, "lpg_a"),
    ("replaced", "lpg_a", A_SHA, 1, "lpg_b"),
    ("patched", "lpg_b", B_SHA, 2, "lpg_b"),
    ("generation-refused", "lpg_a", A_SHA, 1, "lpg_b"),
]


def field(b):
    return struct.pack("<I", len(b)) + b


def entry(pcr, template, data, violation=False):
    digest = bytes(32) if violation else hashlib.sha256(data).digest()
    out = struct.pack("<I", pcr) + digest + struct.pack("<I", len(template)) + template.encode()
    out += struct.pack("<I", len(data)) + data
    extend = b"\xff" * 32 if violation else digest
    return out, (pcr, extend.hex())


def ima_ng(name, filedigest):
    return field(b"sha256:\0" + filedigest) + field(name.encode() + b"\0")


def ima_buf(name, buf):
    return field(b"sha256:\0" + hashlib.sha256(buf).digest()) + field(name.encode() + b"\0") + field(buf)


def record(seq, ev, mod, sha, gen, active):
    act = '"%s"' % active if active else "-"
    return ('lpguard/1 seq=%d event=%s module="%s" sha256=%s keyid=%s generation=%d active=%s'
            % (seq, ev, mod, sha, KEYID, gen, act)).encode()


entries = [entry(10, "ima-ng", ima_ng("boot_aggregate", hashlib.sha256(b"boot").digest()))]
entries.append(entry(10, "ima-buf", ima_buf("selinux-state", b"enforcing=1")))
for i, r in enumerate(RECORDS, 1):
    if i == 3 and sys.argv[2:] == ["gap"]:
        continue
    entries.append(entry(10, "ima-buf", ima_buf("lpguard-" + r[0], record(i, *r))))
    if i == 4:
        entries.append(entry(10, "ima-ng", ima_ng("/tmp/violated", bytes(32)), violation=True))
with open(sys.argv[1], "wb") as f:
    for data, _ in entries:
        f.write(data)
for _, (pcr, hx) in entries:
    print(pcr, hx)
