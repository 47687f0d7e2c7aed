// SPDX-License-Identifier: GPL-2.0
// X.509 certificates: PEM bundles, single or concatenated DER, directories.

#include <algorithm>
#include <cctype>

#include <openssl/pem.h>

#include "lpguard/core/io.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace ossl {

std::string name_oneline(const X509_NAME *name)
{
	if (!name)
		return "";
	Bio b(BIO_new(BIO_s_mem()));
	if (!b || X509_NAME_print_ex(b.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0)
		return "";
	char *p = nullptr;
	long n = BIO_get_mem_data(b.get(), &p);
	return std::string(p, n > 0 ? std::size_t(n) : 0);
}

std::string name_common_name(const X509_NAME *name)
{
	if (!name)
		return "";
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return "";
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	unsigned char *utf8 = nullptr;
	int n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return "";
	std::string out(reinterpret_cast<char *>(utf8), std::size_t(n));
	OPENSSL_free(utf8);
	return out;
}

std::string integer_hex(const ASN1_INTEGER *serial)
{
	if (!serial)
		return "";
	std::string h = hex(ASN1_STRING_get0_data(serial), std::size_t(ASN1_STRING_length(serial)));
	if (h.empty())
		h = "00";
	return (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? "-" : "") + h;
}

} // namespace ossl

struct Certificate::Impl {
	ossl::X509Ptr x;
};

Certificate::Certificate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Certificate::~Certificate() = default;
Certificate::Certificate(Certificate &&) noexcept = default;
Certificate &Certificate::operator=(Certificate &&) noexcept = default;

std::string Certificate::subject() const { return ossl::name_oneline(X509_get_subject_name(impl_->x.get())); }
std::string Certificate::common_name() const { return ossl::name_common_name(X509_get_subject_name(impl_->x.get())); }
std::string Certificate::serial_hex() const { return ossl::integer_hex(X509_get0_serialNumber(impl_->x.get())); }
void *Certificate::x509() const { return impl_->x.get(); }

std::string Certificate::key_id_hex() const
{
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(impl_->x.get());
	if (!skid)
		return "";
	return hex(ASN1_STRING_get0_data(skid), std::size_t(ASN1_STRING_length(skid)));
}

namespace {

[[noreturn]] void bad_cert(const std::string &what, const std::string &why)
{
	throw Error(what, why,
		    "pass a PEM or DER X.509 certificate, e.g. keys/livepatch.crt from cvm-cli generate-livepatch-keys",
		    Kind::key);
}

bool looks_pem(const std::vector<uint8_t> &d)
{
	static const char marker[] = "-----BEGIN";
	return std::search(d.begin(), d.end(), marker, marker + sizeof(marker) - 1) != d.end();
}

} // namespace

std::vector<Certificate> Certificate::parse_all(const std::vector<uint8_t> &data)
{
	std::vector<Certificate> out;
	ERR_clear_error();
	if (looks_pem(data)) {
		auto bio = ossl::mem_bio(data.data(), data.size());
		for (;;) {
			X509 *x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
			if (!x)
				break;
			auto impl = std::make_unique<Impl>();
			impl->x.reset(x);
			out.push_back(Certificate(std::move(impl)));
		}
		unsigned long e = ERR_peek_last_error();
		if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			bad_cert("invalid PEM certificate", ossl::last_error());
		ERR_clear_error();
		if (out.empty())
			bad_cert("no certificate found", "the PEM data has no CERTIFICATE block");
		return out;
	}
	const unsigned char *p = data.data();
	const unsigned char *end = data.data() + data.size();
	while (p < end) {
		X509 *x = d2i_X509(nullptr, &p, static_cast<long>(end - p));
		if (!x)
			bad_cert("invalid DER certificate", ossl::last_error() + " at byte " + std::to_string(p - data.data()));
		auto impl = std::make_unique<Impl>();
		impl->x.reset(x);
		out.push_back(Certificate(std::move(impl)));
	}
	if (out.empty())
		bad_cert("no certificate found", "the data is empty");
	return out;
}

static std::vector<uint8_t> read_certificate(const std::filesystem::path &path)
{
	return read_file(path, "certificate", Kind::key);
}

Certificate Certificate::from_file(const std::filesystem::path &path)
{
	auto data = read_certificate(path);
	auto first = [&] { return std::move(parse_all(data).front()); };
	return with_path(path, first, " in ");
}

std::vector<Certificate> Certificate::load_all(const std::filesystem::path &file_or_dir)
{
	std::error_code ec;
	if (!std::filesystem::is_directory(file_or_dir, ec)) {
		auto data = read_certificate(file_or_dir);
		auto all = [&] { return parse_all(data); };
		return with_path(file_or_dir, all, " in ");
	}
	std::vector<std::filesystem::path> files;
	for (const auto &ent : std::filesystem::directory_iterator(file_or_dir, ec)) {
		std::string ext = ent.path().extension().string();
		std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
		if (ent.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".cer" || ext == ".der"))
			files.push_back(ent.path());
	}
	if (ec)
		throw Error("cannot list certificate directory " + file_or_dir.string(), ec.message(),
			    "check the path and its permissions", Kind::key);
	std::sort(files.begin(), files.end());
	std::vector<Certificate> out;
	for (const auto &f : files) {
		auto certs = load_all(f);
		for (auto &c : certs)
			out.push_back(std::move(c));
	}
	if (out.empty())
		throw Error("no certificates in " + file_or_dir.string(),
			    "the directory has no .pem, .crt, .cer or .der file",
			    "copy the livepatch certificate (livepatch.crt) into it", Kind::key);
	return out;
}

} // namespace lpguard
