// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/precheck.hpp"

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/guest/lpguard_securityfs.hpp"
#include "lpguard/core/module_image.hpp"

namespace lpguard {

PrecheckReport precheck_patch(const std::filesystem::path &ko, const LivepatchSysfs &sys,
			      const std::filesystem::path &cert_fallback)
{
	PrecheckReport r;
	r.path = ko.string();
	r.kernel_release = sys.kernel_release();
	std::string todo;
	auto fail = [&](const std::string &check, const std::string &why, const std::string &what_to_do) {
		r.checks.push_back({check, false, why});
		if (r.message.empty()) {
			r.message = ko.string() + " fails the " + check + " check: " + why;
			todo = what_to_do;
		}
	};

	ModuleImage img;
	try {
		img = ModuleImage::from_file(ko);
	} catch (const Error &e) {
		// e names the path already: keep its why and todo only.
		fail("format", e.why(), e.todo());
		r.message += e.todo().empty() ? "" : " (" + e.todo() + ")";
		return r;
	}
	r.name = img.name;
	r.sha256 = img.sha256_hex();
	r.vermagic = img.vermagic;
	r.checks.push_back({"format", true, "ELF module " + img.name});

	if (img.is_livepatch())
		r.checks.push_back({"livepatch", true, "livepatch=" + *img.livepatch});
	else
		fail("livepatch", "no livepatch= tag in .modinfo: an ordinary module",
		     "lp-load only loads livepatch modules; use modprobe for others");

	std::string release = vermagic_release(img.vermagic);
	if (r.kernel_release.empty())
		fail("vermagic", "cannot read the running kernel's release", "check that /proc is mounted");
	else if (release == r.kernel_release)
		r.checks.push_back({"vermagic", true, img.vermagic});
	else
		fail("vermagic",
		     "built for " + (release.empty() ? std::string("an unknown kernel") : release) + ", running " +
			     r.kernel_release,
		     "rebuild the patch against the running kernel");

	auto source = certificate_source(sys, cert_fallback);
	r.cert_source = source.string();
	if (!img.signature) {
		fail("signature", "the module is not signed", "sign it with the livepatch key: cvm-cli sign");
	} else {
		try {
			auto certs = Certificate::load_all(source);
			auto v = verify_module(img, certs);
			if (v.ok) {
				r.signer = v.signer_subject.value_or("");
				r.checks.push_back({"signature", true, "verified by " + r.signer});
			} else {
				fail("signature", v.reason + ", checked against the certificates in " + r.cert_source,
				     "sign it with the livepatch key lpguard trusts");
			}
		} catch (const Error &e) {
			fail("signature", e.what_failed() + ": " + e.why(), "install the livepatch certificate in " + cert_fallback.string());
		}
	}

	r.ok = !r.message.size();
	if (r.ok)
		r.message = ko.string() + ": livepatch " + r.name + " for " + r.kernel_release + ", signed by " +
			r.signer;
	else if (!todo.empty())
		r.message += " (" + todo + ")";
	return r;
}

nlohmann::json to_json(const PrecheckReport &r)
{
	nlohmann::json checks = nlohmann::json::array();
	for (const auto &c : r.checks)
		checks.push_back({{"check", c.check}, {"ok", c.ok}, {"detail", c.detail}});
	return {{"command", "verify"},
		{"ok", r.ok},
		{"message", r.message},
		{"path", r.path},
		{"name", json_or_null(r.name)},
		{"sha256", json_or_null(r.sha256)},
		{"vermagic", json_or_null(r.vermagic)},
		{"kernel_release", r.kernel_release},
		{"certificates", json_or_null(r.cert_source)},
		{"signer", json_or_null(r.signer)},
		{"checks", checks}};
}

} // namespace lpguard
