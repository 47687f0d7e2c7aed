# SPDX-License-Identifier: GPL-2.0
"""lpguard built in: the attacks its hardening closes.

- a verdict belongs to one load: a load whose LSM hooks did not run
  (tests/modules/lpg_skip.c stands in for a BPF fmod_ret program) is refused
  at MODULE_STATE_COMING even when the same task's previous load, allowed by
  lpguard and then failed by the kernel, left a verdict behind;
- module names are escaped: a .modinfo name cannot forge log fields or records;
- an ordinary module signed through a certificate issued by the livepatch key
  (carried in its signature) is refused like one signed by the key itself.
"""
import json
import re

import pytest

import lpg
from lpg import T, SFS, EPERM, EKEYREJECTED, R_UNSIGNED, expect_line, line_re, load, loaded, sha256

SKIP = "/sys/module/lpg_skip/parameters/skip"
R_NO_VERDICT = ("no lpguard verdict recorded for this load (its load hook did not run): boot with lpguard in "
                "lsm= (built in) or load lpguard.ko earlier; check for BPF or ftrace programs on the "
                "security_kernel_* hooks")
R_IMAGE_DIFFERS = ("the module's symbol table is not the one lpguard checked in this load (a load hook was "
                   "bypassed): check for BPF or ftrace programs on the security_kernel_* hooks")
R_CHAIN = ("ordinary module signed through a certificate issued by a livepatch key: livepatch keys sign "
           "livepatches only; sign it with the kernel module key")


@pytest.fixture(autouse=True)
def no_lpg_plain(vm):
    """Each test starts without lpg_plain loaded and with lpg_skip passing hooks through."""
    vm.run("rmmod lpg_plain 2>/dev/null; [ -e %s ] && echo 0 > %s; true" % (SKIP, SKIP))
    yield


def steps(vm, *args):
    """Run modload --steps in one guest task; the result word of each step."""
    r = vm.run("modload --steps " + " ".join(args), check=True)
    return [ln.rsplit(": ", 1)[1] for ln in r.out.splitlines() if ln.startswith("step ")]


def log_lines(vm):
    return [ln for ln in vm.run(f"cat {SFS}/log", check=True).out.splitlines() if ln.strip()]


def new_log_lines(before, after):
    """Lines of the (ring) log added since `before` was read."""
    if before and before[-1] in after:
        return after[len(after) - after[::-1].index(before[-1]):]
    return after


def test_skip_module_loads(vm):
    assert load(vm, f"{T}/lpg_skip.build.ko").rc == 0
    assert vm.run(f"cat {SKIP}", check=True).out.strip() == "0"


def leftover_verdict_then(vm, skip, path, reason):
    """lpg_plain allowed, then EEXIST (the kernel fails it after lpguard's hook: the verdict
    stays); unloaded; then, in the same task with hooks skipped at level @skip, load @path:
    refused at COMING with @reason."""
    mark = vm.dmesg_mark()
    got = steps(vm, f"finit:{T}/lpg_plain.build.ko", f"finit:{T}/lpg_plain.build.ko", "rmmod:lpg_plain",
                f"write:{SKIP}={skip}", f"finit:{path}", f"write:{SKIP}=0")
    assert got == ["ok", "EEXIST", "ok", "ok", "EPERM", "ok"], got
    expect_line(vm.dmesg_since(mark), line_re("module", "refused", "lpg_plain", "-", reason, "-"))
    assert not loaded(vm, "lpg_plain")


def test_load_whose_post_hook_did_not_run_is_refused_despite_a_leftover_verdict(vm):
    """The pre hook ran and cleared the leftover verdict."""
    leftover_verdict_then(vm, 1, f"{T}/lpg_plain.lp.ko", R_NO_VERDICT)


