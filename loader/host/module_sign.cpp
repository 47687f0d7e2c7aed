// SPDX-License-Identifier: GPL-2.0
// Module signing, byte-compatible with the kernel's scripts/sign-file.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "lpguard/core/module_parse.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace {

const std::string kKeygenHint = "create a key pair with: cvm-cli generate-livepatch-keys --out keys";

std::vector<uint8_t> read_key_file(const std::filesystem::path &p, const char *what)
{
	return read_file(p, what, Kind::key, kKeygenHint);
}

int no_passphrase(char *, int, int, void *) { return -1; }

} // namespace

struct SigningKey::Impl {
	ossl::Pkey pkey;
	std::optional<Certificate> cert;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey &&) noexcept = default;
SigningKey &SigningKey::operator=(SigningKey &&) noexcept = default;
const Certificate &SigningKey::certificate() const { return *impl_->cert; }
void *SigningKey::pkey() const { return impl_->pkey.get(); }

SigningKey SigningKey::load(const std::filesystem::path &key, const std::filesystem::path &cert)
{
	auto impl = std::make_unique<Impl>();
	auto kb = read_key_file(key, "signing key");
	ERR_clear_error();
	auto bio = ossl::mem_bio(kb.data(), kb.size());
	impl->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
	OPENSSL_cleanse(kb.data(), kb.size());
	if (!impl->pkey)
		throw Error("cannot load signing key " + key.string(),
			    "not an unencrypted PEM private key (" + ossl::last_error() + ")",
			    "pass the livepatch.key written by cvm-cli generate-livepatch-keys", Kind::key);
	auto cb = read_key_file(cert, "certificate");
	auto first = [&] { return std::move(Certificate::parse_all(cb).front()); };
	impl->cert.emplace(with_path(cert, first, " in "));
	ERR_clear_error();
	if (X509_check_private_key(static_cast<X509 *>(impl->cert->x509()), impl->pkey.get()) != 1)
		throw Error("signing key " + key.string() + " does not match certificate " + cert.string(),
			    "the certificate holds a different public key",
			    "pass the livepatch.crt generated together with this key", Kind::key);
	return SigningKey(std::move(impl));
}

namespace {

// The CMS signature over everything `in` yields, made with the same calls
// and flags as scripts/sign-file, so that the DER output is byte-identical
// for deterministic (RSA PKCS#1 v1.5) keys. check_input (if set) runs
// right after the input is consumed and throws if it could not all be
// read: CMS_final takes a read error for the end of the data.
std::vector<uint8_t> sign_bio(BIO *in, const SigningKey &key, const std::string &hash,
			      const std::function<void()> &check_input = {})
{
	if (!signature_hash_accepted(hash))
		throw Error("cannot sign", "hash \"" + hash + "\" is not supported",
			    "use --hash " + signature_hash_list(), Kind::usage);
	const EVP_MD *md = EVP_get_digestbyname(hash.c_str());
	auto fail = [](const char *step) {
		return Error("cannot sign", std::string(step) + " failed: " + ossl::last_error(),
			     "check that the key is RSA or ECDSA and usable for signing", Kind::key);
	};
	ERR_clear_error();
	if (!md)
		throw fail("EVP_get_digestbyname");
	ossl::Cms cms(CMS_sign(nullptr, nullptr, nullptr, nullptr,
			       CMS_NOCERTS | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED | CMS_STREAM));
	if (!cms)
		throw fail("CMS_sign");
	if (!CMS_add1_signer(cms.get(), static_cast<X509 *>(key.certificate().x509()),
			     static_cast<EVP_PKEY *>(key.pkey()), md,
			     CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR))
		throw fail("CMS_add1_signer");
	int final_ok = CMS_final(cms.get(), in, nullptr, CMS_NOCERTS | CMS_BINARY);
	if (check_input)
		check_input();
	if (final_ok != 1)
		throw fail("CMS_final");
	ossl::Bio out(BIO_new(BIO_s_mem()));
	if (!out || i2d_CMS_bio_stream(out.get(), cms.get(), nullptr, 0) != 1)
		throw fail("i2d_CMS_bio_stream");
	char *p = nullptr;
	long n = BIO_get_mem_data(out.get(), &p);
	if (n <= 0)
		throw fail("encoding");
	return std::vector<uint8_t>(p, p + n);
}

// A source BIO that reads bytes [0, end) of a file with pread(). Under a
// 64 KiB buffer BIO it feeds the digest from a small reused buffer, which
// is much cheaper than touching every page of a mapping of the module.
struct FileWindow {
	int fd;
	uint64_t off, end;
	int err; // errno of a failed read; off < end after an early end of file
};

int file_window_read(BIO *b, char *buf, int len)
{
	auto *w = static_cast<FileWindow *>(BIO_get_data(b));
	if (w->off >= w->end || len <= 0)
		return 0;
	std::size_t want = std::size_t(std::min<uint64_t>(uint64_t(len), w->end - w->off));
	ssize_t n;
	do
		n = pread(w->fd, buf, want, off_t(w->off));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		w->err = n < 0 ? errno : 0;
		return -1;
	}
	w->off += uint64_t(n);
	return int(n);
}

