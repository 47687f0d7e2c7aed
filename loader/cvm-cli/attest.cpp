// SPDX-License-Identifier: GPL-2.0
// cvm-cli attest <provider> <target> and cvm-cli attest verify: prove from
// outside which livepatch a VM runs (docs/cvm-cli.md, attest).

#include "attest.hpp"

#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/ossl.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/host/deploy.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/process.hpp"
#include "lpguard/host/shell.hpp"

namespace cvmcli {

using lpguard::Error;
using lpguard::Json;
using lpguard::Kind;

std::string sha256_hex(std::span<const uint8_t> a, std::span<const uint8_t> b)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) && EVP_DigestUpdate(ctx, a.data(), a.size()) &&
		EVP_DigestUpdate(ctx, b.data(), b.size()) && EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		throw Error("cannot hash", "EVP_Digest failed", "report this as a bug", Kind::internal);
	return lpguard::hex(md, md_len);
}

Kind attest_kind(lpguard::AttestCheck check)
{
	using lpguard::AttestCheck;
	switch (check) {
	case AttestCheck::ok: return Kind::ok;
	case AttestCheck::signature: return Kind::attest_signature;
	case AttestCheck::quote: return Kind::attest_quote;
	case AttestCheck::nonce: return Kind::attest_nonce;
	case AttestCheck::pcr_selection: return Kind::attest_pcr_selection;
	case AttestCheck::pcr_digest: return Kind::attest_pcr_digest;
	case AttestCheck::ima_log: return Kind::attest_ima_log;
	case AttestCheck::records: return Kind::attest_records;
	}
	return Kind::internal;
}

namespace {

// The DER SubjectPublicKeyInfo of a PEM or DER public key; throws Kind::key.
std::vector<uint8_t> public_key_der(std::span<const uint8_t> key, const std::string &what)
{
	auto bio = lpguard::ossl::mem_bio(key.data(), key.size());
	lpguard::ossl::Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
	if (!pkey) {
		const unsigned char *p = key.data();
		pkey.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(key.size())));
	}
	if (!pkey)
		throw Error("cannot use " + what, "not a public key (PEM or DER SubjectPublicKeyInfo)",
			    "pass the key `lp-load attest --ak-pub` prints", Kind::key);
	unsigned char *der = nullptr;
	int n = i2d_PUBKEY(pkey.get(), &der);
	if (n <= 0)
		throw Error("cannot use " + what, lpguard::ossl::last_error(), "report this as a bug", Kind::internal);
	std::vector<uint8_t> out(der, der + n);
	OPENSSL_free(der);
	return out;
}

std::vector<uint8_t> bytes_of(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::filesystem::path default_pin_file(const ProviderTarget &t)
{
	std::filesystem::path base;
	if (const char *x = std::getenv("XDG_CONFIG_HOME"); x && *x == '/')
		base = x;
	else if (const char *h = std::getenv("HOME"); h && *h)
		base = std::filesystem::path(h) / ".config";
	else
		throw Error("cannot find the pin file", "neither XDG_CONFIG_HOME nor HOME is set",
			    "pass --pin-file FILE or --ak-pub FILE", Kind::usage);
	std::string name = t.provider + "-";
	for (char c : t.target)
		name += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '@')
			? c
			: '_';
	return base / "lpguard" / "ak-pins" / (name + ".pem");
}

// The trusted key: where it came from and its bytes ("" until the first use
// of a pin file).
struct TrustedKey {
	std::string source; // file, gcp, pin, pin-new
	std::filesystem::path path;
	std::string pem;
};

lpguard::Argv gcloud_identity_argv(const ProviderTarget &t)
{
	lpguard::check_gcp_name("VM name", t.gcp_instance);
	lpguard::Argv a = {"gcloud", "compute", "instances", "get-shielded-identity", t.gcp_instance};
	if (t.gcp_zone)
		a.push_back("--zone=" + *t.gcp_zone);
	if (t.gcp_project)
		a.push_back("--project=" + *t.gcp_project);
	a.push_back("--format=json");
	return a;
}

std::string remote_attest_command(const std::string &nonce)
{
	return lpguard::remote_as_root("lp-load attest --nonce " + nonce + " --json");
}

std::string short_hex(const std::string &h) { return h.empty() ? "-" : h.substr(0, 16); }

