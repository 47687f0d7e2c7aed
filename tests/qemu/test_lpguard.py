# SPDX-License-Identifier: GPL-2.0
"""lpguard built into the image kernel: the sealed .livepatch keyring, the load
policy on both module system calls, the replace-only rule, securityfs.

Every refusal asserts the errno seen in the guest and lpguard's exact log line.
Tests run in file order on one boot: refusals first, then the livepatch
sequence (replace A, non-replace refused, replace B replaces A).
"""
import re
import subprocess

import pytest

from lpg import (EPERM, EKEYREJECTED, T, SFS, BUILTIN_CERTS, R_OK, R_UNSIGNED, R_NOT_LP_KEY, R_TAMPERED, R_LP_KEY_ORDINARY, R_COMPRESSED,
                 R_NON_REPLACE, R_ENABLE_OK, MODULE_INIT_COMPRESSED_FILE, cert_facts, status,
                 livepatch_key_desc, sha256, load, line_re, expect_line, lpguard_lines, loaded,
                 wait_transition, enabled_patches, refused_livepatch, keyring_checks,
                 ftrace_off_refused)


# ---- tests -----------------------------------------------------------------
def test_status_reports_builtin_form_and_key(vm):
    st = status(vm)
    cn, skid = cert_facts()
    assert re.search(r"^form: builtin$", st, re.M), st
    assert re.search(r"^enforcing: yes$", st, re.M), st
    assert re.search(r"^keyring: \.livepatch sealed$", st, re.M), st
    assert re.search(r"^keys: 2$", st, re.M), st
    keys = re.findall(r'^key: serial=[0-9a-f]+ subject="([^"]+)" keyid=([0-9a-f]+)$', st, re.M)
    assert len(keys) == 2, st
    for (subject, keyid), cert in zip(keys, BUILTIN_CERTS):
        cn, skid = cert_facts(cert)
        assert cn in subject and keyid == skid, (st, cn, skid)
    assert re.search(r"^active: none$", st, re.M), st
    assert "lpguard: enforcing (form=builtin keys=2)" in vm.console_text()


def test_certificates_file_is_the_embedded_certificate(vm):
    pem = vm.run(f"cat {SFS}/certificates", check=True).out
    expected = "".join(subprocess.run(["openssl", "x509", "-inform", "DER", "-in", c, "-outform", "PEM"],
                                      capture_output=True, text=True, check=True).stdout for c in BUILTIN_CERTS)
    assert pem == expected


def test_ftrace_cannot_be_turned_off(vm):
    ftrace_off_refused(vm)


def test_livepatch_keyring_is_sealed(vm):
    keyring_checks(vm)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_unsigned_livepatch_is_refused(vm, syscall):
    refused_livepatch(vm, f"{T}/lpg_busy.ko", syscall, EKEYREJECTED, "unsigned", R_UNSIGNED)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_livepatch_signed_by_kernel_build_key_is_refused(vm, syscall):
    refused_livepatch(vm, f"{T}/lpg_busy.build.ko", syscall, EKEYREJECTED, "not a .livepatch key", R_NOT_LP_KEY)


def test_livepatch_signed_by_unrelated_key_is_refused(vm):
    refused_livepatch(vm, f"{T}/lpg_busy.other.ko", "finit", EKEYREJECTED, "not a .livepatch key", R_NOT_LP_KEY)


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_tampered_livepatch_is_refused(vm, syscall):
    refused_livepatch(vm, f"{T}/lpg_busy.tampered.ko", syscall, EKEYREJECTED, livepatch_key_desc(vm),
                      R_TAMPERED, reason_is_re=True)


def test_busybox_insmod_of_unsigned_livepatch_is_refused(vm):
    sha = sha256(vm, f"{T}/lpg_busy.ko")
    mark = vm.dmesg_mark()
    r = vm.run(f"insmod {T}/lpg_busy.ko")
    assert r.rc != 0 and "Key was rejected by service" in r.err, r
    expect_line(vm.dmesg_since(mark), line_re("livepatch", "refused", "lpg_busy", "unsigned", R_UNSIGNED, sha,
                                              comm="insmod"))


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_ordinary_module_signed_by_livepatch_key_is_refused(vm, syscall):
    path = f"{T}/lpg_plain.lp.ko"
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, syscall)
    assert r.rc == EPERM, r
    expect_line(vm.dmesg_since(mark),
                line_re("module", "refused", "lpg_plain", livepatch_key_desc(vm), R_LP_KEY_ORDINARY, sha))
    assert not loaded(vm, "lpg_plain")


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_ordinary_module_signed_by_build_key_loads(vm, syscall):
    path = f"{T}/lpg_plain.build.ko"
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, syscall)
    assert r.rc == 0, r
    assert loaded(vm, "lpg_plain")
    # Not printed (the kernel's own checks decide), but logged in securityfs.
    assert lpguard_lines(vm.dmesg_since(mark)) == []
    log = vm.run(f"cat {SFS}/log", check=True).out.splitlines()
    assert re.search(r' module allowed obj="lpg_plain" signer="not a \.livepatch key" sha256=%s check_ns=\d+ '
                     r'reason="not a livepatch and not signed by a livepatch key"$' % sha, log[-1]), log[-1]
    assert vm.run("rmmod lpg_plain").rc == 0


