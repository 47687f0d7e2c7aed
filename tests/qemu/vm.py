# SPDX-License-Identifier: GPL-2.0
"""QEMU test guest: boot, run commands over ssh, copy files, read logs, stop.

    with VM(kernel=..., initrd=..., ssh_dir=...) as vm:
        r = vm.run("cat /proc/cmdline")
        assert r.rc == 0, r

Every VM is powered off and its QEMU process killed when the context ends,
when the interpreter exits, and on any failure to boot.
"""
import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

_LIVE = set()


def _kill_all():
    for vm in list(_LIVE):
        vm._kill()


atexit.register(_kill_all)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, lambda *_: (_kill_all(), os._exit(1)))


class GuestError(RuntimeError):
    pass


@dataclass
class Result:
    rc: int
    out: str
    err: str

    def __str__(self):
        return f"rc={self.rc}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe_accel(kernel, initrd, cache):
    """'kvm' only if a guest really boots with it here, else 'tcg'. Cached."""
    if os.path.exists(cache):
        return open(cache).read().strip()
    accel = "tcg"
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "console.log")
            # QEMU creates the file only once it is running; read an empty one until then.
            open(log, "w").close()
            p = subprocess.Popen(
                ["qemu-system-x86_64", "-accel", "kvm", "-m", "256M", "-kernel", kernel, "-initrd", initrd,
                 "-append", "console=ttyS0 panic=-1", "-display", "none", "-monitor", "none",
                 "-serial", f"file:{log}", "-no-reboot", "-nic", "none"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 15
            while time.time() < deadline and p.poll() is None:
                if "guest-init: ready" in open(log, errors="replace").read():
                    accel = "kvm"
                    break
                time.sleep(0.5)
            p.kill()
            p.wait()
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        f.write(accel + "\n")
    return accel


class VM:
    def __init__(self, kernel, initrd, ssh_dir, append="", disk=None, mem="512M", accel="tcg",
                 boot_timeout=120, workdir=None, name="guest", tpm=True, root_image=None):
        """root_image: boot this disk image (the Debian guest) as the root file
        system instead of the initramfs; the VM writes to a copy of it in its
        work dir, which survives reboot()."""
        self.kernel, self.initrd, self.ssh_dir = kernel, initrd, ssh_dir
        self.append, self.disk, self.mem, self.accel = append, disk, mem, accel
        self.boot_timeout = boot_timeout
        self.name = name
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"lpguard-{name}-")
        os.makedirs(self.workdir, exist_ok=True)
        self.console = os.path.join(self.workdir, "console.log")
        self.port = None
        self.proc = None
        self._ctl = os.path.join(self.workdir, "ssh-ctl")
        # A TPM 2.0 (swtpm) whose state lives in the work dir: it survives
        # reboot() and a new VM on the same work dir.
        self.tpm = tpm
        self.tpm_state = os.path.join(self.workdir, "tpm")
        self._tpm_sock = os.path.join(self.workdir, "swtpm.sock")
        self.swtpm = None
        self.root = None
        if root_image:
            self.root = os.path.join(self.workdir, "root.img")
            if not os.path.exists(self.root):
                subprocess.run(["cp", "--sparse=always", root_image, self.root], check=True)

    # ---- lifecycle -------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _start_tpm(self):
        if not shutil.which("swtpm"):
            raise GuestError("swtpm not found: run 'make deps' (Debian package swtpm)")
        os.makedirs(self.tpm_state, exist_ok=True)
        if os.path.exists(self._tpm_sock):
            os.unlink(self._tpm_sock)
        self.swtpm = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.tpm_state}",
             "--ctrl", f"type=unixio,path={self._tpm_sock}",
             "--log", f"file={os.path.join(self.workdir, 'swtpm.log')},level=1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while not os.path.exists(self._tpm_sock):
            if self.swtpm.poll() is not None or time.time() > deadline:
                raise GuestError(f"swtpm did not start; see {self.workdir}/swtpm.log")
            time.sleep(0.05)
        return ["-chardev", f"socket,id=chrtpm,path={self._tpm_sock}",
                "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"]

    def _stop_tpm(self):
        if self.swtpm is not None:
            if self.swtpm.poll() is None:
                try:
                    os.killpg(self.swtpm.pid, signal.SIGTERM)
                    self.swtpm.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(self.swtpm.pid, signal.SIGKILL)
                    self.swtpm.wait()
            self.swtpm = None

    def start(self):
        self.port = _free_port()
        open(self.console, "w").close()
        boot = ["-initrd", self.initrd] if not self.root else \
            ["-drive", f"file={self.root},format=raw,if=virtio"]
        root = "root=/dev/vda rw " if self.root else ""
        cmd = ["qemu-system-x86_64", "-accel", self.accel, "-cpu", "max", "-smp", "2", "-m", self.mem,
               "-kernel", self.kernel, *boot,
               "-append", f"console=ttyS0 panic=-1 {root}{self.append}".strip(),
               "-display", "none", "-monitor", "none", "-serial", f"file:{self.console}",
               "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
               "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci"]
        if self.disk:
            cmd += ["-drive", f"file={self.disk},format=raw,if=virtio"]
        if self.tpm:
            _LIVE.add(self)
            cmd += self._start_tpm()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(
            os.path.join(self.workdir, "qemu.stderr"), "w"), start_new_session=True)
        _LIVE.add(self)
        try:
            self._wait_ready(boots=1)
        except Exception:
            self._kill()
            raise

    def _boots(self):
        # The busybox guest's init says when it is ready; under systemd, count
        # kernel banners (one per boot) and let ssh decide.
        if self.root:
            return self.console_text().count("Linux version ")
        return self.console_text().count("guest-init: ready")

    def _wait_ready(self, boots):
        deadline = time.time() + self.boot_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited ({self.proc.returncode}) before the guest was ready"
                                 f"\n{self.console_tail()}")
            if self._boots() >= boots:
                try:
                    if self._ssh(["true"], timeout=10, check_master=False).returncode == 0:
                        return
                except subprocess.TimeoutExpired:
                    pass    # sshd not up yet (the Debian guest: QEMU accepts, nobody answers)
            time.sleep(0.3)
        raise GuestError(f"guest not reachable over ssh after {self.boot_timeout}s\n{self.console_tail()}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self._ssh(["poweroff", "-f"], timeout=5)
            except Exception:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._stop_tpm()
        subprocess.run(["ssh", "-o", f"ControlPath={self._ctl}", "-O", "exit", "x"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _LIVE.discard(self)

    def reboot(self):
        """A real guest reboot (same QEMU process, disk kept)."""
        boots = self._boots()
        # Detached, so the ssh session ends before the guest goes down.
        try:
            self._ssh(["(sleep 0.5; reboot -f) </dev/null >/dev/null 2>&1 &"], timeout=10)
        except subprocess.TimeoutExpired:
            pass
        subprocess.run(["ssh", "-o", f"ControlPath={self._ctl}", "-O", "exit", "x"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready(boots=boots + 1)

    # ---- guest access ----------------------------------------------------
    def ssh_options(self):
        return ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                "-i", os.path.join(self.ssh_dir, "id_ed25519")]

    def ssh_target(self):
        return f"root@127.0.0.1:{self.port}"

    def _ssh(self, argv, timeout, check_master=True, input=None):
        opts = self.ssh_options() + ["-o", "ControlMaster=auto", "-o", f"ControlPath={self._ctl}",
                                     "-o", "ControlPersist=300", "-p", str(self.port)]
        return subprocess.run(["ssh"] + opts + ["root@127.0.0.1", "--"] + argv, capture_output=True,
                              text=True, errors="replace", timeout=timeout, input=input)

    def run(self, cmd, timeout=60, check=False):
        """Run a shell command in the guest as root; returns Result(rc, out, err)."""
        try:
            p = self._ssh([cmd], timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestError(f"guest command timed out after {timeout}s: {cmd}\n{self.console_tail()}")
        r = Result(p.returncode, p.stdout, p.stderr)
        if r.rc == 255 and self.proc.poll() is not None:
            raise GuestError(f"guest died during: {cmd}\n{self.console_tail()}")
        if check and r.rc != 0:
            raise GuestError(f"guest command failed: {cmd}\n{r}\n{self.console_tail()}")
        return r

    def copy_in(self, local, remote):
        with open(local, "rb") as f:
            data = f.read()
        p = subprocess.run(["ssh"] + self.ssh_options() + ["-o", "ControlMaster=auto",
                           "-o", f"ControlPath={self._ctl}", "-p", str(self.port), "root@127.0.0.1", "--",
                           f"cat > {shlex.quote(remote)}"], input=data, capture_output=True, timeout=120)
        if p.returncode != 0:
            raise GuestError(f"copy of {local} to guest:{remote} failed: {p.stderr.decode(errors='replace')}")

    def dmesg(self):
        return self.run("dmesg", check=True).out

    def dmesg_mark(self):
        """Writes a unique marker into the kernel log; dmesg_since(mark) returns what follows it."""
        mark = "lpguard-test-mark-%d-%d" % (os.getpid(), time.monotonic_ns())
        self.run(f"echo {mark} > /dev/kmsg", check=True)
        return mark

    def dmesg_since(self, mark):
        text = self.dmesg()
        i = text.rfind(mark)
        if i < 0:
            raise GuestError(f"kernel log lost the marker {mark} (ring buffer too small?)")
        return text[text.index("\n", i) + 1:] if "\n" in text[i:] else ""

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def console_tail(self, n=40):
        lines = self.console_text().splitlines()[-n:]
        return "--- guest console (last %d lines)\n%s" % (len(lines), "\n".join(lines))