std::string record_line(const lpguard::LpguardRecord &r)
{
	std::ostringstream o;
	o << "  " << r.seq << "  " << r.event << " " << r.module << " generation=" << r.generation
	  << " sha256=" << short_hex(r.sha256) << " keyid=" << short_hex(r.keyid)
	  << " active=" << (r.active ? *r.active : "-");
	return o.str();
}

// Keylime's runtime policy (keylime/ima/types.py, RuntimePolicyType) with the
// ima-buf digests of the covered lpguard records of the expected image.
Json keylime_policy(const lpguard::AttestEvidence &ev, const lpguard::AttestVerdict &v, const std::string &sha)
{
	auto log = lpguard::parse_ima_log(ev.ima_log);
	Json buf = Json::object();
	std::map<std::string, std::set<std::string>> seen;
	for (std::size_t i = 0; i < log.size() && i < v.report.covered_entries; i++) {
		const auto &e = log[i];
		if (e.template_name != "ima-buf")
			continue;
		auto b = lpguard::parse_ima_buf(e);
		if (!b.event_name.starts_with("lpguard-"))
			continue;
		auto r = lpguard::parse_lpguard_record(std::string_view(reinterpret_cast<const char *>(b.buf.data()), b.buf.size()));
		if (r.sha256 != sha)
			continue;
		auto d = lpguard::hex(b.digest);
		if (seen[b.event_name].insert(d).second) {
			if (!buf.contains(b.event_name))
				buf[b.event_name] = Json::array();
			buf[b.event_name].push_back(d);
		}
	}
	return {{"meta", {{"version", 1}, {"generator", 0}}},
		{"release", 0},
		{"digests", Json::object()},
		{"excludes", Json::array()},
		{"keyrings", Json::object()},
		{"ima", {{"ignored_keyrings", Json::array()}, {"log_hash_alg", "sha1"}, {"dm_policy", nullptr}}},
		{"ima-buf", buf},
		{"verification-keys", ""}};
}

struct Context {
	std::string provider, target, nonce;
	TrustedKey key;
	std::string evidence_saved;
	Json commands = Json::array();
};

