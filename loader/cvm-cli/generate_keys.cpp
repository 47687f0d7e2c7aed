// SPDX-License-Identifier: GPL-2.0
// cvm-cli generate-livepatch-keys

#include <iostream>

#include "commands.hpp"
#include "lpguard/host/keygen.hpp"

namespace cvmcli {

void add_generate_keys_command(CLI::App &app)
{
	struct Opts {
		std::string out = "keys", type = "rsa4096", subject = "lpguard livepatch signing key";
		int days = 3650;
		bool force = false;
	};
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("generate-livepatch-keys",
				       "Create the livepatch signing key (livepatch.key, mode 0600) and its "
				       "certificate (livepatch.crt PEM, livepatch.der DER)");
	cmd->add_option("--out", o->out, "Output directory")->capture_default_str();
	cmd->add_option("--type", o->type, "Key type; kernels verify ecdsa-p384 only with ECDSA support built in")
		->check(CLI::IsMember({"rsa4096", "ecdsa-p384"}))
		->capture_default_str();
	cmd->add_option("--subject", o->subject, "Certificate commonName")->capture_default_str();
	cmd->add_option("--days", o->days, "Certificate validity in days")->capture_default_str();
	cmd->add_flag("--force", o->force, "Replace existing key files");
	cmd->callback([o] {
		lpguard::KeygenOptions k;
		k.out_dir = o->out;
		k.type = lpguard::parse_key_type(o->type);
		k.subject = o->subject;
		k.days = o->days;
		k.force = o->force;
		auto r = lpguard::generate_livepatch_keys(k);
		std::cout << "Wrote " << r.key.string() << " (private key, mode 0600: keep it offline and backed up)\n"
			  << "      " << r.crt.string() << " (certificate, PEM) and " << r.der.string() << " (DER)\n"
			  << "Subject: " << r.subject << "; serial " << r.serial_hex << "; key id " << r.key_id_hex
			  << "\n\n"
			  << "Next: build the certificate into the image kernel:\n"
			  << "  make KDIR=/path/to/kernel-source IMAGE_CONFIG=/path/to/image.config LPGUARD_CERTS="
			  << r.der.string() << " image-kernel\n"
			  << "puts it in lpguard's sealed .livepatch keyring (CONFIG_SECURITY_LPGUARD_CERTS) and adds it to the\n"
			  << "image's own CONFIG_SYSTEM_TRUSTED_KEYS, keeping every key the image trusted before, so module\n"
			  << "signature checking accepts it. Configuring by hand instead: CONFIG_SECURITY_LPGUARD_CERTS=\""
			  << r.crt.string() << "\" and append " << r.crt.string() << "\n"
			  << "to the PEM bundle the image's CONFIG_SYSTEM_TRUSTED_KEYS names (do not replace that value: the\n"
			  << "image's own trusted keys would be dropped).\n";
		if (k.type == lpguard::KeyType::ecdsa_p384)
			std::cout << "  ECDSA keys also need CONFIG_CRYPTO_ECDSA=y (and CONFIG_MODULE_SIG_KEY_TYPE_ECDSA "
				     "for a kernel signing its own modules with ECDSA)\n";
		std::cout << "Then sign livepatches with: cvm-cli sign --key " << r.key.string() << " --cert "
			  << r.crt.string() << " PATCH.ko\n";
	});
}

} // namespace cvmcli
