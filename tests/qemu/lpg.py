# SPDX-License-Identifier: GPL-2.0
"""Helpers and constants shared by the QEMU tests of lpguard (test_lpguard.py,
test_lpguard_loadable.py): paths in the guest, lpguard's exact reasons, log
line patterns, loading modules and waiting for transitions."""
import os
import re
import subprocess
import time

import pytest

import conftest

T = "/opt/lpguard-tests"
SFS = "/sys/kernel/security/lpguard"
IMA = "/sys/kernel/security/ima"
CERT = os.path.join(conftest.BUILD, "test", "keys", "livepatch.der")
# The built-in test kernel embeds both, in this order (Makefile, `kernel`).
CERT_ECDSA = os.path.join(conftest.BUILD, "test", "keys-ecdsa", "livepatch.der")
BUILTIN_CERTS = [CERT, CERT_ECDSA]
CVM_CLI = os.path.join(conftest.BUILD, "bin", "cvm-cli")
# The unsigned test modules of the guest's payload, on the host.
PAYLOAD = os.path.join(conftest.BUILD, "test", conftest.KVER, "payload", T.lstrip("/"))

EPERM, EBUSY, EKEYREJECTED = 1, 16, 129

R_OK = "signature verifies against .livepatch"
R_UNSIGNED = "livepatch is not signed: sign it with a livepatch key"
R_NOT_LP_KEY = "livepatch is not signed by a key in .livepatch: sign it with a livepatch key"
R_TAMPERED = (r"livepatch signature does not verify against \.livepatch \(-\d+\): "
              r"the image changed after signing; use the signed original")
R_LP_KEY_ORDINARY = ("ordinary module signed by a livepatch key: livepatch keys sign livepatches only; "
                     "sign it with the kernel module key")
R_COMPRESSED = ("not an ELF image (compressed modules are not accepted): "
                "load the uncompressed module as built and signed")
R_NON_REPLACE = ("klp_patch.replace is false: only cumulative replace livepatches may be enabled; "
                 "build it with .replace = true")
R_ENABLE_OK = "replace livepatch"
MODULE_INIT_COMPRESSED_FILE = 4


# ---- helpers ----------------------------------------------------------------
LIVEPATCH = "/sys/kernel/livepatch"


def cmdline(vm):
    """The guest's /proc/cmdline: what the test patches change."""
    return vm.run("cat /proc/cmdline", check=True).out.strip()


def livepatch_state(vm):
    """Registered patches and loaded livepatch-tainted modules, from /sys directly."""
    r = vm.run(f"ls {LIVEPATCH}; echo --; for m in /sys/module/*; do "
               "[ -f $m/taint ] && grep -q K $m/taint && basename $m; done; true", check=True)
    patches, _, mods = r.out.partition("--")
    return sorted(patches.split()), sorted(mods.split())


def cert_facts(cert=CERT):
    """(CN, subject key id in lower-case hex) of a test livepatch certificate."""
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", cert, "-noout", "-subject",
                          "-ext", "subjectKeyIdentifier", "-nameopt", "multiline"],
                         capture_output=True, text=True, check=True).stdout
    cn = re.search(r"commonName\s*=\s*(.+)", out).group(1).strip()
    skid = re.search(r"X509v3 Subject Key Identifier:\s*\n\s*([0-9A-F:]+)", out).group(1)
    return cn, skid.replace(":", "").lower()


def status(vm):
    r = vm.run(f"cat {SFS}/status", check=True)
    return r.out


def livepatch_key_desc(vm):
    """The .livepatch key's description as lpguard reports it (signer= in log lines)."""
    m = re.search(r'^key: serial=[0-9a-f]+ subject="([^"]+)" keyid=[0-9a-f]+$', status(vm), re.M)
    assert m, status(vm)
    return m.group(1)


def sha256(vm, path):
    return vm.run(f"sha256sum {path}", check=True).out.split()[0]


def load(vm, path, syscall="finit", flags=None):
    extra = f" --flags {flags}" if flags is not None else ""
    return vm.run(f"modload --{syscall}{extra} {path}")


def line_re(what, verdict, obj, signer, reason, sha, comm="modload", reason_is_re=False):
    return re.compile(r'lpguard: %s %s obj="%s" signer="%s" reason="%s" sha256=%s pid=\d+ comm="%s"$' % (
        re.escape(what), verdict, re.escape(obj), re.escape(signer),
        reason if reason_is_re else re.escape(reason), sha, re.escape(comm)), re.M)


def expect_line(log, rx):
    lines = [ln for ln in log.splitlines() if "lpguard:" in ln]
    assert any(rx.search(ln) for ln in lines), f"no line matching\n  {rx.pattern}\nin\n" + "\n".join(lines)


def lpguard_lines(log):
    return [ln for ln in log.splitlines() if "lpguard: " in ln]


def loaded(vm, name):
    return vm.run(f"test -d /sys/module/{name}").rc == 0


