#!/usr/bin/python
# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: uninstall
short_description: Stop applying the installed livepatch at boot (lp-load uninstall)
version_added: 1.0.0
description:
  - Runs C(lp-load uninstall --json) on the managed node; it removes the installed record and module from
    C(/var/lib/lp-load) and a pending boot attempt. The running patch stays active until
    M(lpguard.livepatch.disable) or a reboot (C(docs/lp-load.md), install, uninstall, boot).
  - Idempotent. Nothing installed is not a change (lp-load's exit 8 is taken as success).
author:
  - lpguard maintainers
extends_documentation_fragment:
  - lpguard.livepatch.lp_load
attributes:
  check_mode:
    support: full
    description: Reports whether a patch would be uninstalled; runs nothing that changes the host.
seealso:
  - module: lpguard.livepatch.install
  - module: lpguard.livepatch.disable
"""

EXAMPLES = r"""
- name: Next boots run unpatched
  lpguard.livepatch.uninstall:
"""

RETURN = r"""
msg:
  description: One line, what happened.
  returned: always
  type: str
lp_load:
  description: The report of C(lp-load uninstall --json), or null when nothing ran.
  returned: always
  type: dict
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
    module = AnsibleModule(argument_spec=dict(COMMON_ARGS), supports_check_mode=True)
    LpLoad(module).take_off(lambda f: f["installed"] and f["installed"].get("name"), "no patch installed",
                            "uninstall")


if __name__ == "__main__":
    main()
