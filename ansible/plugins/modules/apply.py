#!/usr/bin/python
# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: apply
short_description: Apply a signed livepatch with lp-load, once
version_added: 1.0.0
description:
  - Applies the signed livepatch O(src) on the managed node with C(lp-load apply SRC --json), which pre-checks it,
    inserts it, waits out the transition and removes what it replaced (C(docs/lp-load.md), apply).
  - Idempotent. When the active patch is this signed image (its SHA-256 is the active patch's, as
    C(lp-load status --json) reports it), nothing runs and the task is not changed.
  - In check mode it runs C(lp-load verify SRC --json) instead, and reports whether the patch would be applied
    (changed) and what would replace what; a patch that fails a pre-check fails the task as the apply would.
  - A refusal (a pre-check, the kernel, lpguard, a timed out and reverted transition) fails the task with
    lp-load's one-line message and exit code; the kernel is left as lp-load leaves it (as before, for every
    refusal and revert).
  - This applies to the running kernel only; M(lpguard.livepatch.install) keeps a patch for the next boots.
author:
  - lpguard maintainers
extends_documentation_fragment:
  - lpguard.livepatch.lp_load
options:
  src:
    description:
      - The signed livepatch module (C(.ko)) on the managed node (C(cvm-cli sign) signs it; copy it there first).
    type: path
    required: true
  sha256:
    description:
      - The SHA-256 the file must have (of the whole signed file, as C(cvm-cli inspect) shows it). The task fails
        before lp-load runs when the file is something else, such as a corrupted copy.
    type: str
  timeout:
    description: Seconds lp-load waits for the transition before reverting it (C(--timeout)).
    type: float
    default: 60
  revert_timeout:
    description: Seconds lp-load waits for a revert (C(--revert-timeout)).
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    description: Runs C(lp-load verify) and reports what would change.
seealso:
  - module: lpguard.livepatch.status
  - module: lpguard.livepatch.install
"""

EXAMPLES = r"""
- name: Copy the signed patch
  ansible.builtin.copy:
    src: build/lp_cve_fix.signed.ko
    dest: /var/tmp/lp_cve_fix.ko
    mode: "0600"

- name: Apply it
  lpguard.livepatch.apply:
    src: /var/tmp/lp_cve_fix.ko
    sha256: "{{ signed_sha256 }}"
    timeout: 120
  register: applied

- name: What it replaced
  ansible.builtin.debug:
    var: applied.lp_load.replaced
"""

RETURN = r"""
msg:
  description: One line, what happened (lp-load's message when it ran).
  returned: always
  type: str
  sample: lp_cve_fix is active (transition 4.2 ms, replaced lp_old)
sha256:
  description: SHA-256 of O(src).
  returned: when O(src) was read
  type: str
before:
  description: The active patch before, C({active, sha256, installed, installed_sha256}).
  returned: when lp-load status ran
  type: dict
lp_load:
  description:
    - The report of C(lp-load apply --json) (C(docs/lp-load.md), JSON output, apply), of C(lp-load verify --json)
      in check mode, or null when nothing ran (the image already active).
  returned: always
  type: dict
exit_code:
  description: lp-load's exit code (C(docs/lp-load.md), Exit codes).
  returned: when lp-load apply or verify ran
  type: int
result:
  description: lp-load's C(result), such as C(applied), C(refused), C(precheck-failed), C(reverted).
  returned: when lp-load apply ran
  type: str
ansible_facts:
  description:
    - C(lpguard_livepatch), the facts after the module ran, as M(lpguard.livepatch.status) returns them.
    - C(lpguard_livepatch_report), the JSON report of the lp-load command it ran (the same as RV(lp_load)),
      when one ran.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lpguard.livepatch.plugins.module_utils.lp_load import (
    COMMON_ARGS, EXIT_OK, LpLoad, brief, check_expected_sha256, facts, file_sha256)


def main():
    spec = dict(COMMON_ARGS)
    spec.update(
        src=dict(type="path", required=True),
        sha256=dict(type="str"),
        timeout=dict(type="float", default=60),
        revert_timeout=dict(type="float", default=60),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    src = module.params["src"]
    lp = LpLoad(module)

    sha = file_sha256(module, src)
    check_expected_sha256(module, src, sha)
    before_facts = facts(lp.status())
    before = brief(before_facts)
    if before_facts["active_sha256"] == sha:
        lp.exit_unchanged("%s is already active (this signed image, SHA-256 %s)" % (before_facts["active"], sha),
                          before_facts, sha256=sha, before=before)

    if module.check_mode:
        rc, report = lp.run("verify", src)
        if rc != EXIT_OK or not report.get("ok"):
            lp.fail(report, rc, "verify", sha256=sha, before=before)
        replaces = (" replacing %s" % before["active"]) if before["active"] else ""
        module.exit_json(changed=True, msg="would apply %s%s (check mode: lp-load verify passed)" % (
            report.get("name"), replaces), sha256=sha, before=before, lp_load=report, exit_code=rc,
            ansible_facts={"lpguard_livepatch": before_facts, "lpguard_livepatch_report": report})

    rc, report = lp.run("apply", src, "--timeout", module.params["timeout"],
                        "--revert-timeout", module.params["revert_timeout"])
    after = facts(lp.status())
    if rc != EXIT_OK:
        lp.fail(report, rc, "apply", sha256=sha, before=before, changed=after["active"] != before["active"],
                ansible_facts={"lpguard_livepatch": after})
    warnings = []
    if report.get("marked_bad"):
        warnings.append("lp-load marked %s bad: %s" % (report["patch"]["name"], report["marked_bad"]["reason"]))
    for w in warnings:
        module.warn(w)
    lp.exit_done(rc, report, after, True, sha256=sha, before=before, result=report.get("result"))


if __name__ == "__main__":
    main()
