// SPDX-License-Identifier: GPL-2.0
// cvm-cli preflight: the guest's report, the kernel log's trouble, taint,
// the verdict, and the QEMU run that produces them.

#include "lpguard/host/preflight.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include <csignal>

#include <fcntl.h>
#include <openssl/rand.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/host/cpio.hpp"
#include "lpguard/host/process.hpp"
#include "lpguard/host/shell.hpp"

extern char **environ;

namespace lpguard {

namespace {

const char *const kMarker = "LPGUARD-PREFLIGHT";

std::vector<std::string> split_lines(const std::string &text)
{
	std::vector<std::string> lines;
	std::string cur;
	for (char c : text) {
		if (c == '\r')
			continue;
		if (c == '\n') {
			lines.push_back(cur);
			cur.clear();
		} else {
			cur += c;
		}
	}
	if (!cur.empty())
		lines.push_back(cur);
	return lines;
}

std::vector<std::string> words(const std::string &line)
{
	std::istringstream in(line);
	std::vector<std::string> w;
	for (std::string s; in >> s;)
		w.push_back(s);
	return w;
}

// A log line without its printk prefixes: "<4>", "[   12.345678] ", "[    T1] ".
std::string message_of(std::string line)
{
	if (line.size() > 2 && line[0] == '<') {
		auto e = line.find('>');
		if (e != std::string::npos && e < 5)
			line.erase(0, e + 1);
	}
	while (!line.empty() && line[0] == '[') {
		auto e = line.find(']');
		if (e == std::string::npos)
			break;
		line.erase(0, e + 1);
		while (!line.empty() && line[0] == ' ')
			line.erase(0, 1);
	}
	return line;
}

// lockdep's report titles (kernel/locking/lockdep.c), after "WARNING: ".
const char *const kLockdep[] = {
	"possible recursive locking",
	"possible circular locking",
	"inconsistent lock state",
	"suspicious RCU usage",
	"bad unlock balance",
	"held lock freed",
	"lock held when returning to user space",
	"lock held at task exit",
	"possible irq lock inversion",
	"-safe -> ",
	"Nested lock was not taken",
	"bad contention detected",
	"Irq state inconsistent",
};

std::optional<std::string> classify(const std::string &m)
{
	auto starts = [&](const char *p) { return m.rfind(p, 0) == 0; };
	auto has = [&](const char *p) { return m.find(p) != std::string::npos; };
	if (starts("WARNING: ")) {
		for (const char *l : kLockdep)
			if (has(l))
				return "lockdep";
		return "warn";
	}
	if (starts("Kernel panic - not syncing"))
		return "panic";
	if (starts("BUG: ") || starts("kernel BUG at") || has(": BUG: "))
		return "bug";
	if (starts("Oops") || starts("general protection fault") || has(": Oops: "))
		return "oops";
	if (starts("INFO: task ") && has(" blocked for more than "))
		return "hung-task";
	if (has("rcu_sched detected stall") || has("rcu_preempt detected stall") || has("self-detected stall on CPU"))
		return "rcu-stall";
	return std::nullopt;
}

struct TaintFlag {
	int bit;
	char letter;
};
// kernel/panic.c's taint_flags, in bit order.
const TaintFlag kTaint[] = {{0, 'P'}, {1, 'F'}, {2, 'S'}, {3, 'R'}, {4, 'M'}, {5, 'B'}, {6, 'U'}, {7, 'D'}, {8, 'A'}, {9, 'W'}, {10, 'C'}, {11, 'I'}, {12, 'O'}, {13, 'E'}, {14, 'L'}, {15, 'K'}, {16, 'X'}, {17, 'T'}, {18, 'N'}};

std::string letters(unsigned long value, bool skip_livepatch)
{
	std::string out;
	for (int bit = 0; bit < int(8 * sizeof(value)); bit++) {
		if (!(value & (1UL << bit)))
			continue;
		if (bit < int(std::size(kTaint))) {
			char l = kTaint[bit].letter;
			if (skip_livepatch && (l == 'K' || l == 'O'))
				continue;
			out += l;
		} else {
			out += "?" + std::to_string(bit);
		}
	}
	return out;
}

// What each taint letter means, for the message.
std::string taint_meaning(char l)
{
	switch (l) {
	case 'W': return "a WARN";
	case 'D': return "an oops (the kernel died in a task)";
	case 'L': return "a soft lockup";
	case 'E': return "an unsigned module";
	case 'F': return "a forced module load";
	case 'P': return "a proprietary module";
	case 'B': return "a bad page";
	case 'N': return "a test module (KUnit)";
	case 'M': return "a machine check";
	case 'U': return "a taint requested from user space";
	default: return std::string("flag ") + l;
	}
}

std::optional<unsigned long> parse_ulong(const std::string &s)
{
	auto t = trim(s);
	if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 19)
		return std::nullopt;
	return std::stoul(t);
}

std::string quote_line(const std::string &s)
{
	return "\"" + printable(s) + "\"";
}

} // namespace