// Verifies evidence (the guest's JSON document) and reports. parse_kind is
// the kind of evidence that does not parse (guest online, input offline).
AttestResult finish(const AttestRequest &req, Context &ctx, const Json &doc, Kind parse_kind, AttestOutput out)
{
	AttestResult res;
	Json verdict = nullptr, expect = nullptr, policy = nullptr;
	std::string message;
	std::optional<lpguard::AttestEvidence> ev;
	std::optional<lpguard::AttestVerdict> v;
	[&] {
		try {
			ev = lpguard::evidence_from_json(doc);
		} catch (const Error &e) {
			res.kind = parse_kind;
			message = std::string("the evidence does not parse: ") + e.what();
			return;
		}
		if (ctx.key.source == "pin-new") {
			ctx.key.pem = ev->ak_public_pem;
			public_key_der(bytes_of(ctx.key.pem), "the attestation key the guest presents");
			std::filesystem::create_directories(ctx.key.path.parent_path());
			lpguard::write_file_atomic(ctx.key.path, {std::span<const uint8_t>(bytes_of(ctx.key.pem))}, 0644);
			std::cerr << "cvm-cli: warning: first use: trusting the attestation key " << ctx.provider << " "
				  << ctx.target << " presents now and pinning it in " << ctx.key.path.string()
				  << " (compare it with `lp-load attest --ak-pub` on the guest through a channel you trust)\n";
		} else if (ctx.key.source == "pin" &&
			   public_key_der(bytes_of(ctx.key.pem), "the pinned key " + ctx.key.path.string()) !=
				   public_key_der(bytes_of(ev->ak_public_pem), "the attestation key the guest presents")) {
			res.kind = Kind::attest_ak_changed;
			message = "the guest presents another attestation key than the one pinned in " +
				ctx.key.path.string() + " (a different TPM, or a recreated key: check the VM; remove the "
							"pin file only if the change is expected)";
			return;
		}
		v = lpguard::verify_attestation(*ev, bytes_of(ctx.key.pem), *lpguard::unhex(ctx.nonce));
		verdict = lpguard::attest_verdict_json(*v);
		if (!v->ok()) {
			res.kind = attest_kind(v->failed);
			message = std::string("attestation refused: ") + lpguard::to_string(v->failed) + ": " + v->reason;
			return;
		}
		const auto &active = v->report.active;
		std::string desc = active ? active->name + " (generation " + std::to_string(active->generation) + ")"
					  : std::string("no livepatch");
		if (req.expect_sha256) {
			bool match = active && active->sha256 == *req.expect_sha256;
			expect = {{"path", req.expect_path}, {"sha256", *req.expect_sha256}, {"matches", match}};
			if (!match) {
				res.kind = Kind::attest_not_expected;
				message = "attestation verified, but the active livepatch is " + desc +
					(active && !active->sha256.empty() ? " sha256 " + active->sha256 : std::string()) +
					", not " + req.expect_path + " (sha256 " + *req.expect_sha256 + ")";
				return;
			}
			message = "attestation verified: the active livepatch " + desc + " is " + req.expect_path;
		} else {
			message = "attestation verified: active livepatch " + desc;
		}
		if (req.keylime_policy)
			policy = keylime_policy(*ev, *v, *req.expect_sha256);
	}();

	Json j = {{"provider", ctx.provider.empty() ? Json(nullptr) : Json(ctx.provider)},
		  {"target", ctx.target.empty() ? Json(nullptr) : Json(ctx.target)},
		  {"nonce", ctx.nonce},
		  {"dry_run", req.dry_run},
		  {"commands", ctx.commands},
		  {"ak", {{"source", ctx.key.source}, {"path", ctx.key.path.empty() ? Json(nullptr) : Json(ctx.key.path.string())}}},
		  {"evidence_saved", ctx.evidence_saved.empty() ? Json(nullptr) : Json(ctx.evidence_saved)},
		  {"verdict", verdict},
		  {"expect", expect},
		  {"exit_code", exit_code(res.kind)},
		  {"message", message}};
	res.json = j;
	if (policy.is_object() && out != AttestOutput::json_value) {
		lpguard::print_json(std::cout, policy);
		std::cerr << "cvm-cli: " << message << "\n";
		return res;
	}
	switch (out) {
	case AttestOutput::json: lpguard::print_json(std::cout, j); break;
	case AttestOutput::json_value: break;
	case AttestOutput::verdict_line:
		(res.kind == Kind::ok ? std::cout : std::cerr) << "cvm-cli: attest: " << message << "\n";
		break;
	case AttestOutput::report:
		if (res.kind != Kind::ok) {
			std::cerr << "cvm-cli: " << message << "\n";
			break;
		}
		const auto &r = v->report;
		std::cout << "cvm-cli: " << message << "\n";
		std::cout << "key: " << ctx.key.source << (ctx.key.path.empty() ? "" : " " + ctx.key.path.string())
			  << "; IMA entries covered by the quote: " << r.covered_entries << " (" << r.uncovered_entries
			  << " after it)\n";
		if (r.active)
			std::cout << "active: " << r.active->name << " sha256=" << (r.active->sha256.empty() ? "-" : r.active->sha256)
				  << " keyid=" << (r.active->keyid.empty() ? "-" : r.active->keyid)
				  << " generation=" << r.active->generation << "\n";
		else
			std::cout << "active: none\n";
		std::cout << "history since boot (" << r.records.size() << " records):\n";
		for (const auto &rec : r.records)
			std::cout << record_line(rec) << "\n";
		std::cout << "refused rollbacks: " << (r.refused.empty() ? "none" : std::to_string(r.refused.size())) << "\n";
		for (const auto &rec : r.refused)
			std::cout << record_line(rec) << "\n";
		std::cout << "disabled: " << (r.disabled.empty() ? "none" : std::to_string(r.disabled.size())) << "\n";
		for (const auto &rec : r.disabled)
			std::cout << record_line(rec) << "\n";
		break;
	}
	return res;
}

TrustedKey resolve_key(const AttestKeyOptions &o, const ProviderTarget &t, bool dry_run, Context &ctx)
{
	TrustedKey k;
	if (!o.ak_pub.empty()) {
		k.source = "file";
		k.path = o.ak_pub;
		auto b = lpguard::read_file(o.ak_pub, "attestation key", Kind::key);
		k.pem.assign(b.begin(), b.end());
		public_key_der(b, "the attestation key " + o.ak_pub);
		return k;
	}
	if (t.provider == "gcp") {
		k.source = "gcp";
		auto argv = gcloud_identity_argv(t);
		ctx.commands.push_back(lpguard::shell_join(argv));
		if (dry_run)
			return k;
		if (!lpguard::find_program("gcloud"))
			throw Error("gcloud not found on PATH", "the gcp provider runs gcloud",
				    "install the Google Cloud CLI (google-cloud-cli)", Kind::remote);
		std::string out;
		int rc = lpguard::run_command(argv, &out);
		if (rc != 0)
			throw Error("cannot read the Shielded VM identity of " + t.gcp_instance,
				    "`gcloud compute instances get-shielded-identity` exited with " + std::to_string(rc),
				    "check the instance, zone, project and that it is a Shielded VM", Kind::remote);
		k.pem = gcp_signing_key(out);
		return k;
	}
	k.path = o.pin_file.empty() ? default_pin_file(t) : std::filesystem::path(o.pin_file);
	if (std::filesystem::exists(k.path)) {
		k.source = "pin";
		auto b = lpguard::read_file(k.path, "pinned attestation key", Kind::key);
		k.pem.assign(b.begin(), b.end());
	} else {
		k.source = "pin-new";
	}
	return k;
}

} // namespace