@pytest.mark.parametrize("syscall", ["init", "finit"])
def test_compressed_module_load_is_refused(vm, syscall):
    vm.run(f"gzip -c {T}/lpg_plain.build.ko > /tmp/lpg_plain.ko.gz", check=True)
    sha = sha256(vm, "/tmp/lpg_plain.ko.gz")
    mark = vm.dmesg_mark()
    flags = MODULE_INIT_COMPRESSED_FILE if syscall == "finit" else None
    r = load(vm, "/tmp/lpg_plain.ko.gz", syscall, flags)
    assert r.rc == EPERM, r
    expect_line(vm.dmesg_since(mark), line_re("module", "refused", "?", "unsigned", R_COMPRESSED, sha))
    assert not loaded(vm, "lpg_plain")


def test_livepatch_signed_by_livepatch_key_loads_and_patches(vm):
    before = vm.run("cat /proc/cmdline", check=True).out
    assert "lpguard test" not in before
    path = f"{T}/lpg_replace_a.lp.ko"
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, "finit")
    assert r.rc == 0, r
    log = vm.dmesg_since(mark)
    expect_line(log, line_re("livepatch", "allowed", "lpg_replace_a", livepatch_key_desc(vm), R_OK, sha))
    expect_line(log, line_re("klp_enable_patch", "allowed", "lpg_replace_a", "-", R_ENABLE_OK, "-"))
    wait_transition(vm, "lpg_replace_a")
    assert vm.run("cat /proc/cmdline", check=True).out == "lpguard test: replace A\n"
    assert enabled_patches(vm) == {"lpg_replace_a": "1"}
    assert re.search(r"^active: lpg_replace_a$", status(vm), re.M), status(vm)


def test_non_replace_livepatch_is_refused_and_patches_nothing(vm):
    path = f"{T}/lpg_noreplace.lp.ko"
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, "finit")
    assert r.rc == EPERM, r
    log = vm.dmesg_since(mark)
    # Its signature is fine; enabling it is what is refused.
    expect_line(log, line_re("livepatch", "allowed", "lpg_noreplace", livepatch_key_desc(vm), R_OK, sha))
    expect_line(log, line_re("klp_enable_patch", "refused", "lpg_noreplace", "-", R_NON_REPLACE, "-"))
    assert not loaded(vm, "lpg_noreplace")
    assert vm.run("test -e /sys/kernel/livepatch/lpg_noreplace").rc != 0
    assert vm.run("cat /proc/cmdline", check=True).out == "lpguard test: replace A\n"
    assert enabled_patches(vm) == {"lpg_replace_a": "1"}


def test_second_replace_livepatch_replaces_the_first(vm):
    path = f"{T}/lpg_replace_b.lp.ko"
    sha = sha256(vm, path)
    mark = vm.dmesg_mark()
    r = load(vm, path, "init")
    assert r.rc == 0, r
    expect_line(vm.dmesg_since(mark),
                line_re("livepatch", "allowed", "lpg_replace_b", livepatch_key_desc(vm), R_OK, sha))
    wait_transition(vm, "lpg_replace_b")
    assert vm.run("cat /proc/cmdline", check=True).out == "lpguard test: replace B\n"
    # Exactly one livepatch stays enabled; the replaced one left /sys/kernel/livepatch.
    assert enabled_patches(vm) == {"lpg_replace_b": "1"}
    assert re.search(r"^active: lpg_replace_b$", status(vm), re.M), status(vm)


def test_counters_and_log_record_the_decisions(vm):
    st = status(vm)
    allowed = int(re.search(r"^allowed: (\d+)$", st, re.M).group(1))
    refused = int(re.search(r"^refused: (\d+)$", st, re.M).group(1))
    log = vm.run(f"cat {SFS}/log", check=True).out.splitlines()
    assert allowed >= 6 and refused >= 13, st
    assert any(' livepatch refused obj="lpg_busy" signer="unsigned" ' in ln for ln in log)
    assert any(' klp_enable_patch refused obj="lpg_noreplace" ' in ln for ln in log)
    assert any(' livepatch allowed obj="lpg_replace_b" ' in ln for ln in log)
