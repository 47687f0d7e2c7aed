# SPDX-License-Identifier: GPL-2.0
"""Shared code of the lpguard.livepatch modules: running lp-load with --json,
reading its reports, and the facts every module returns.

lp-load's JSON and exit codes are documented in docs/lp-load.md ("JSON output",
"Exit codes"); nothing here parses its text output.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

# lp-load's exit codes (docs/lp-load.md, Exit codes).
EXIT_OK = 0
EXIT_PRECHECK = 3
EXIT_REFUSED = 4
EXIT_LOCKED = 7
EXIT_NOT_FOUND = 8
EXIT_CLEANUP = 9
EXIT_MARKED_BAD = 13

COMMON_ARGS = dict(
    lp_load=dict(type="str", default="lp-load"),
)


class LpLoad:
    """Runs lp-load on the managed node for one module invocation."""

    def __init__(self, module):
        self.module = module
        self.path = self._find(module.params["lp_load"])

    def _find(self, name):
        if os.sep in name:
            if not os.access(name, os.X_OK):
                self.module.fail_json(msg="lp-load not found: %s is not an executable file (install the lp-load "
                                          "package on this host, or set lp_load to its path)" % name)
            return name
        found = self.module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin", "/usr/local/sbin"])
        if not found:
            self.module.fail_json(msg="lp-load not found: no %s on PATH or in /usr/sbin (install the lp-load "
                                      "package on this host, or set lp_load to its path)" % name)
        return found

    def run(self, *args):
        """Runs `lp-load ARGS --json`; returns (exit code, report dict)."""
        argv = [self.path] + [str(a) for a in args] + ["--json"]
        rc, out, err = self.module.run_command(argv)
        try:
            report = json.loads(out)
        except ValueError:
            report = None
        if not isinstance(report, dict):
            first = (err or out or "").strip().splitlines()
            why = first[-1] if first else "no output"
            self.module.fail_json(msg="lp-load %s printed no JSON report (exit %d): %s (check that lp-load on this "
                                      "host is lpguard's, version with --json)" % (args[0], rc, why),
                                  exit_code=rc, stderr=err, stdout=out)
        return rc, report

    def status(self):
        rc, report = self.run("status")
        if rc != EXIT_OK:
            self.fail(report, rc, "status")
        return report

    def exit_unchanged(self, msg, now, **extra):
        """Ends the task without running an lp-load command that changes anything."""
        self.module.exit_json(changed=False, msg=msg, lp_load=None, ansible_facts={"lpguard_livepatch": now},
                              **extra)

    def exit_done(self, rc, report, after, changed, **extra):
        """Ends the task with the report of the lp-load command it ran."""
        self.module.exit_json(changed=changed, msg=report.get("message"), lp_load=report, exit_code=rc,
                              ansible_facts={"lpguard_livepatch": after, "lpguard_livepatch_report": report},
                              **extra)

    def take_off(self, present, nothing, command, *args):
        """disable and uninstall: runs `lp-load COMMAND ARGS` when PRESENT (the
        patch it acts on, by name) is set; lp-load's "nothing to do" (exit 8)
        is not a failure, and no change."""
        before = facts(self.status())
        name = present(before)
        if name is None:
            self.exit_unchanged(nothing, before)
        if self.module.check_mode:
            self.module.exit_json(changed=True, msg="would %s %s" % (command, name), lp_load=None,
                                  ansible_facts={"lpguard_livepatch": before})
        rc, report = self.run(command, *args)
        after = facts(self.status())
        if rc not in (EXIT_OK, EXIT_NOT_FOUND):
            self.fail(report, rc, command, ansible_facts={"lpguard_livepatch": after})
        self.exit_done(rc, report, after, rc == EXIT_OK)

    def fail(self, report, rc, command, **extra):
        """Fails the task with lp-load's own one-line message and exit code."""
        message = report.get("message") or "no message"
        result = report.get("result")
        self.module.fail_json(
            msg="lp-load %s failed (exit %d%s): %s" % (command, rc, ", " + result if result else "", message),
            exit_code=rc, result=result, lp_load=report, **extra)


def file_sha256(module, path):
    """SHA-256 of a file on the managed node, or a failed task naming it."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                h.update(chunk)
        return h.hexdigest()
    except (IOError, OSError) as e:
        module.fail_json(msg="cannot read the patch %s on this host: %s (copy the signed patch there first, "
                             "e.g. with ansible.builtin.copy)" % (path, e.strerror or e))


def check_expected_sha256(module, path, actual):
    want = module.params.get("sha256")
    if want and want.lower() != actual:
        module.fail_json(msg="%s on this host has SHA-256 %s, not %s as expected: the copy is not the signed patch "
                             "(copy it again)" % (path, actual, want.lower()), sha256=actual)


def active_image(status):
    """(sha256, source) of the active patch's image, from lp-load status --json.

    lpguard logs the SHA-256 of every signed image it allows; the latest allowed
    decision with a digest for the active patch's name (status'
    lpguard.recent_decisions) names its image. Without such a decision (the log
    keeps the last few only), the installed patch's record is used when it is the
    active patch (lp-load boot applied it). Else the image is unknown: (None, None).
    """
    name = status.get("active")
    if not name:
        return None, None
    lpguard = status.get("lpguard") or {}
    for d in reversed(lpguard.get("recent_decisions") or []):
        if d.get("module") == name and d.get("verdict") == "allowed" and d.get("sha256"):
            return d["sha256"], "lpguard-log"
    inst = status.get("installed") or {}
    if inst.get("name") == name and inst.get("sha256") and not inst.get("problem"):
        return inst["sha256"], "installed"
    return None, None


def _int_or_none(v):
    try:
        return int(str(v).split()[0])
    except (TypeError, ValueError, IndexError):
        return None


def facts(status):
    """The lpguard_livepatch facts: what the rollout and users look at."""
    sha, source = active_image(status)
    lpguard = status.get("lpguard")
    lg = None
    if lpguard is not None:
        st = lpguard.get("status") or {}
        lg = {
            "form": st.get("form"),
            "enforcing": st.get("enforcing"),
            "lock": st.get("lock"),
            "keyring": st.get("keyring"),
            "generation": _int_or_none(st.get("generation")),
            "active": st.get("active"),
            "status": st,
        }
    inst = status.get("installed")
    return {
        "kernel_release": status.get("kernel_release"),
        "active": status.get("active"),
        "active_sha256": sha,
        "active_sha256_source": source,
        "generation": lg["generation"] if lg else None,
        "lpguard": lg,
        "installed": inst,
        "transition": status.get("transition"),
        "leftovers": status.get("leftovers") or [],
        "boot_apply": status.get("boot_apply"),
        "status": status,
    }


def brief(f):
    """The short form of facts() the rollout summary records as before/after."""
    return {
        "active": f.get("active"),
        "sha256": f.get("active_sha256"),
        "installed": (f.get("installed") or {}).get("name"),
        "installed_sha256": (f.get("installed") or {}).get("sha256"),
    }
