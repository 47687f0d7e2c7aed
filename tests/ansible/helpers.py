# SPDX-License-Identifier: GPL-2.0
"""Running the lpguard.livepatch collection from the tests: the collection is
linked into a private collections path, modules and playbooks run through the
real ansible / ansible-playbook programs."""
import json
import os
import re
import subprocess

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTION = os.path.join(TOP, "ansible")
PLAYBOOK = os.path.join(COLLECTION, "playbooks", "rollout.yml")
FAKE_LP_LOAD = os.path.join(TOP, "tests", "ansible", "fake-lp-load")
CALLBACK = "lpguard.livepatch.rollout_summary"


def collections_path(tmp):
    """A collections path holding ansible_collections/lpguard/livepatch -> ansible/."""
    root = os.path.join(tmp, "collections")
    ns = os.path.join(root, "ansible_collections", "lpguard")
    os.makedirs(ns, exist_ok=True)
    link = os.path.join(ns, "livepatch")
    if not os.path.islink(link):
        os.symlink(COLLECTION, link)
    return root


def ansible_env(colls, **extra):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": colls,
        "ANSIBLE_CALLBACKS_ENABLED": CALLBACK,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": os.path.join(colls, "..", "ansible-tmp"),
    })
    env.update(extra)
    return env


RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(stdout):
    """host -> {"ok", "changed", "unreachable", "failed"} from PLAY RECAP."""
    return {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                         "failed": int(m.group(5))} for m in RECAP.finditer(stdout)}


class Playbook:
    """One ansible-playbook run: returncode, stdout, recap, summary (the JSON file)."""

    def __init__(self, proc, summary_file):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.recap = recap(proc.stdout)
        self.summary = None
        if os.path.exists(summary_file):
            with open(summary_file) as f:
                self.summary = json.load(f)

    def host(self, name):
        for h in self.summary["hosts"]:
            if h["host"] == name:
                return h
        raise KeyError(f"{name} not in the summary: {self.summary}")

    def __repr__(self):
        return f"rc={self.rc}\n{self.out[-6000:]}"


def run_playbook(colls, inventory, extra_vars, summary_file, check=False, env=None, timeout=600,
                 playbook=PLAYBOOK, args=()):
    if os.path.exists(summary_file):
        os.unlink(summary_file)
    ev = dict(extra_vars)
    ev["lpguard_summary_file"] = summary_file
    argv = ["ansible-playbook", "-i", inventory, playbook, "-e", json.dumps(ev), *args]
    if check:
        argv.append("--check")
    p = subprocess.run(argv, capture_output=True, text=True, env=env or ansible_env(colls), timeout=timeout,
                       cwd=os.path.dirname(summary_file))
    return Playbook(p, summary_file)
