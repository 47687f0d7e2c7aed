# SPDX-License-Identifier: GPL-2.0
"""The rollout summary (docs/fleet.md, The summary): per host before, after and
verdict, from what the rollout playbook recorded. The rollout_summary callback
builds it at the end of a run; the filter gives the same from hostvars."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rollout_summary
short_description: Build the lpguard rollout summary
version_added: 1.0.0
description:
  - Builds the summary of C(lpguard.livepatch.rollout) (C(docs/fleet.md), The summary) from the rollout's
    settings and each host's record; hosts without a record are C(untouched).
positional: meta, hosts
options:
  _input:
    description: The per-host records, a dict of host name to C(lpguard_rollout_host).
    type: dict
    required: true
  meta:
    description: The rollout's settings, C(lpguard_rollout_meta).
    type: dict
    required: true
  patch:
    description: The signed patch, C(lpguard_rollout_patch).
    type: dict
"""

EXAMPLES = r"""
- name: Summary from hostvars
  ansible.builtin.debug:
    msg: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'lpguard_rollout_host')))
         | lpguard.livepatch.rollout_summary(lpguard_rollout_meta, lpguard_rollout_patch) }}
"""

RETURN = r"""
_value:
  description: The summary (schema in C(docs/fleet.md)).
  type: dict
"""

OK_VERDICTS = ("applied", "unchanged", "would-apply")


def brief(facts):
    """before/after of a host: the active patch and its image, the installed patch."""
    if not isinstance(facts, dict):
        return None
    inst = facts.get("installed") or {}
    return {"active": facts.get("active"), "sha256": facts.get("active_sha256"),
            "installed": inst.get("name"), "installed_sha256": inst.get("sha256")}


def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def host_entry(host, rec, wave=None):
    if not isinstance(rec, dict):
        return {"host": host, "wave": wave, "verdict": "untouched", "stage": None, "reason": None,
                "exit_code": None, "before": None, "after": None}
    reason = rec.get("reason")
    return {"host": host, "wave": wave, "verdict": str(rec.get("verdict", "failed")).strip(),
            "stage": rec.get("stage") or None, "reason": reason if reason not in ("", "None") else None,
            "exit_code": _int_or_none(rec.get("exit_code")),
            "before": brief(rec.get("before")), "after": brief(rec.get("after"))}


def build_summary(records, meta, patch=None, waves_of=None, error=None):
    """records: host -> record (a dict as the playbook records it, or a
    verdict dict made by the callback: unreachable, failed). meta: the
    rollout's settings. waves_of: host -> wave number (1-based)."""
    meta = meta or {}
    waves_of = waves_of or {}
    hosts = list(meta.get("hosts") or [])
    for h in records:
        if h not in hosts:
            hosts.append(h)
    entries = [host_entry(h, records.get(h), waves_of.get(h)) for h in hosts]
    counts = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    complete = bool(entries) and all(e["verdict"] in OK_VERDICTS for e in entries)
    p = patch or {}
    return {
        "version": 1,
        "result": "complete" if complete else ("not-started" if not any(
            e["verdict"] != "untouched" for e in entries) else "stopped"),
        "check_mode": bool(meta.get("check_mode") in (True, "True", "true")),
        "patch": {"name": p.get("name"), "sha256": p.get("sha256"), "generation": _int_or_none(p.get("generation")),
                  "source": p.get("source")} if p else None,
        "waves": meta.get("waves"),
        "max_fail_percentage": _int_or_none(meta.get("max_fail_percentage")),
        "on_failure": meta.get("on_failure"),
        "error": error,
        "hosts": entries,
        "counts": counts,
    }


def format_summary(summary):
    """The summary as text: one line per host."""
    lines = []
    p = summary.get("patch") or {}
    lines.append("lpguard rollout of %s (SHA-256 %s): %s%s" % (
        p.get("name") or "?", (p.get("sha256") or "?")[:16], summary["result"],
        " (check mode)" if summary.get("check_mode") else ""))

    def show(b):
        if not b:
            return "-"
        return b.get("active") or "none"

    width = max([len(e["host"]) for e in summary["hosts"]] + [4])
    lines.append("%-*s  %-4s  %-20s  %-20s  %s" % (width, "host", "wave", "before", "after", "verdict"))
    for e in summary["hosts"]:
        v = e["verdict"]
        if e.get("reason") and v not in OK_VERDICTS:
            v += ": " + e["reason"]
        lines.append("%-*s  %-4s  %-20s  %-20s  %s" % (width, e["host"], e["wave"] or "-", show(e["before"]),
                                                       show(e["after"]), v))
    lines.append(", ".join("%s %d" % (k, n) for k, n in sorted(summary["counts"].items())))
    if summary.get("error"):
        lines.append("not started: " + summary["error"])
    return "\n".join(lines)


def rollout_summary(records, meta, patch=None):
    return build_summary(records or {}, meta, patch)


class FilterModule:
    def filters(self):
        return {"rollout_summary": rollout_summary}