def test_load_whose_hooks_all_did_not_run_is_refused_on_the_leftover_verdict(vm):
    """Pre hook skipped too: the leftover verdict is for other bytes (same name, other symbols)."""
    leftover_verdict_then(vm, 2, f"{T}/samename/lpg_plain.lp.ko", R_IMAGE_DIFFERS)


def test_skipped_hooks_without_any_verdict_are_refused(vm):
    for level, path in ((1, "lpg_plain.build.ko"), (2, "lpg_plain.build.ko"), (1, "lpg_replace_a.lp.ko")):
        got = steps(vm, f"write:{SKIP}={level}", f"init:{T}/{path}", f"write:{SKIP}=0")
        assert got == ["ok", "EPERM", "ok"], (level, path, got)
    assert not loaded(vm, "lpg_plain") and not loaded(vm, "lpg_replace_a")


def test_the_same_loads_pass_when_the_hooks_run(vm):
    """Control: with lpguard's hooks running, the build-key-signed module loads."""
    got = steps(vm, f"finit:{T}/lpg_plain.build.ko", f"finit:{T}/lpg_plain.build.ko", "rmmod:lpg_plain",
                f"finit:{T}/samename/lpg_plain.build.ko", "rmmod:lpg_plain")
    assert got == ["ok", "EEXIST", "ok", "ok", "ok"], got


NAMES = [
    ("name_quote.ko", 'x" reason="signature verifies against .livepatch',
     r"x\x22 reason=\x22signature verifies against .livepatch"),
    ("name_newline.ko", 'e\nlpguard: livepatch allowed obj="e" \\',
     r"e\x0alpguard: livepatch allowed obj=\x22e\x22 \x5c"),
]


def test_module_names_cannot_forge_log_fields_or_records(vm):
    for path, raw, escaped in NAMES:
        sha = sha256(vm, f"{T}/{path}")
        before = log_lines(vm)
        mark = vm.dmesg_mark()
        r = load(vm, f"{T}/{path}")
        assert r.rc == EKEYREJECTED, r
        kernel = lpg.lpguard_lines(vm.dmesg_since(mark))
        want = line_re("livepatch", "refused", escaped, "unsigned", R_UNSIGNED, sha)
        assert len(kernel) == 1 and want.search(kernel[0]), kernel
        new = new_log_lines(before, log_lines(vm))
        assert len(new) == 1, new
        assert re.search(r' livepatch refused obj="%s" signer="unsigned" sha256=%s check_ns=\d+ reason="%s"$'
                         % (re.escape(escaped), sha, re.escape(R_UNSIGNED)), new[0]), new


def test_lp_load_status_shows_the_names_as_they_were(vm):
    """lp-load decodes lpguard's encoding: JSON has the exact names, text cannot be forged."""
    for path, _, _ in NAMES:
        load(vm, f"{T}/{path}")
    st = json.loads(vm.run("lp-load status --json", check=True).out)
    recent = st["lpguard"]["recent_decisions"]
    modules = [d["module"] for d in recent]
    for _, raw, _ in NAMES:
        assert raw in modules, modules
        d = [d for d in recent if d["module"] == raw][-1]
        assert d["verdict"] == "refused" and d["reason"] == R_UNSIGNED, d
    text = vm.run("lp-load status", check=True).out
    assert 'e\\x0alpguard: livepatch allowed obj="e" \\' in text, text
    assert not any(ln.startswith("lpguard: livepatch allowed") for ln in text.splitlines()), text


def test_ordinary_module_signed_through_a_certificate_issued_by_the_livepatch_key_is_refused(vm):
    sha = sha256(vm, f"{T}/lpg_plain.chain.ko")
    mark = vm.dmesg_mark()
    r = load(vm, f"{T}/lpg_plain.chain.ko")
    assert r.rc == EPERM, r
    expect_line(vm.dmesg_since(mark), line_re("module", "refused", "lpg_plain", "not a .livepatch key", R_CHAIN, sha))
    assert not loaded(vm, "lpg_plain")