std::string gcp_signing_key(const std::string &gcloud_json)
{
	auto j = Json::parse(gcloud_json, nullptr, false);
	auto bad = [](const std::string &why) {
		return Error("cannot use the Shielded VM identity", why,
			     "run `gcloud compute instances get-shielded-identity VM --format=json` and check its signingKey",
			     Kind::remote);
	};
	if (!j.is_object() || !j.contains("signingKey") || !j["signingKey"].is_object() ||
	    !j["signingKey"].contains("ekPub") || !j["signingKey"]["ekPub"].is_string())
		throw bad("gcloud's JSON has no signingKey.ekPub string");
	std::string pem = j["signingKey"]["ekPub"];
	if (pem.find("-----BEGIN PUBLIC KEY-----") == std::string::npos)
		throw bad("signingKey.ekPub is not a PEM public key");
	public_key_der(bytes_of(pem), "the Shielded VM signing key");
	return pem;
}

void add_attest_key_options(CLI::App *cmd, AttestKeyOptions &o)
{
	cmd->add_option("--ak-pub", o.ak_pub, "Trusted attestation key (PEM); default: gcp's Shielded VM key, else the pin file");
	cmd->add_option("--pin-file", o.pin_file,
			"Trust-on-first-use pin of the attestation key (default: $XDG_CONFIG_HOME/lpguard/ak-pins/PROVIDER-TARGET.pem)");
}

AttestRequest attest_request(const AttestKeyOptions &ak, const std::string &path, const std::string &sha256)
{
	AttestRequest r;
	r.ak = ak;
	r.expect_path = path;
	r.expect_sha256 = sha256;
	return r;
}

