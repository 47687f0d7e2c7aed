// SPDX-License-Identifier: GPL-2.0
// cvm-cli inspect

#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/text.hpp"

namespace cvmcli {

namespace {

nlohmann::json compilers_json(const lpguard::ModuleImage &image)
{
	nlohmann::json out = nlohmann::json::array();
	for (const auto &c : image.compilers)
		out.push_back(lpguard::json_text(c));
	return out;
}

void print_compilers(std::ostream &out, const lpguard::ModuleImage &image)
{
	if (image.compilers.empty())
		out << "compiler:   unknown (.comment names none)\n";
	for (const auto &c : image.compilers)
		out << "compiler:   " << lpguard::printable(c) << "\n";
}

} // namespace

void add_inspect_command(CLI::App &app)
{
	struct Opts {
		std::vector<std::string> certs;
		std::string module;
		bool json = false;
	};
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("inspect", "Show a module's name, vermagic, livepatch tag, generation, size, SHA-256, "
						  "signature and whether it verifies");
	cmd->add_option("--cert", o->certs, "Verify against these certificates (file or directory; repeatable; "
					    "default keys/livepatch.crt when it exists)");
	cmd->add_flag("--json", o->json, "Print JSON (schema in docs/cvm-cli.md)");
	cmd->add_option("module", o->module, "Module to inspect")->required();
	cmd->callback([o] {
		auto image = lpguard::ModuleImage::from_file(o->module);
		std::vector<std::string> cert_paths = o->certs;
		std::error_code ec;
		if (cert_paths.empty() && std::filesystem::exists(kDefaultCert, ec))
			cert_paths.push_back(kDefaultCert);
		nlohmann::json verification = {{"verified", nullptr}, {"reason", nullptr}, {"signer", nullptr}, {"certificates", cert_paths}};
		if (cert_paths.empty()) {
			verification["reason"] = "no certificate given (--cert)";
		} else {
			auto r = lpguard::verify_module(image, load_certs(cert_paths));
			verification["verified"] = r.ok;
			if (!r.ok)
				verification["reason"] = r.reason;
			if (r.signer_subject)
				verification["signer"] = *r.signer_subject;
		}
		nlohmann::json sig = nullptr;
		if (image.signature) {
			const auto &s = *image.signature;
			sig = {{"hash_algo", s.hash_algo},
			       {"signer", lpguard::json_or_null(s.signer)},
			       {"serial", lpguard::json_or_null(s.serial_hex)},
			       {"key_id", lpguard::json_or_null(s.key_id_hex)},
			       {"pkcs7_size", s.pkcs7_der.size()}};
		}
		nlohmann::json modinfo = nlohmann::json::array();
		bool tagged = false;
		for (const auto &[k, v] : image.modinfo) {
			modinfo.push_back({lpguard::json_text(k), lpguard::json_text(v)});
			tagged |= k == lpguard::kGenerationTag;
		}
		nlohmann::json j = {{"path", o->module},
				    {"name", image.name},
				    {"vermagic", image.vermagic},
				    {"release", lpguard::vermagic_release(image.vermagic)},
				    {"livepatch", lpguard::json_or_null(image.livepatch)},
				    {"generation", image.generation},
				    {"size", image.bytes.size()},
				    {"payload_size", image.payload_size},
				    {"sha256", image.sha256_hex()},
				    {"signature", sig},
				    {"verification", verification},
				    {"modinfo", modinfo},
				    {"compilers", compilers_json(image)}};
		if (o->json) {
			lpguard::print_json(std::cout, j);
			return;
		}
		std::cout << "file:       " << o->module << "\n"
			  << "name:       " << image.name << "\n"
			  << "vermagic:   " << image.vermagic << "\n"
			  << "livepatch:  " << (image.livepatch ? "yes (livepatch=" + *image.livepatch + ")" : "no") << "\n"
			  << "generation: " << image.generation << (tagged ? "" : " (no lpguard.generation= tag)") << "\n"
			  << "size:       " << image.bytes.size() << " bytes (" << image.payload_size << " signed)\n"
			  << "sha256:     " << image.sha256_hex() << "\n";
		if (!image.signature) {
			std::cout << "signature:  none\n";
		} else {
			const auto &s = *image.signature;
			std::cout << "signature:  PKCS#7, " << s.hash_algo << ", "
				  << (s.key_id_hex.empty() ? "signer \"" + s.signer + "\", serial " + s.serial_hex
							   : "key id " + s.key_id_hex)
				  << "\n";
		}
		std::cout << "verifies:   ";
		if (verification["verified"].is_null())
			std::cout << "unknown: " << verification["reason"].get<std::string>() << "\n";
		else if (verification["verified"].get<bool>())
			std::cout << "yes, by " << verification["signer"].get<std::string>() << "\n";
		else
			std::cout << "NO: " << verification["reason"].get<std::string>() << "\n";
		print_compilers(std::cout, image);
	});
}

} // namespace cvmcli
