// SPDX-License-Identifier: GPL-2.0
// cvm-cli verify

#include <iostream>

#include "commands.hpp"
#include "lpguard/core/module_image.hpp"

namespace cvmcli {

std::vector<std::string> hash_names()
{
	return {lpguard::kSignatureHashes.begin(), lpguard::kSignatureHashes.end()};
}

std::vector<lpguard::Certificate> load_certs(const std::vector<std::string> &paths)
{
	std::vector<lpguard::Certificate> certs;
	for (const auto &p : paths)
		for (auto &c : lpguard::Certificate::load_all(p))
			certs.push_back(std::move(c));
	return certs;
}

void add_verify_command(CLI::App &app)
{
	struct Opts {
		std::vector<std::string> certs;
		std::string module;
	};
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("verify", "Check a module's signature against certificates (and only those)");
	cmd->add_option("--cert", o->certs, "Certificate file (PEM bundle or DER) or directory; repeatable")
		->required();
	cmd->add_option("module", o->module, "Module to verify")->required();
	cmd->callback([o] {
		auto certs = load_certs(o->certs);
		auto image = lpguard::ModuleImage::from_file(o->module);
		auto r = lpguard::verify_module(image, certs);
		if (!r.ok)
			throw lpguard::Error(o->module + ": signature does not verify", r.reason,
					     image.signature ? "sign it with the key of one of these certificates "
							       "(cvm-cli sign), or pass the right --cert"
							     : "sign it with cvm-cli sign",
					     lpguard::Kind::signature);
		std::cout << o->module << ": signature OK (" << image.signature->hash_algo << ", signer "
			  << r.signer_subject.value_or("?") << ")\n";
	});
}

} // namespace cvmcli
