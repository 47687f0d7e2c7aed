// SPDX-License-Identifier: GPL-2.0
// Internal helpers around OpenSSL 3: owning pointers and error text.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lpguard/core/text.hpp"

namespace lpguard::ossl {

template <auto Fn> struct Deleter {
	template <typename T> void operator()(T *p) const { Fn(p); }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Cms = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
struct X509StackFree {
	void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Octets = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;

// The last OpenSSL error as one short line ("unknown OpenSSL error" when the
// queue is empty); clears the queue.
inline std::string last_error()
{
	unsigned long last = 0, e;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown OpenSSL error";
	char buf[256];
	ERR_error_string_n(last, buf, sizeof(buf));
	const char *reason = ERR_reason_error_string(last);
	return reason ? std::string(reason) : std::string(buf);
}

inline Bio mem_bio(const void *data, std::size_t len)
{
	return Bio(BIO_new_mem_buf(data, static_cast<int>(len)));
}

std::string name_oneline(const X509_NAME *name);
std::string name_common_name(const X509_NAME *name);
std::string integer_hex(const ASN1_INTEGER *serial);

} // namespace lpguard::ossl