long file_window_ctrl(BIO *, int cmd, long, void *)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD *file_window_method()
{
	static const BIO_METHOD *method = [] {
		BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lpguard file window");
		if (m && (BIO_meth_set_read(m, file_window_read) != 1 || BIO_meth_set_ctrl(m, file_window_ctrl) != 1)) {
			BIO_meth_free(m);
			m = nullptr;
		}
		return m;
	}();
	return method;
}

Error out_of_memory()
{
	return Error("cannot sign", "out of memory", "free memory and retry", Kind::internal);
}

// The bytes to sign: the module without its signatures (never stacked),
// refused unless it is a kernel module.
std::span<const uint8_t> unsigned_payload(std::span<const uint8_t> module)
{
	auto payload = strip_signatures(module);
	parse_module_view(payload);
	return payload;
}

std::vector<uint8_t> with_trailer(std::vector<uint8_t> sig)
{
	auto trailer = make_signature_trailer(sig.size());
	sig.insert(sig.end(), trailer.begin(), trailer.end());
	return sig;
}

} // namespace

std::vector<uint8_t> make_pkcs7_signature(std::span<const uint8_t> payload, const SigningKey &key,
					  const std::string &hash)
{
	auto in = ossl::mem_bio(payload.data(), payload.size());
	if (!in)
		throw out_of_memory();
	return sign_bio(in.get(), key, hash);
}

std::size_t sign_module(const ModuleImage &image, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix)
{
	auto payload = unsigned_payload(image.bytes);
	*appendix = with_trailer(make_pkcs7_signature(payload, key, hash));
	return payload.size();
}

std::size_t sign_module(const MappedFile &in, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix)
{
	// Trailer and ELF checks read a few pages of the mapping; the digest
	// reads the payload from the file, and write_signed_module copies it
	// from there again (as sign-file reads it twice). A module rewritten
	// meanwhile can get a signature over other bytes than the output
	// holds: verification refuses it.
	auto payload = unsigned_payload(in.bytes());
	FileWindow win{in.fd(), 0, payload.size(), 0};
	const BIO_METHOD *method = file_window_method();
	ossl::Bio src(method ? BIO_new(method) : nullptr);
	ossl::Bio buffered(BIO_new(BIO_f_buffer()));
	if (!src || !buffered || BIO_set_read_buffer_size(buffered.get(), 64 * 1024) != 1)
		throw out_of_memory();
	BIO_set_data(src.get(), &win);
	BIO_set_init(src.get(), 1);
	BIO *chain = BIO_push(buffered.get(), src.release()); // buffered now owns src
	*appendix = with_trailer(sign_bio(chain, key, hash, [&] {
		if (win.err || win.off != win.end)
			throw Error("cannot read module",
				    win.err ? std::string(std::strerror(win.err)) + " while hashing it"
					    : std::string("the file got shorter while it was hashed"),
				    "check that nothing rewrites the file and retry", Kind::input);
	}));
	return payload.size();
}

void write_signed_module(const std::filesystem::path &path, const MappedFile &in, std::size_t payload_size,
			 std::span<const uint8_t> appendix, unsigned mode)
{
	write_file_atomic(path, mode, Durability::volatile_, [&](int fd) {
		loff_t off = 0;
		std::size_t left = payload_size;
		while (left > 0) {
			ssize_t n = copy_file_range(in.fd(), &off, fd, nullptr, left, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; // not supported here: write the rest from the mapping
			left -= std::size_t(n);
		}
		if (left > 0)
			if (int err = write_all(fd, in.bytes().data() + (payload_size - left), left))
				return err;
		return write_all(fd, appendix.data(), appendix.size());
	});
}

} // namespace lpguard
