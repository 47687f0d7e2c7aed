#!/usr/bin/python
# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: disable
short_description: Turn the active livepatch off (lp-load disable)
version_added: 1.0.0
description:
  - Runs C(lp-load disable --json) on the managed node, which disables the active patch, waits for the unpatch
    transition and removes its module; the kernel then runs unpatched (C(docs/lp-load.md), disable).
  - Idempotent. No active patch is not a change (lp-load's exit 8 is taken as success).
  - With lpguard's lock on, the kernel refuses (exit 4); the task fails with lp-load's message, which says to
    apply a newer cumulative patch instead.
  - The installed patch stays installed; M(lpguard.livepatch.uninstall) stops boot from applying it.
author:
  - lpguard maintainers
extends_documentation_fragment:
  - lpguard.livepatch.lp_load
options:
  timeout:
    description: Seconds lp-load waits for the unpatch transition before re-enabling the patch (C(--timeout)).
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    description: Reports whether a patch would be disabled; runs nothing that changes the host.
seealso:
  - module: lpguard.livepatch.apply
  - module: lpguard.livepatch.uninstall
"""

EXAMPLES = r"""
- name: Run the kernel unpatched
  lpguard.livepatch.disable:
    timeout: 120
"""

RETURN = r"""
msg:
  description: One line, what happened.
  returned: always
  type: str
lp_load:
  description: The report of C(lp-load disable --json), or null when nothing ran.
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
    COMMON_ARGS, LpLoad)


def main():
    spec = dict(COMMON_ARGS)
    spec.update(timeout=dict(type="float", default=60))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    LpLoad(module).take_off(lambda f: f["active"], "no active livepatch, nothing to disable",
                            "disable", "--timeout", module.params["timeout"])


if __name__ == "__main__":
    main()
