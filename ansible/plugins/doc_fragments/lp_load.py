# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The options and requirements every lpguard.livepatch module shares.
    DOCUMENTATION = r"""
options:
  lp_load:
    description:
      - The lp-load program on the managed node, a name looked up on C(PATH) and in C(/usr/sbin), or a path.
      - lp-load runs as root; use C(become) when the connection user is not root.
    type: str
    default: lp-load
requirements:
  - lp-load (Debian package C(lp-load)) on the managed node, run as root
  - Python 3 on the managed node
notes:
  - Every lp-load call is C(lp-load COMMAND --json); the report is returned as C(lp_load)
    (schemas in C(docs/lp-load.md), JSON output).
  - A failed lp-load call fails the task with lp-load's one-line message and its exit code in C(exit_code)
    (C(docs/lp-load.md), Exit codes).
  - The facts C(lpguard_livepatch) are set from C(lp-load status --json) after the module ran.
"""