AttestResult attest_guest(const AttestRequest &req, const ProviderTarget &t, AttestOutput out)
{
	Context ctx;
	ctx.provider = t.provider;
	ctx.target = t.target;
	ctx.nonce = random_hex(32);
	ctx.key = resolve_key(req.ak, t, req.dry_run, ctx);

	TempDir tmp;
	auto transport = t.make(tmp.path());
	const auto remote = transport->run(remote_attest_command(ctx.nonce));
	if (req.dry_run) {
		for (const auto &a : transport->open())
			ctx.commands.push_back(lpguard::shell_join(a));
		ctx.commands.push_back(lpguard::shell_join(remote));
		for (const auto &a : transport->close())
			ctx.commands.push_back(lpguard::shell_join(a));
		AttestResult res;
		res.json = {{"provider", t.provider}, {"target", t.target}, {"nonce", ctx.nonce}, {"dry_run", true}, {"commands", ctx.commands}, {"exit_code", 0}, {"message", "dry run: nothing was run"}};
		if (out == AttestOutput::json)
			lpguard::print_json(std::cout, res.json);
		else if (out != AttestOutput::json_value)
			for (const auto &c : ctx.commands)
				std::cout << c.get<std::string>() << "\n";
		return res;
	}
	for (const auto &[tool, package] : transport->required_tools())
		if (!lpguard::find_program(tool))
			throw Error(tool + " not found on PATH", "the " + t.provider + " provider runs " + tool,
				    "install " + package, Kind::remote);

	auto fail = [&](Kind k, const std::string &msg) {
		AttestResult res;
		res.kind = k;
		res.json = {{"provider", t.provider}, {"target", t.target}, {"nonce", ctx.nonce}, {"dry_run", false}, {"commands", ctx.commands}, {"verdict", nullptr}, {"exit_code", exit_code(k)}, {"message", msg}};
		if (out == AttestOutput::json)
			lpguard::print_json(std::cout, res.json);
		else if (out != AttestOutput::json_value)
			std::cerr << "cvm-cli: " << (out == AttestOutput::verdict_line ? "attest: " : "") << msg << "\n";
		return res;
	};
	bool opened = true;
	for (const auto &a : transport->open()) {
		ctx.commands.push_back(lpguard::shell_join(a));
		if (int rc = lpguard::run_command(a, nullptr, true); rc != 0) {
			opened = false;
			return fail(Kind::remote, "cannot connect to the guest: `" + a[0] + "` exited with " + std::to_string(rc) + " (check the target, credentials and that the VM is running)");
		}
	}
	std::string text;
	ctx.commands.push_back(lpguard::shell_join(remote));
	int rc = lpguard::run_command(remote, &text);
	if (opened)
		for (const auto &a : transport->close()) {
			ctx.commands.push_back(lpguard::shell_join(a));
			lpguard::run_command(a, nullptr, true);
		}
	switch (rc) {
	case 0: break;
	case 10: return fail(Kind::no_tpm, "the guest has no TPM 2.0 or no attestation key (lp-load attest exited with 10; run `lp-load attest --create-ak` on a guest with a vTPM)");
	case 11: return fail(Kind::no_ima, "the guest keeps no IMA measurement list (lp-load attest exited with 11)");
	case 12: return fail(Kind::no_records, "the guest's IMA list holds no lpguard record (lp-load attest exited with 12: no livepatch change since boot?)");
	case 127: return fail(Kind::guest, "lp-load is not installed on the guest (install it, then retry)");
	case 255: return fail(Kind::remote, "cannot reach the guest: ssh exited with 255 (check the target, credentials and that the VM is running)");
	case lpguard::kRemoteSudoPassword: return fail(Kind::remote, "sudo on the guest needs a password for lp-load (allow it without one for this user)");
	default: return fail(Kind::guest, "lp-load attest on the guest failed with exit " + std::to_string(rc) + " (its message is above)");
	}
	if (!req.save_evidence.empty()) {
		lpguard::write_file_atomic(req.save_evidence, {std::span<const uint8_t>(bytes_of(text))}, 0644);
		ctx.evidence_saved = req.save_evidence;
	}
	auto doc = Json::parse(text, nullptr, false);
	if (doc.is_discarded())
		return fail(Kind::guest, "lp-load attest on the guest printed no JSON document");
	return finish(req, ctx, doc, Kind::guest, out);
}

namespace {

struct ExpectOptions {
	std::string patch, key = kDefaultKey, cert = kDefaultCert, hash = "sha256";
	std::optional<uint32_t> generation;
};

void add_expect_options(CLI::App *cmd, ExpectOptions &e)
{
	cmd->add_option("--expect", e.patch,
			"Exit 0 only when this signed livepatch is the active one (an unsigned module is signed first "
			"with --key/--cert, as cvm-cli sign does; RSA keys only)");
	cmd->add_option("--key", e.key, "Signing key for an unsigned --expect module")->capture_default_str();
	cmd->add_option("--cert", e.cert, "Certificate for an unsigned --expect module")->capture_default_str();
	cmd->add_option("--hash", e.hash, "Signature digest for an unsigned --expect module")
		->check(CLI::IsMember(hash_names()))
		->capture_default_str();
	add_generation_option(cmd, e.generation);
}

// The SHA-256 of the signed image --expect names: the file itself when it is
// signed (and --generation is not given), else the image cvm-cli sign writes.
std::optional<std::string> expected_sha256(const ExpectOptions &e)
{
	if (e.patch.empty())
		return std::nullopt;
	auto image = lpguard::ModuleImage::from_file(e.patch);
	if (image.signature && !e.generation)
		return image.sha256_hex();
	if (e.generation)
		image = lpguard::with_path(e.patch, [&] {
			return lpguard::ModuleImage::from_bytes(lpguard::with_generation(image.bytes, *e.generation));
		});
	auto key = lpguard::SigningKey::load(e.key, e.cert);
	if (EVP_PKEY_get_base_id(static_cast<EVP_PKEY *>(key.pkey())) != EVP_PKEY_RSA)
		throw Error("cannot use --expect " + e.patch + " with the key " + e.key,
			    "signing it here with a non-RSA (ECDSA) key gives another signature than the one on the guest: "
			    "ECDSA signatures are randomised, so the image could never match",
			    "pass the signed module that was deployed", Kind::usage);
	std::vector<uint8_t> appendix;
	std::size_t payload = lpguard::sign_module(image, key, e.hash, &appendix);
	return sha256_hex(std::span<const uint8_t>(image.bytes.data(), payload), appendix);
}

void run_offline(const std::string &evidence, const std::string &nonce, const std::string &ak_pub,
		 const ExpectOptions &e, bool json, bool keylime)
{
	AttestRequest req;
	req.expect_sha256 = expected_sha256(e);
	req.expect_path = e.patch;
	req.keylime_policy = keylime;
	Context ctx;
	auto n = lpguard::unhex(nonce);
	if (!n || n->empty() || n->size() > 64)
		throw Error("invalid --nonce", "not 1..64 bytes in hex", "pass the nonce the evidence was made for", Kind::usage);
	ctx.nonce = lpguard::hex(*n);
	ctx.key.source = "file";
	ctx.key.path = ak_pub;
	auto b = lpguard::read_file(ak_pub, "attestation key", Kind::key);
	public_key_der(b, "the attestation key " + ak_pub);
	ctx.key.pem.assign(b.begin(), b.end());
	auto text = lpguard::read_file(evidence, "evidence", Kind::input);
	auto doc = Json::parse(text.begin(), text.end(), nullptr, false);
	if (doc.is_discarded())
		throw Error("cannot use the evidence " + evidence, "not a JSON document", "pass what `lp-load attest --json` printed",
			    Kind::input);
	outcome() = finish(req, ctx, doc, Kind::input, json ? AttestOutput::json : AttestOutput::report).kind;
}

} // namespace

