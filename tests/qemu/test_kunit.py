# SPDX-License-Identifier: GPL-2.0
"""KUnit suites built into the image kernel run at boot; their KTAP output is on
the serial console. Every suite must pass, and lpguard's parser suite must be there."""
import re


def ktap_results(console):
    """[(suite, ok, line)] from the top-level KTAP result lines of the console log."""
    results = []
    for line in console.splitlines():
        m = re.match(r"^(?:\[\s*[\d.]+\]\s*)?(ok|not ok) \d+ (\S+)(.*)$", line)
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
