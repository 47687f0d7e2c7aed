# SPDX-License-Identifier: GPL-2.0
"""KUnit suites built into the image kernel run at boot; their KTAP output is on
the serial console. Every suite must pass, and lpguard's parser suite must be there."""
import glob
import os
import re


def ktap_results(console):
    """[(suite or case, ok, line)] from the KTAP result lines of the console log,
    suites and their (indented) cases alike."""
    results = []
    for line in console.splitlines():
        m = re.match(r"^\s*(?:\[\s*[\d.]+\]\s*)?(ok|not ok) \d+ (\S+)(.*)$", line)
        if m:
            results.append((m.group(2), m.group(1) == "ok", line))
    return results


def test_kunit_suites_pass_at_boot(vm):
    console = vm.console_text()
    assert "KTAP version 1" in console, vm.console_tail()
    results = ktap_results(console)
    ktap = "\n".join(line for line in console.splitlines() if "ok " in line or "# " in line)
    lpguard = [r for r in results if r[0].startswith("lpguard")]
    assert lpguard, "no lpguard KUnit suite ran at boot:\n" + ktap
    failed = [r[2] for r in results if not r[1]]
    assert not failed, "KUnit failures:\n" + "\n".join(failed) + "\n" + ktap
    # The suites report how many cases passed; there must be some.
    assert re.search(r"# lpguard\S*: pass:[1-9]\d* fail:0", console), ktap


def test_every_lpguard_kunit_case_ran_and_passed(vm):
    """Each KUNIT_CASE of kmod/tests/*_kunit.c reports ok (none skipped or missing)."""
    cases = []
    for src in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "kmod", "tests", "*_kunit.c"))):
        with open(src) as f:
            cases += re.findall(r"^\s*KUNIT_CASE\((\w+)\),", f.read(), re.M)
    assert "policy_livepatch_ecdsa_key" in cases and "parse_signers" in cases
    done = {name: ok and "# SKIP" not in line for name, ok, line in ktap_results(vm.console_text())}
    missing = [c for c in cases if not done.get(c)]
    assert not missing, f"lpguard KUnit cases not passed: {missing}"
