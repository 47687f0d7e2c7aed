#!/usr/bin/python
# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: install
short_description: Keep a signed livepatch for boot with lp-load install
version_added: 1.0.0
description:
  - Runs C(lp-load install SRC --json) on the managed node, the pre-checks, then the module is kept in
    C(/var/lib/lp-load) and C(lp-load boot) applies it at every boot (C(docs/lp-load.md), install).
  - Idempotent. When this signed image is installed already (its SHA-256 is the installed record's, the file
    matches its record and is not marked bad) and, with O(now), active, nothing runs.
  - O(now) also applies it (C(lp-load install --now)).
  - lp-load refuses a patch of a lower generation than the installed one (exit 4), and keeps a patch marked bad
    marked (exit 13) unless O(clear_mark); both fail the task with lp-load's message.
  - In check mode it runs C(lp-load verify SRC --json) and reports whether it would install.
author:
  - lpguard maintainers
extends_documentation_fragment:
  - lpguard.livepatch.lp_load
options:
  src:
    description: The signed livepatch module (C(.ko)) on the managed node.
    type: path
    required: true
  sha256:
    description: The SHA-256 the file must have; the task fails before lp-load runs when it differs.
    type: str
  now:
    description: Apply it too (C(--now)).
    type: bool
    default: false
  clear_mark:
    description: Clear a bad mark of this same file (C(--clear-mark)); only when the mark is known to be wrong.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Runs C(lp-load verify) and reports what would change.
seealso:
  - module: lpguard.livepatch.uninstall
  - module: lpguard.livepatch.apply
"""

EXAMPLES = r"""
- name: Keep the patch across reboots, and apply it now
  lpguard.livepatch.install:
    src: /var/tmp/lp_cve_fix.ko
    now: true
"""

RETURN = r"""
msg:
  description: One line, what happened.
  returned: always
  type: str
sha256:
  description: SHA-256 of O(src).
  returned: when O(src) was read
  type: str
lp_load:
  description:
    - The report of C(lp-load install --json) (with O(now), the apply report of C(install --now)),
      C(lp-load verify --json) in check mode, or null when nothing ran.
  returned: always
  type: dict
exit_code:
  description: lp-load's exit code.
  returned: when lp-load ran
  type: int
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
    COMMON_ARGS, EXIT_OK, LpLoad, check_expected_sha256, facts, file_sha256)


def main():
    spec = dict(COMMON_ARGS)
    spec.update(
        src=dict(type="path", required=True),
        sha256=dict(type="str"),
        now=dict(type="bool", default=False),
        clear_mark=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    src = module.params["src"]
    lp = LpLoad(module)
    sha = file_sha256(module, src)
    check_expected_sha256(module, src, sha)
    before = facts(lp.status())
    inst = before["installed"] or {}
    installed = inst.get("sha256") == sha and not inst.get("problem") and not inst.get("marked_bad")
    if installed and (not module.params["now"] or before["active_sha256"] == sha):
        lp.exit_unchanged("%s is installed already (this signed image, SHA-256 %s)%s" % (
            inst.get("name"), sha, " and active" if module.params["now"] else ""), before, sha256=sha)

    if module.check_mode:
        rc, report = lp.run("verify", src)
        if rc != EXIT_OK or not report.get("ok"):
            lp.fail(report, rc, "verify", sha256=sha)
        module.exit_json(changed=True, msg="would install %s%s (check mode: lp-load verify passed)" % (
            report.get("name"), " and apply it" if module.params["now"] else ""), sha256=sha, lp_load=report,
            exit_code=rc, ansible_facts={"lpguard_livepatch": before, "lpguard_livepatch_report": report})

    args = ["install", src]
    if module.params["now"]:
        args.append("--now")
    if module.params["clear_mark"]:
        args.append("--clear-mark")
    rc, report = lp.run(*args)
    after = facts(lp.status())
    if rc != EXIT_OK:
        lp.fail(report, rc, "install", sha256=sha, changed=after["installed"] != before["installed"],
                ansible_facts={"lpguard_livepatch": after})
    lp.exit_done(rc, report, after, True, sha256=sha)


if __name__ == "__main__":
    main()
