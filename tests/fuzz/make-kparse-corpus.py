#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Seed corpora for the kmod/parse.c fuzz targets, from real module images.

    tests/fuzz/make-kparse-corpus.py OUT MODULE.ko [MODULE.ko ...]

For each unsigned MODULE.ko: the module, a livepatch made of it (its longest
.modinfo entry other than name= and vermagic= overwritten in place by
livepatch=Y), both signed the way scripts/sign-file signs (detached CMS, no
certificates, no attributes) with an RSA and an ECDSA P-384 key, and with
the RSA key by subject key id. A module that is a livepatch as built is
also cut at every section boundary and at the section header table, and,
signed, at every boundary of its signature trailer. Keys are throwaway
(openssl, in a temporary directory).

Writes OUT/kparse/ (whole images: kparse_image, kparse_trailer, kparse_diff),
OUT/kparse_modinfo/ (the .modinfo sections) and OUT/kparse_signers/ (the
PKCS#7 blobs).
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

MARKER = b"~Module signature appended~\n"


def sections(img):
    shoff, = struct.unpack_from("<Q", img, 40)
    shnum, shstrndx = struct.unpack_from("<HH", img, 60)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", img, shoff + 64 * i) for i in range(shnum)]
    names_off = hdrs[shstrndx][4]
    out = []
    for h in hdrs:
        end = img.index(b"\0", names_off + h[0])
        out.append((img[names_off + h[0]:end].decode(), h[1], h[4], h[5]))
    return shoff, out


def modinfo(img):
    for name, _, off, size in sections(img)[1]:
        if name == ".modinfo":
            return off, size
    raise SystemExit("no .modinfo section")


def make_livepatch(img):
    off, size = modinfo(img)
    entries, pos = [], off
    for e in img[off:off + size].split(b"\0"):
        if e and not e.startswith((b"name=", b"vermagic=", b"livepatch=")):
            entries.append((len(e), pos))
        pos += len(e) + 1
    if any(e.startswith(b"livepatch=") for e in img[off:off + size].split(b"\0")):
        return img  # as built
    n, at = max(entries)
    tag = b"livepatch=Y"
    if n < len(tag):
        raise SystemExit("no .modinfo entry long enough to turn into livepatch=Y")
    return img[:at] + tag + b"\0" * (n - len(tag)) + img[at + n:]


def sign(img, key, cert, extra=()):
    with tempfile.NamedTemporaryFile() as f:
        f.write(img)
        f.flush()
        sig = subprocess.run(["openssl", "cms", "-sign", "-binary", "-noattr", "-nocerts", "-nosmimecap",
                              "-md", "sha256", "-outform", "DER", "-in", f.name, "-signer", cert,
                              "-inkey", key, *extra], check=True, capture_output=True).stdout
    # struct module_signature: algo, hash, id_type (PKCS#7), signer_len,
    # key_id_len, __pad[3], __be32 sig_len.
    return img + sig + bytes([0, 0, 2, 0, 0, 0, 0, 0]) + struct.pack(">I", len(sig)) + MARKER, sig


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    dirs = {d: os.path.join(out, d) for d in ("kparse", "kparse_modinfo", "kparse_signers")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    def put(kind, label, data):
        h = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(dirs[kind], f"{label}-{h}"), "wb") as f:
            f.write(data)

    with tempfile.TemporaryDirectory() as tmp:
        keys = {}
        for k, args in (("rsa", ["-newkey", "rsa:2048"]),
                        ("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"])):
            key, cert = os.path.join(tmp, k + ".key"), os.path.join(tmp, k + ".crt")
            subprocess.run(["openssl", "req", "-new", "-x509", *args, "-nodes", "-days", "36500",
                            "-subj", f"/CN=lpguard fuzz {k} key", "-addext", "subjectKeyIdentifier=hash",
                            "-keyout", key, "-out", cert], check=True, capture_output=True)
            keys[k] = (key, cert)

        for path in sys.argv[2:]:
            base = os.path.basename(path).removesuffix(".ko")
            with open(path, "rb") as f:
                plain = f.read()
            if plain.endswith(MARKER):
                raise SystemExit(f"{path} is signed; give the unsigned module")
            lp = make_livepatch(plain)
            native = lp is plain
            for label, img in ((base, plain),) if native else ((base, plain), (base + "-lp", lp)):
                put("kparse", label, img)
                off, size = modinfo(img)
                put("kparse_modinfo", label, img[off:off + size])
                for k, extra in (("rsa", ()), ("ecdsa", ()), ("rsa-skid", ("-keyid",))):
                    signed, sig = sign(img, *keys[k.split("-")[0]], extra)
                    put("kparse", f"{label}-{k}", signed)
                    put("kparse_signers", f"{label}-{k}", sig)

            if not native:
                continue
            shoff, secs = sections(lp)
            cuts = {shoff} | {off for _, typ, off, size in secs if typ != 8}
            cuts |= {off + size for _, typ, off, size in secs if typ != 8}
            for c in sorted(x for x in cuts if 0 < x < len(lp)):
                put("kparse", f"{base}-cut{c}", lp[:c])
            signed, sig = sign(lp, *keys["rsa"])
            n = len(lp)
            for c in (n, n + 1, n + len(sig) // 2, n + len(sig), len(signed) - len(MARKER), len(signed) - 1):
                put("kparse", f"{base}-rsa-cut{c}", signed[:c])


if __name__ == "__main__":
    main()
