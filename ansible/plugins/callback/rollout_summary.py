# SPDX-License-Identifier: GPL-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rollout_summary
type: aggregate
short_description: The summary of an lpguard.livepatch.rollout run, on screen and as JSON
version_added: 1.0.0
description:
  - At the end of C(lpguard.livepatch.rollout), even one stopped by C(max_fail_percentage), prints one line per
    host (before, after, verdict and, for a failure, lp-load's or the check's reason) and writes the summary as
    JSON to C(lpguard_summary_file) on the control node (default C(lpguard-rollout-summary.json) in the current
    directory; schema in C(docs/fleet.md)).
  - Hosts the rollout never reached (waves after a stop) are C(untouched); unreachable hosts are C(unreachable)
    with Ansible's message.
  - Does nothing in runs of other playbooks.
requirements:
  - enabled with C(ANSIBLE_CALLBACKS_ENABLED=lpguard.livepatch.rollout_summary) or C(callbacks_enabled) in ansible.cfg
"""

import json
import os

from ansible.plugins.callback import CallbackBase
from ansible_collections.lpguard.livepatch.plugins.filter.rollout import build_summary, format_summary

SIGN_PLAY = "Sign the livepatch once, on the control node"
ROLLOUT_PLAY = "Roll the livepatch out, a canary first, then in waves"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lpguard.livepatch.rollout_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.meta = None
        self.patch = None
        self.records = {}
        self.failures = {}
        self.waves_of = {}
        self.wave = 0
        self.in_rollout = False
        self.in_sign = False
        self.setup_error = None
        self.progress = {}

    def v2_playbook_on_play_start(self, play):
        # A play with serial starts once per batch (wave).
        self.in_rollout = play.get_name() == ROLLOUT_PLAY
        self.in_sign = play.get_name() == SIGN_PLAY
        if self.in_rollout:
            self.wave += 1

    def _host(self, result):
        host = result._host.get_name()
        if self.in_rollout and host not in self.waves_of:
            self.waves_of[host] = self.wave
        return host

    def v2_runner_on_ok(self, result):
        facts = result._result.get("ansible_facts") or {}
        host = self._host(result)
        if self.in_rollout:
            # What a host stopped in the middle of its wave (another host's failure) got to.
            p = self.progress.setdefault(host, {"verdict": "stopped", "before": None, "after": None,
                                                "exit_code": None})
            if "lpguard_livepatch" in facts:
                if p["before"] is None:
                    p["before"] = facts["lpguard_livepatch"]
                p["after"] = facts["lpguard_livepatch"]
            p["stage"] = result._task.get_name()
            p["reason"] = "the rollout stopped on another host's failure after this host's task '%s'" % (
                result._task.get_name())
        if "lpguard_rollout_meta" in facts:
            self.meta = facts["lpguard_rollout_meta"]
        if "lpguard_rollout_patch" in facts:
            self.patch = facts["lpguard_rollout_patch"]
        if "lpguard_rollout_host" in facts:
            self.records[host] = facts["lpguard_rollout_host"]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        if self.in_sign:
            # Before any host is touched (signing, the variables): the rollout did not start.
            self.setup_error = "%s: %s" % (result._task.get_name(), _one_line(result._result.get("msg", "failed")))
            return
        if not self.in_rollout:
            return
        host = self._host(result)
        self.failures.setdefault(host, {"verdict": "failed", "stage": result._task.get_name(),
                                        "reason": _one_line(result._result.get("msg", "failed")),
                                        "exit_code": result._result.get("exit_code", result._result.get("rc"))})

    def v2_runner_on_unreachable(self, result):
        host = self._host(result)
        self.failures.setdefault(host, {"verdict": "unreachable", "stage": result._task.get_name(),
                                        "reason": _one_line(result._result.get("msg", "unreachable")),
                                        "exit_code": None})

    def v2_playbook_on_stats(self, stats):
        if self.meta is None:
            return
        records = dict(self.progress)
        records.update(self.failures)
        records.update(self.records)   # the playbook's own record says more than the failure
        summary = build_summary(records, self.meta, self.patch, self.waves_of, self.setup_error)
        path = self.meta.get("summary_file") or "lpguard-rollout-summary.json"
        self._display.banner("LPGUARD ROLLOUT SUMMARY")
        self._display.display(format_summary(summary))
        try:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(summary, f, indent=2, sort_keys=True)
                f.write("\n")
            os.rename(tmp, path)
            self._display.display("summary written to %s" % path)
        except OSError as e:
            self._display.error("cannot write the rollout summary to %s: %s (set lpguard_summary_file to a "
                                "writable path)" % (path, e.strerror or e))


def _one_line(msg):
    text = str(msg).strip().splitlines()
    return " ".join(t.strip() for t in text) if text else ""