const ReportSection *GuestReport::find(const std::string &name) const
{
	auto i = sections.find(name);
	return i == sections.end() ? nullptr : &i->second;
}

std::string GuestReport::last_section() const
{
	return order.empty() ? "" : order.back();
}

GuestReport parse_guest_report(const std::string &text, const std::string &nonce)
{
	GuestReport r;
	std::string current;
	for (const auto &line : split_lines(text)) {
		// A marker may follow output that did not end its line.
		auto at = line.find(std::string(kMarker) + " " + nonce + " ");
		if (at == std::string::npos) {
			if (!current.empty())
				r.sections[current].text += line + "\n";
			continue;
		}
		if (at > 0 && !current.empty())
			r.sections[current].text += line.substr(0, at) + "\n";
		auto w = words(line.substr(at));
		r.started = true;
		if (w.size() >= 4 && w[2] == "BEGIN") {
			current = w[3];
			if (!r.sections.count(current))
				r.order.push_back(current);
			r.sections[current] = {};
		} else if (w.size() >= 5 && w[2] == "END" && w[3] == current) {
			auto rc = parse_ulong(w[4]);
			r.sections[current].rc = rc ? int(*rc) : -1;
			current.clear();
		} else if (w.size() >= 3 && w[2] == "DONE") {
			r.done = true;
			current.clear();
		}
	}
	return r;
}

std::vector<LogFinding> scan_kernel_log(const std::string &log, const std::string &apply_mark)
{
	std::vector<LogFinding> out;
	bool before = true;
	for (const auto &line : split_lines(log)) {
		if (before && line.find(apply_mark) != std::string::npos)
			before = false;
		auto m = message_of(line);
		if (auto kind = classify(m))
			out.push_back({*kind, m, before});
	}
	return out;
}

std::string taint_letters(unsigned long value)
{
	return letters(value, false);
}

std::string unexpected_taint(unsigned long value)
{
	return letters(value, true);
}

std::string PreflightVerdict::message() const
{
	if (kind == Kind::ok)
		return what;
	return Error(what, why, todo, kind).what();
}