def wait_transition(vm, name, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = vm.run(f"cat /sys/kernel/livepatch/{name}/transition")
        if r.rc == 0 and r.out.strip() == "0":
            return
        time.sleep(1)
    pytest.fail(f"livepatch {name} still in transition after {timeout}s")


def enabled_patches(vm):
    r = vm.run("for d in /sys/kernel/livepatch/*/; do [ -d \"$d\" ] && "
               "echo $(basename $d) $(cat $d/enabled); done")
    return dict(ln.split() for ln in r.out.splitlines() if ln.strip())


def refused_livepatch(vm, path, syscall, errno, signer, reason, reason_is_re=False, name="lpg_busy"):
    """Load @path, expect @errno and lpguard's refusal line, and no module."""
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, syscall)
    assert r.rc == errno, r
    expect_line(vm.dmesg_since(mark),
                line_re("livepatch", "refused", name, signer, reason, sha, reason_is_re=reason_is_re))
    assert not loaded(vm, name)


def keyring_checks(vm, nkeys=len(BUILTIN_CERTS)):
    """root cannot add, link, unlink, revoke, invalidate or re-permission .livepatch."""
    proc_keys = vm.run("cat /proc/keys", check=True).out
    ring = [ln for ln in proc_keys.splitlines() if " keyring " in ln and ".livepatch:" in ln]
    assert len(ring) == 1, proc_keys
    rid = int(ring[0].split()[0], 16)
    key = int(re.search(r"^key: serial=([0-9a-f]+)", status(vm), re.M).group(1), 16)
    vm.copy_in(CERT, "/tmp/lp.der")
    attacks = {
        "add": f"keyctl add user lpguard-test data {rid}",
        "padd": f"keyctl padd asymmetric lpguard-test {rid} < /tmp/lp.der",
        "link": f"keyctl link @u {rid}",
        "unlink": f"keyctl unlink {key} {rid}",
        "revoke": f"keyctl revoke {key}",
        "invalidate": f"keyctl invalidate {key}",
        "setperm": f"keyctl setperm {rid} 0x3f3f3f3f",
        "restrict": f"keyctl restrict_keyring {rid}",
    }
    for what, cmd in attacks.items():
        r = vm.run(cmd)
        assert r.rc != 0, f"{what} succeeded: {r}"
        assert "Permission denied" in r.err or "Operation not permitted" in r.err, f"{what}: {r}"
    after = vm.run("cat /proc/keys", check=True).out
    assert [ln for ln in after.splitlines() if ".livepatch:" in ln] == ring
    assert re.search(rf"^keys: {nkeys}$", status(vm), re.M)


def ftrace_off_refused(vm):
    """Writing 0 to ftrace_enabled fails and ftrace stays on: up to 6.x
    because lpguard's ops are FTRACE_OPS_FL_PERMANENT (EBUSY); from 7.x the
    knob no longer disables ftrace at all (EOPNOTSUPP)."""
    major = int(vm.run("uname -r").out.split(".")[0])
    r = vm.run("echo 0 > /proc/sys/kernel/ftrace_enabled")
    want = "Device or resource busy" if major < 7 else "Operation not supported"
    assert r.rc != 0 and want in r.err, r
    assert vm.run("cat /proc/sys/kernel/ftrace_enabled").out.strip() == "1"


def refused_livepatch_load(vm, path, reason):
    """Load the livepatch @path: EPERM and lpguard's refusal line with @reason and the image's hash."""
    mark = vm.dmesg_mark()
    r = load(vm, path)
    assert r.rc == 1, r
    log = vm.dmesg_since(mark)
    assert re.search(r'lpguard: livepatch refused obj="[^"]+" signer="[^"]+" reason="%s" sha256=%s '
                     % (re.escape(reason), sha256(vm, path)), log), log


def ima_records(vm):
    """lpguard's IMA records, in order: [(event name, {field: value})]."""
    vm.run(f"cat {SFS}/status >/dev/null", check=True)   # flushes lpguard's queue
    out = vm.run(f"cat {IMA}/ascii_runtime_measurements_sha256", check=True).out
    recs = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[2] == "ima-buf" and f[4].startswith("lpguard-"):
            text = bytes.fromhex(f[5]).decode()
            assert text.startswith("lpguard/1 "), text
            fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', text))
            recs.append((f[4], {k: v.strip('"') for k, v in fields.items()}))
    return recs


def sign_generation(vm, module, generation, tmp_path):
    """Signs the payload's unsigned @module.ko on the host with `cvm-cli sign
    --generation @generation` and copies it into the guest; returns its path there."""
    out = os.path.join(tmp_path, f"{module}.gen{generation}.ko")
    subprocess.run([CVM_CLI, "sign", "--key", os.path.join(os.path.dirname(CERT), "livepatch.key"),
                    "--cert", CERT, "--generation", str(generation), "-o", out,
                    os.path.join(PAYLOAD, f"{module}.ko")], check=True, capture_output=True)
    vm.copy_in(out, f"/tmp/{module}.gen{generation}.ko")
    return f"/tmp/{module}.gen{generation}.ko"