void add_attest_command(CLI::App &app)
{
	auto *at = app.add_subcommand("attest", "Prove which livepatch a VM runs: TPM quote, IMA log replay, lpguard's records");
	at->require_subcommand(1);
	add_provider_commands(at, [](CLI::App *cmd) {
		struct Opts {
			AttestKeyOptions ak;
			ExpectOptions expect;
			bool json = false, dry_run = false, keylime = false;
			std::string save;
		};
		auto o = std::make_shared<Opts>();
		add_expect_options(cmd, o->expect);
		add_attest_key_options(cmd, o->ak);
		cmd->add_option("--save-evidence", o->save, "Write the evidence the guest returned to FILE (for attest verify)");
		cmd->add_flag("--keylime-policy", o->keylime,
			      "Print a Keylime runtime policy whose ima-buf entries accept --expect's records only");
		cmd->add_flag("--dry-run", o->dry_run, "Print the exact commands without running them");
		cmd->add_flag("--json", o->json, "Print the outcome as JSON (schema in docs/cvm-cli.md)");
		return std::function<void(const ProviderTarget &)>([o](const ProviderTarget &t) {
			if (o->keylime && o->expect.patch.empty())
				throw Error("--keylime-policy needs --expect", "the policy accepts the expected patch's records",
					    "add --expect PATCH.ko", Kind::usage);
			AttestRequest req;
			req.ak = o->ak;
			req.expect_sha256 = expected_sha256(o->expect);
			req.expect_path = o->expect.patch;
			req.dry_run = o->dry_run;
			req.keylime_policy = o->keylime;
			req.save_evidence = o->save;
			outcome() = attest_guest(req, t, o->json ? AttestOutput::json : AttestOutput::report).kind;
		});
	});
	{
		struct Opts {
			std::string evidence, nonce, ak_pub;
			ExpectOptions expect;
			bool json = false, keylime = false;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = at->add_subcommand("verify", "Verify saved evidence (attest --save-evidence, lp-load attest --json)");
		cmd->add_option("--evidence", o->evidence, "The evidence (lp-load attest's JSON document)")->required();
		cmd->add_option("--nonce", o->nonce, "The nonce it must be over (hex)")->required();
		cmd->add_option("--ak-pub", o->ak_pub, "Trusted attestation key (PEM)")->required();
		add_expect_options(cmd, o->expect);
		cmd->add_flag("--keylime-policy", o->keylime,
			      "Print a Keylime runtime policy whose ima-buf entries accept --expect's records only");
		cmd->add_flag("--json", o->json, "Print the outcome as JSON (schema in docs/cvm-cli.md)");
		cmd->callback([o] {
			if (o->keylime && o->expect.patch.empty())
				throw Error("--keylime-policy needs --expect", "the policy accepts the expected patch's records",
					    "add --expect PATCH.ko", Kind::usage);
			run_offline(o->evidence, o->nonce, o->ak_pub, o->expect, o->json, o->keylime);
		});
	}
}

} // namespace cvmcli