PreflightVerdict judge_preflight(const GuestReport &report, const std::string &console, const std::string &patch_name,
				 const std::string &nonce, const std::string &log_hint)
{
	PreflightVerdict v;
	Json &j = v.report;
	const std::string see = "the trial's serial console is " + log_hint;
	auto fail = [&](Kind kind, std::string what, std::string why, std::string todo) {
		if (v.kind == Kind::ok) {
			v.kind = kind;
			v.what = std::move(what);
			v.why = std::move(why);
			v.todo = std::move(todo) + "; " + see;
		}
	};
	const std::string apply_mark = "lpguard-preflight: " + nonce + " applying the patch";

	auto text = [&](const char *name) -> std::string {
		auto s = report.find(name);
		return s ? s->text : "";
	};
	j["guest_release"] = json_or_null(trim(text("release")));

	// The kernel log: the guest's dmesg when it got that far, else the console.
	auto dmesg = report.find("dmesg");
	bool complete = report.done && dmesg && dmesg->rc;
	auto findings = scan_kernel_log(complete ? dmesg->text : console, apply_mark);
	Json jf = Json::array();
	for (const auto &f : findings)
		jf.push_back({{"kind", f.kind}, {"line", json_text(f.line)}, {"before_patch", f.before_patch}});
	j["findings"] = jf;

	// lp-load apply's JSON.
	auto apply = report.find("apply");
	Json lp = nullptr;
	if (apply) {
		auto parsed = Json::parse(apply->text, nullptr, false);
		if (!parsed.is_discarded() && parsed.is_object())
			lp = parsed;
	}
	j["lp_load"] = lp;
	j["lp_load_exit"] = apply && apply->rc ? Json(*apply->rc) : Json(nullptr);
	Json transition = {{"completed", false}, {"ms", nullptr}};
	if (lp.is_object() && lp.contains("transition_ms") && lp["transition_ms"].is_number())
		transition = {{"completed", true}, {"ms", lp["transition_ms"]}};
	j["transition"] = transition;

	// Taint, at boot and at the end.
	auto taint_json = [&](const char *name) -> Json {
		auto value = parse_ulong(text(name));
		if (!value)
			return nullptr;
		return {{"value", *value}, {"flags", taint_letters(*value)}, {"unexpected", unexpected_taint(*value)}};
	};
	j["taint_boot"] = taint_json("taint-boot");
	j["taint"] = taint_json("taint");

	// The livepatch facts.
	Json patches = Json::array(), funcs = Json::array();
	for (const auto &line : split_lines(text("livepatch"))) {
		auto w = words(line);
		if (w.size() >= 4 && w[0] == "patch") {
			auto flag = [](const std::string &kv) { return kv.size() > 2 && kv.back() == '1'; };
			patches.push_back({{"name", w[1]}, {"enabled", flag(w[2])}, {"transition", flag(w[3])}});
		} else if (w.size() >= 4 && w[0] == "func") {
			auto comma = w[3].rfind(',');
			std::string fn = comma == std::string::npos ? w[3] : w[3].substr(0, comma);
			auto pos = comma == std::string::npos ? std::nullopt : parse_ulong(w[3].substr(comma + 1));
			funcs.push_back({{"patch", w[1]}, {"object", w[2]}, {"function", fn}, {"sympos", pos ? *pos : 0}});
		}
	}
	j["livepatches"] = patches;
	Json mine = Json::array();
	for (const auto &f : funcs)
		if (f["patch"] == patch_name)
			mine.push_back(f);
	j["patched"] = mine;

	auto smoke = report.find("smoke");
	j["smoke"] = smoke ? Json{{"exit", smoke->rc ? Json(*smoke->rc) : Json(nullptr)}, {"output", json_text(smoke->text)}}
			   : Json(nullptr);

	// The first problem, most telling first.
	const std::string of = "preflight of " + patch_name;
	const std::string fix = "fix the patch and try it again with cvm-cli preflight before it reaches a VM";
	for (const auto &f : findings) {
		std::string when = f.before_patch ? "at boot, before the patch was applied"
						  : "while the patch was applied or the smoke command ran";
		std::string what_kind = f.kind == "warn" ? "the kernel WARNed"
			: f.kind == "lockdep"		 ? "lockdep reported a locking problem"
			: f.kind == "bug"		 ? "the kernel reported a BUG"
			: f.kind == "oops"		 ? "the kernel oopsed"
			: f.kind == "panic"		 ? "the kernel panicked"
			: f.kind == "hung-task"		 ? "a task hung"
							 : "RCU stalled";
		fail(Kind::preflight, of + " failed", what_kind + " " + when + ": " + quote_line(f.line),
		     f.before_patch ? "the kit's kernel itself is at fault, not the patch: fix the kernel or its "
				      "configuration and make the kit again"
				    : fix);
		break;
	}
	if (!report.started) {
		fail(Kind::system, of + " did not run", "the guest never reached its /init (no report on its second serial port)",
		     "check that the kit's bzImage and preflight-initramfs.cpio.gz belong together (make the kit again "
		     "with scripts/mkpatchkit.sh)");
	} else if (!report.done) {
		std::string last = report.last_section();
		fail(Kind::system, of + " did not finish",
		     "the guest stopped reporting in section \"" + last + "\" (it hung, crashed or the time ran out)",
		     last == "smoke" ? "check that the smoke command ends on its own" : "raise --vm-timeout, or look at the console");
	}
	for (const char *name : {"taint_boot", "taint"}) {
		auto t = j[name];
		if (t.is_object() && !t["unexpected"].get<std::string>().empty()) {
			std::string u = t["unexpected"], meaning;
			for (char l : u)
				meaning += (meaning.empty() ? "" : ", ") + std::string(1, l) + " (" + taint_meaning(l) + ")";
			bool boot = std::string(name) == "taint_boot";
			fail(Kind::preflight, of + " failed",
			     std::string("the kernel is tainted ") + (boot ? "at boot, before the patch was applied" : "after the trial") +
				     " with " + meaning + " beyond K and O (tainted=" + std::to_string(t["value"].get<unsigned long>()) + ")",
			     boot ? "the kit's kernel itself is at fault, not the patch: fix the kernel or its configuration" : fix);
		}
	}
	if (apply && lp.is_object() && lp.value("exit_code", 0) != 0)
		fail(Kind::preflight, of + " failed",
		     "lp-load apply in the trial VM: " + printable(lp.value("message", std::string("failed"))),
		     "the same would happen on the VM: fix what lp-load names (a patch signed by a key the kit's kernel "
		     "trusts, a cumulative replace patch)");
	else if (apply && !lp.is_object())
		fail(Kind::preflight, of + " failed",
		     "lp-load apply in the trial VM printed no JSON report (exit " +
			     (apply->rc ? std::to_string(*apply->rc) : std::string("unknown")) + "): " +
			     quote_line(trim(text("apply-stderr")).substr(0, 300)),
		     "check that the kit's preflight guest has a working lp-load (make the kit again)");
	if (report.done && apply && lp.is_object() && !transition["completed"].get<bool>())
		fail(Kind::preflight, of + " failed", "the livepatch transition did not complete",
		     "find what blocks it in lp-load's blocking tasks (--json: lp_load.blocking_tasks)");
	if (smoke && smoke->rc && *smoke->rc != 0)
		fail(Kind::preflight, of + " failed",
		     "the smoke command exited " + std::to_string(*smoke->rc) + " with the patch applied",
		     "fix the patch or the smoke command (its output is in --json: smoke.output)");
	if (report.done && apply && lp.is_object() && mine.empty())
		fail(Kind::preflight, of + " failed",
		     "/sys/kernel/livepatch/" + patch_name + " lists no patched function after the transition",
		     "check the patch's klp_object and klp_func tables");
	if (v.kind == Kind::ok) {
		std::string fl;
		for (const auto &f : mine)
			fl += (fl.empty() ? "" : ", ") + f["function"].get<std::string>();
		std::ostringstream ms;
		ms << "preflight of " << patch_name << " passed: transition ";
		if (transition["ms"].is_number())
			ms << std::llround(transition["ms"].get<double>()) << " ms";
		else
			ms << "done";
		ms << ", patched " << fl;
		if (smoke)
			ms << ", smoke command exited 0";
		ms << ", no WARN, BUG, oops or lockdep report, taint "
		   << (j["taint"].is_object() ? j["taint"]["flags"].get<std::string>() : std::string("?"));
		v.what = ms.str();
	}
	return v;
}

