// SPDX-License-Identifier: GPL-2.0
// cvm-cli sign

#include <iostream>

#include "commands.hpp"
#include "lpguard/host/module_sign.hpp"

namespace cvmcli {

void add_sign_command(CLI::App &app)
{
	struct Opts {
		std::string key = kDefaultKey, cert = kDefaultCert, hash = "sha256", out, module;
	};
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("sign", "Sign a module in the kernel's scripts/sign-file format "
					       "(an existing signature is replaced)");
	cmd->add_option("--key", o->key, "Private key (PEM)")->capture_default_str();
	cmd->add_option("--cert", o->cert, "Certificate of the key (PEM or DER)")->capture_default_str();
	cmd->add_option("--hash", o->hash, "Digest")
		->check(CLI::IsMember(hash_names()))
		->capture_default_str();
	cmd->add_option("-o,--output", o->out, "Write the signed module here (default: replace MODULE.ko)");
	cmd->add_option("module", o->module, "Module to sign")->required();
	cmd->callback([o] {
		auto key = lpguard::SigningKey::load(o->key, o->cert);
		// Mapped for the checks, read once for the digest, copied in the kernel.
		lpguard::MappedFile in(o->module, "module", lpguard::Kind::input);
		std::vector<uint8_t> appendix;
		std::size_t payload;
		try {
			payload = lpguard::sign_module(in, key, o->hash, &appendix);
		} catch (lpguard::Error &e) {
			// What is wrong with the module names it; key errors name the key.
			if (e.kind() == lpguard::Kind::input)
				e.add_path(o->module);
			throw;
		}
		// sign_module strips existing signatures: a shorter payload means there was one.
		bool was_signed = payload < in.bytes().size();
		std::filesystem::path out = o->out.empty() ? std::filesystem::path(o->module) : std::filesystem::path(o->out);
		lpguard::write_signed_module(out, in, payload, appendix, in.mode());
		std::cout << out.string() << ": signed by \"" << key.certificate().common_name() << "\" ("
			  << o->hash << ", serial " << key.certificate().serial_hex() << ")"
			  << (was_signed ? ", previous signature replaced" : "") << "\n";
	});
}

} // namespace cvmcli
