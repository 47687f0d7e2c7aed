#!/usr/bin/python
# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: status
short_description: Report a host's livepatch state from lp-load status
version_added: 1.0.0
description:
  - Runs C(lp-load status --json) on the managed node and sets the C(lpguard_livepatch) facts from it,
    the active patch and the SHA-256 of its signed image, lpguard's state and generation, the installed patch.
  - Changes nothing.
author:
  - lpguard maintainers
extends_documentation_fragment:
  - lpguard.livepatch.lp_load
attributes:
  check_mode:
    support: full
    description: Runs the same way in check mode.
"""

EXAMPLES = r"""
- name: Read the livepatch state
  lpguard.livepatch.status:
  register: lp

- name: Show the active patch
  ansible.builtin.debug:
    msg: "{{ ansible_facts.lpguard_livepatch.active }} ({{ ansible_facts.lpguard_livepatch.active_sha256 }})"
"""

RETURN = r"""
lp_load:
  description: The report of C(lp-load status --json) (C(docs/lp-load.md), JSON output, status).
  returned: always
  type: dict
ansible_facts:
  description: What C(lp-load status --json) reports, after the module ran.
  returned: success
  type: complex
  contains:
    lpguard_livepatch:
      description: The livepatch state of the host.
      type: complex
      contains:
        kernel_release:
          description: The running kernel's release.
          type: str
        active:
          description: The active livepatch (enabled, not in transition), or null.
          type: str
        active_sha256:
          description:
            - SHA-256 of the active patch's signed image, or null when lp-load's status does not tell.
            - From lpguard's latest allowed decision for the active patch, else from the installed patch's
              record when the installed patch is the active one.
          type: str
        active_sha256_source:
          description: Where active_sha256 came from, C(lpguard-log), C(installed) or null.
          type: str
        generation:
          description: The highest lpguard generation enabled since boot (lpguard's status), or null.
          type: int
        lpguard:
          description: lpguard's state (form, enforcing, lock, keyring, generation, active, all status fields),
            null when lpguard's securityfs is absent.
          type: dict
        installed:
          description: The patch C(lp-load install) keeps for boot, as C(lp-load status --json) reports it, or null.
          type: dict
        transition:
          description: A transition in progress, or null.
          type: dict
        leftovers:
          description: Loaded livepatch modules no longer registered.
          type: list
          elements: str
        boot_apply:
          description: Whether lp-load boot applies the installed patch (no C(lp_load.enable=0)).
          type: bool
        status:
          description: The whole C(lp-load status --json) report.
          type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lpguard.livepatch.plugins.module_utils.lp_load import COMMON_ARGS, LpLoad, facts


def main():
    module = AnsibleModule(argument_spec=dict(COMMON_ARGS), supports_check_mode=True)
    lp = LpLoad(module)
    status = lp.status()
    module.exit_json(changed=False, lp_load=status, ansible_facts={"lpguard_livepatch": facts(status)})


if __name__ == "__main__":
    main()