// ---- running QEMU -----------------------------------------------------------

namespace {

std::string random_nonce()
{
	unsigned char b[8];
	if (RAND_bytes(b, sizeof(b)) != 1)
		throw Error("cannot create a nonce for the preflight guest", "RAND_bytes failed",
			    "check the system's entropy source", Kind::internal);
	return hex(b, sizeof(b));
}

std::string read_or_empty(const std::filesystem::path &p)
{
	auto t = read_text(p);
	return t ? *t : "";
}

class Qemu {
public:
	Qemu(const Argv &argv, const std::filesystem::path &log)
	{
		std::vector<char *> args;
		for (const auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		int rc = posix_spawnp(&pid_, argv[0].c_str(), &fa, nullptr, args.data(), environ);
		posix_spawn_file_actions_destroy(&fa);
		if (rc != 0)
			throw Error("cannot run " + argv[0], std::strerror(rc), "install qemu-system-x86 (Debian package)",
				    Kind::system);
	}
	~Qemu() { kill(); }
	// The exit status once it ended, else nullopt.
	std::optional<int> poll()
	{
		if (pid_ <= 0)
			return status_;
		int st = 0;
		pid_t r = waitpid(pid_, &st, WNOHANG);
		if (r == pid_) {
			pid_ = -1;
			status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		return status_;
	}
	void kill()
	{
		if (pid_ > 0) {
			::kill(pid_, SIGKILL);
			int st;
			waitpid(pid_, &st, 0);
			pid_ = -1;
			status_ = 137;
		}
	}

private:
	pid_t pid_ = -1;
	std::optional<int> status_;
};

struct Trial {
	std::string accel;
	bool started = false; // the guest's /init reported
	std::optional<int> qemu_exit;
	bool timed_out = false;
	double boot_s = -1, total_s = 0;
};

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t)
{
	return std::chrono::duration<double>(Clock::now() - t).count();
}

// One boot. With probe_s > 0 (the KVM probe): gives up when the guest shows
// no sign of life (console output) within probe_s.
Trial boot(const Argv &base, const std::string &accel, const std::filesystem::path &dir, double vm_timeout,
	   double probe_s, const std::string &nonce, std::ostream &progress, bool tty)
{
	Trial t;
	t.accel = accel;
	auto console = dir / "console.log", report = dir / "report.log";
	std::filesystem::remove(console);
	std::filesystem::remove(report);
	Argv argv = base;
	argv.insert(argv.begin() + 1, {"-accel", accel, "-cpu", accel == "kvm" ? "host" : "max"});
	argv.insert(argv.end(), {"-serial", "file:" + console.string(), "-serial", "file:" + report.string()});
	auto start = Clock::now();
	Qemu q(argv, dir / "qemu.log");
	std::string phase = "booting", shown;
	auto last_line = Clock::now() - std::chrono::hours(1);
	for (;;) {
		auto st = q.poll();
		auto rep = parse_guest_report(read_or_empty(report), nonce);
		if (rep.started && !t.started) {
			t.started = true;
			t.boot_s = since(start);
		}
		if (st) {
			t.qemu_exit = st;
			break;
		}
		if (rep.done) {
			// poweroff -f ends QEMU; give it a moment, then end it.
			for (int i = 0; i < 50 && !q.poll(); i++)
				std::this_thread::sleep_for(std::chrono::milliseconds(100));
			q.kill();
			t.qemu_exit = 0;
			break;
		}
		double el = since(start);
		if (probe_s > 0 && !t.started && el > probe_s && read_or_empty(console).empty())
			break;
		if (el > vm_timeout) {
			t.timed_out = true;
			break;
		}
		auto sec = rep.last_section();
		phase = !rep.started				  ? "booting the kit's kernel (" + accel + ")"
			: sec == "release" || sec == "taint-boot" ? "guest started"
			: sec == "apply" || sec == "apply-stderr" ? "applying the patch with lp-load"
			: sec == "smoke"			  ? "running the smoke command"
								  : "collecting the kernel log";
		if (tty) {
			progress << "\rcvm-cli: preflight: " << phase << " ... " << int(el) << "s\033[K" << std::flush;
		} else if (phase != shown || since(last_line) > 30) {
			progress << "cvm-cli: preflight: " << phase << " ... " << int(el) << "s\n"
				 << std::flush;
			last_line = Clock::now();
		}
		shown = phase;
		std::this_thread::sleep_for(std::chrono::milliseconds(250));
	}
	q.kill();
	t.total_s = since(start);
	if (tty)
		progress << "\r\033[K";
	if (t.started)
		progress << "cvm-cli: preflight: guest booted in " << int(t.boot_s) << "s (" << accel << "), trial done in "
			 << int(t.total_s) << "s\n"
			 << std::flush;
	return t;
}

class WorkDir {
public:
	WorkDir()
	{
		std::string t = "/tmp/cvm-cli-preflight.XXXXXX";
		if (!mkdtemp(t.data()))
			throw Error("cannot create a temporary directory under /tmp", std::strerror(errno),
				    "check that /tmp is writable", Kind::output);
		path_ = t;
	}
	~WorkDir()
	{
		if (!keep_) {
			std::error_code ec;
			std::filesystem::remove_all(path_, ec);
		}
	}
	void keep() { keep_ = true; }
	const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
	bool keep_ = false;
};

} // namespace

PreflightResult run_preflight(const PreflightOptions &o, const PatchKit &kit, const ModuleImage &patch,
			      std::ostream &progress, bool tty)
{
	const std::string remake = "make the kit again with scripts/mkpatchkit.sh KOUT (with lp-load built)";
	const std::pair<std::filesystem::path, const char *> needed[] = {{kit.bzimage, "bzImage"},
									 {kit.preflight_initramfs, "preflight guest"}};
	for (const auto &[file, name] : needed)
		if (file.empty() || !std::filesystem::is_regular_file(file))
			throw Error("cannot run preflight with patch kit " + kit.manifest.string(),
				    file.empty() ? std::string("the kit records no ") + name
						 : std::string("its ") + name + " " + file.string() + " is missing",
				    remake, Kind::input);
	if (!find_program(o.qemu))
		throw Error(o.qemu + " not found on PATH", "preflight boots the kit's kernel under QEMU",
			    "install qemu-system-x86 (Debian package)", Kind::system);
	progress << "cvm-cli: preflight: " << patch.name << " on the kit's kernel " << kit.kernel_release << "\n";

	WorkDir dir;
	const std::string nonce = random_nonce();
	// The run-time part of the guest, appended to the kit's initramfs.
	std::string env = "NONCE=" + nonce + "\n";
	if (o.transition_timeout > 0) {
		std::ostringstream t;
		t << o.transition_timeout;
		env += "APPLY_ARGS=" + shell_quote("--timeout " + t.str()) + "\n";
	}
	std::vector<CpioEntry> entries = {
		{"preflight", 040755, {}},
		{"preflight/env", 0100644, std::vector<uint8_t>(env.begin(), env.end())},
		{"preflight/patch.ko", 0100644, patch.bytes},
	};
	if (!o.smoke.empty()) {
		std::string s = o.smoke + "\n";
		entries.push_back({"preflight/smoke.sh", 0100644, std::vector<uint8_t>(s.begin(), s.end())});
	}
	auto base = read_file(kit.preflight_initramfs, "preflight guest", Kind::input, remake);
	while (base.size() % 4)
		base.push_back(0);
	auto extra = cpio_newc(entries);
	base.insert(base.end(), extra.begin(), extra.end());
	auto initrd = dir.path() / "initramfs.cpio";
	write_file_atomic(initrd, {std::span<const uint8_t>(base)}, 0600, Durability::volatile_);

	// kunit.enable=0: a kernel with KUnit suites built in would run them at
	// boot and taint itself N (TAINT_TEST).
	Argv qemu = {o.qemu, "-smp", "2", "-m", "512M", "-kernel", kit.bzimage.string(),
		     "-initrd", initrd.string(), "-append", "console=ttyS0 panic=-1 kunit.enable=0",
		     "-display", "none", "-monitor", "none", "-no-reboot", "-nic", "none"};
	std::string accel = o.accel;
	Trial t;
	if (accel == "auto" || accel == "kvm") {
		bool kvm_ok = access("/dev/kvm", R_OK | W_OK) == 0;
		if (kvm_ok) {
			t = boot(qemu, "kvm", dir.path(), o.vm_timeout, accel == "auto" ? 15 : 0, nonce, progress, tty);
			if (accel == "auto" && !t.started && !t.timed_out) {
				progress << "cvm-cli: preflight: KVM does not boot the guest here; using TCG\n";
				accel = "tcg";
			}
		} else if (accel == "kvm") {
			throw Error("cannot use KVM for preflight", "/dev/kvm is missing or not accessible",
				    "use --accel tcg, or give this user access to /dev/kvm", Kind::system);
		} else {
			accel = "tcg";
		}
	}
	if (accel == "tcg")
		t = boot(qemu, "tcg", dir.path(), o.vm_timeout, 0, nonce, progress, tty);

	auto report = parse_guest_report(read_or_empty(dir.path() / "report.log"), nonce);
	auto console = read_or_empty(dir.path() / "console.log");
	auto verdict = judge_preflight(report, console, patch.name, nonce, (dir.path() / "console.log").string());
	if (t.timed_out && verdict.kind == Kind::system)
		verdict.why += " after --vm-timeout " + std::to_string(int(o.vm_timeout)) + "s";
	if (!t.started && verdict.kind == Kind::system) {
		auto qlog = trim(read_or_empty(dir.path() / "qemu.log"));
		if (!qlog.empty())
			verdict.why += "; QEMU said: " + printable(qlog.substr(0, 300));
	}
	PreflightResult r;
	r.kind = verdict.kind;
	r.message = verdict.message();
	Json j = verdict.report;
	j["patch"] = {{"path", o.patch.string()}, {"name", patch.name}, {"vermagic", patch.vermagic}};
	j["kit"] = kit.manifest.string();
	j["kernel_release"] = kit.kernel_release;
	j["accel"] = t.accel;
	j["boot_s"] = t.started ? Json(std::round(t.boot_s * 10) / 10) : Json(nullptr);
	j["total_s"] = std::round(t.total_s * 10) / 10;
	if (j["smoke"].is_object())
		j["smoke"]["command"] = o.smoke;
	j["ok"] = r.kind == Kind::ok;
	j["message"] = r.message;
	if (r.kind != Kind::ok) {
		dir.keep();
		j["log_dir"] = dir.path().string();
	} else {
		j["log_dir"] = nullptr;
	}
	r.report = j;
	return r;
}

} // namespace lpguard
