# SPDX-License-Identifier: GPL-2.0
"""cvm-cli preflight end to end: the patch kit of the image kernel boots under
QEMU (cvm-cli starts it itself: no VM fixture), a good patch passes, a patch
that WARNs on purpose fails with the WARN, and `cvm-cli livepatch
--preflight` stops on that failure before any ssh command runs."""
import json
import os
import stat
import subprocess

import conftest

CVM_CLI = os.path.join(conftest.BUILD, "cmake", "bin", "cvm-cli")
MODS = os.path.join(conftest.BUILD, "test", conftest.KVER, "payload", "opt", "lpguard-tests")
KEYS = os.path.join(conftest.BUILD, "test", "keys")
SMOKE = "cat /proc/cmdline"
EXIT_PREFLIGHT = 22


def cvm_cli(*args, env=None, timeout=1200):
    return subprocess.run([CVM_CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_a_good_patch_passes_and_reports_what_it_patched():
    kit = conftest.patch_kit()
    p = cvm_cli("preflight", os.path.join(MODS, "lpg_replace_a.lp.ko"), "--kit", kit, "--smoke", SMOKE, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["ok"] is True and r["exit_code"] == 0
    assert r["guest_release"] == r["kernel_release"]
    assert r["accel"] in ("kvm", "tcg")
    assert r["boot_s"] > 0
    assert r["transition"]["completed"] is True
    assert [f["function"] for f in r["patched"]] == ["cmdline_proc_show"]
    assert r["patched"][0]["object"] == "vmlinux"
    assert r["smoke"] == {"command": SMOKE, "exit": 0, "output": "lpguard test: replace A\n"}
    assert r["findings"] == []
    assert r["taint"]["unexpected"] == "" and "K" in r["taint"]["flags"]
    assert r["log_dir"] is None
    assert r["message"].startswith("preflight of lpg_replace_a passed: transition ")
    # Progress with the elapsed time on stderr.
    assert "cvm-cli: preflight: guest booted in " in p.stderr, p.stderr


def test_a_patch_that_warns_fails_preflight():
    kit = conftest.patch_kit()
    p = cvm_cli("preflight", os.path.join(MODS, "lpg_warn.lp.ko"), "--kit", kit, "--smoke", SMOKE)
    assert p.returncode == EXIT_PREFLIGHT, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("cvm-cli: preflight of lpg_warn failed: the kernel WARNed while the patch was applied "
                           "or the smoke command ran: \"WARNING: CPU: "), p.stderr
    assert "lpg_warn" in last and "fix the patch" in last
    log_dir = last.split("the trial's serial console is ")[1].rstrip(")")
    assert "lpguard test: lpg_warn warns on purpose" in open(log_dir, errors="replace").read()
    subprocess.run(["rm", "-rf", os.path.dirname(log_dir)], check=True)


def test_livepatch_with_preflight_stops_before_any_ssh_command(tmp_path):
    """The WARN patch never reaches the VM: ssh and scp stand-ins record every call."""
    kit = conftest.patch_kit()
    calls = tmp_path / "calls"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("ssh", "scp"):
        f = bindir / tool
        f.write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {calls}\nexit 255\n")
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    p = cvm_cli("livepatch", "ssh", "root@127.0.0.1:2222", os.path.join(MODS, "lpg_warn.ko"),
                "--key", os.path.join(KEYS, "livepatch.key"), "--cert", os.path.join(KEYS, "livepatch.crt"),
                "--preflight", kit, "--smoke", SMOKE, "--json", env=env)
    assert p.returncode == EXIT_PREFLIGHT, p.stderr
    r = json.loads(p.stdout)
    assert r["exit_code"] == EXIT_PREFLIGHT
    assert r["preflight"]["findings"][0]["kind"] == "warn"
    assert "commands" not in r and "lp_load" not in r
    assert "the kernel WARNed" in r["message"]
    assert not calls.exists(), calls.read_text()
    subprocess.run(["rm", "-rf", r["preflight"]["log_dir"]], check=True)
