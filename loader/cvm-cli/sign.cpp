// SPDX-License-Identifier: GPL-2.0
// cvm-cli sign

#include <iostream>

#include <sys/stat.h>

#include "commands.hpp"
#include "lpguard/exit_codes.hpp"
#include "lpguard/module_sign.hpp"

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
		->check(CLI::IsMember({"sha256", "sha384", "sha512"}))
		->capture_default_str();
	cmd->add_option("-o,--output", o->out, "Write the signed module here (default: replace MODULE.ko)");
	cmd->add_option("module", o->module, "Module to sign")->required();
	cmd->callback([o] {
		auto key = lpguard::SigningKey::load(o->key, o->cert);
		auto image = lpguard::ModuleImage::from_file(o->module);
		std::vector<uint8_t> appendix;
		std::size_t payload = lpguard::sign_module(image, key, o->hash, &appendix);
		std::filesystem::path out = o->out.empty() ? std::filesystem::path(o->module) : std::filesystem::path(o->out);
		unsigned mode = 0644;
		struct stat st;
		if (stat(o->module.c_str(), &st) == 0)
			mode = st.st_mode & 07777;
		lpguard::write_file_atomic(out, {std::span<const uint8_t>(image.bytes.data(), payload), appendix}, mode);
		std::cout << out.string() << ": signed by \"" << key.certificate().common_name() << "\" ("
			  << o->hash << ", serial " << key.certificate().serial_hex() << ")"
			  << (image.signature ? ", previous signature replaced" : "") << "\n";
	});
}

} // namespace cvmcli
