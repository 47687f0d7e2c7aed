// SPDX-License-Identifier: GPL-2.0
// cvm-cli sign

#include <iostream>

#include "commands.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/host/module_sign.hpp"

namespace cvmcli {

void add_generation_option(CLI::App *cmd, std::optional<uint32_t> &generation)
{
	CLI::Validator valid(
		[](std::string &s) {
			return lpguard::parse_generation(s) ? std::string()
							    : "generation \"" + s + "\" is not a decimal number 0..4294967295 "
										    "without leading zeros";
		},
		"0..4294967295");
	cmd->add_option_function<std::string>(
		   "--generation", [&generation](const std::string &s) { generation = lpguard::parse_generation(s); },
		   "Set lpguard.generation=N in .modinfo before signing (replacing any); lpguard refuses a "
		   "livepatch of a lower generation than one enabled since boot")
		->type_name("N")
		->check(valid);
}

namespace {

// Runs f; what is wrong with the module names it, key errors name the key.
template <typename F> decltype(auto) naming_module(const std::string &module, F &&f)
{
	try {
		return f();
	} catch (lpguard::Error &e) {
		if (e.kind() == lpguard::Kind::input)
			e.add_path(module);
		throw;
	}
}

// Signs the module as it is: hashed from the file and copied with
// copy_file_range, the fast path for large modules.
void sign_file(const std::string &module, const std::filesystem::path &out, const lpguard::SigningKey &key,
	       const std::string &hash, bool *was_signed)
{
	// Mapped for the checks, read once for the digest, copied in the kernel.
	lpguard::MappedFile in(module, "module", lpguard::Kind::input);
	std::vector<uint8_t> appendix;
	std::size_t payload = naming_module(module, [&] { return lpguard::sign_module(in, key, hash, &appendix); });
	// sign_module strips existing signatures: a shorter payload means there was one.
	*was_signed = payload < in.bytes().size();
	lpguard::write_signed_module(out, in, payload, appendix, in.mode());
}

// Sets the generation first: the edited module is signed from memory.
void sign_with_generation(const std::string &module, const std::filesystem::path &out, uint32_t generation,
			  const lpguard::SigningKey &key, const std::string &hash, bool *was_signed)
{
	lpguard::MappedFile in(module, "module", lpguard::Kind::input);
	std::vector<uint8_t> appendix;
	auto image = naming_module(module, [&] {
		*was_signed = lpguard::strip_signatures(in.bytes()).size() < in.bytes().size();
		return lpguard::ModuleImage::from_bytes(lpguard::with_generation(in.bytes(), generation));
	});
	std::size_t payload = naming_module(module, [&] { return lpguard::sign_module(image, key, hash, &appendix); });
	lpguard::write_file_atomic(out, {std::span<const uint8_t>(image.bytes.data(), payload), appendix}, in.mode(),
				   lpguard::Durability::volatile_);
}

} // namespace

void add_sign_command(CLI::App &app)
{
	struct Opts {
		std::string key = kDefaultKey, cert = kDefaultCert, hash = "sha256", out, module;
		std::optional<uint32_t> generation;
	};
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("sign", "Sign a module in the kernel's scripts/sign-file format "
					       "(an existing signature is replaced)");
	cmd->add_option("--key", o->key, "Private key (PEM)")->capture_default_str();
	cmd->add_option("--cert", o->cert, "Certificate of the key (PEM or DER)")->capture_default_str();
	cmd->add_option("--hash", o->hash, "Digest")
		->check(CLI::IsMember(hash_names()))
		->capture_default_str();
	add_generation_option(cmd, o->generation);
	cmd->add_option("-o,--output", o->out, "Write the signed module here (default: replace MODULE.ko)");
	cmd->add_option("module", o->module, "Module to sign")->required();
	cmd->callback([o] {
		auto key = lpguard::SigningKey::load(o->key, o->cert);
		std::filesystem::path out = o->out.empty() ? std::filesystem::path(o->module) : std::filesystem::path(o->out);
		bool was_signed = false;
		if (o->generation)
			sign_with_generation(o->module, out, *o->generation, key, o->hash, &was_signed);
		else
			sign_file(o->module, out, key, o->hash, &was_signed);
		std::cout << out.string() << ": signed by \"" << key.certificate().common_name() << "\" ("
			  << o->hash << ", serial " << key.certificate().serial_hex() << ")"
			  << (o->generation ? ", generation " + std::to_string(*o->generation) : "")
			  << (was_signed ? ", previous signature replaced" : "") << "\n";
	});
}

} // namespace cvmcli
