// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/ima_log.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include "lpguard/core/byte_cursor.hpp"
#include "lpguard/core/error.hpp"

namespace lpguard {

namespace {

constexpr std::size_t kNameLenMax = 255;	  // IMA_EVENT_NAME_LEN_MAX
constexpr std::size_t kTemplateNameMax = 64;	  // longer than any IMA template name or format
constexpr std::size_t kTemplateDataMax = 1 << 24; // IMA's own sanity bound on restored entries
constexpr std::size_t kImaDigestLen = 20;	  // the "ima" template's SHA-1 field

[[noreturn]] void bad_log(const std::string &why)
{
	throw Error("invalid IMA measurement list", why,
		    "send /sys/kernel/security/ima/binary_runtime_measurements_sha256 unchanged", Kind::input);
}

Sha256 sha256_of(std::initializer_list<std::span<const uint8_t>> parts)
{
	Sha256 out{};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
	for (auto p : parts)
		ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size());
	unsigned n = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &n);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		throw Error("cannot compute SHA-256", "OpenSSL failed", "report a bug", Kind::internal);
	return out;
}

} // namespace

bool ImaEntry::violation() const
{
	return std::all_of(template_digest.begin(), template_digest.end(), [](uint8_t b) { return b == 0; });
}

std::vector<ImaEntry> parse_ima_log(std::span<const uint8_t> bytes)
{
	std::vector<ImaEntry> log;
	ByteCursor c(bytes, bad_log);
	while (!c.done()) {
		ImaEntry e;
		const std::string at = "entry " + std::to_string(log.size() + 1) + ": ";
		e.pcr = c.le<uint32_t>("pcr");
		if (e.pcr > 23)
			bad_log(at + "PCR " + std::to_string(e.pcr) + " does not exist");
		auto d = c.take(32, "template digest");
		std::copy(d.begin(), d.end(), e.template_digest.begin());
		uint32_t name_len = c.le<uint32_t>("template name length");
		if (name_len == 0 || name_len > kTemplateNameMax)
			bad_log(at + "template name length " + std::to_string(name_len) + " is not 1.." +
				std::to_string(kTemplateNameMax));
		auto name = c.take(name_len, "template name");
		e.template_name.assign(name.begin(), name.end());
		if (e.template_name == "ima") {
			// d (20 bytes, no length), n (u32 length, the name without NUL)
			auto digest = c.take(kImaDigestLen, "ima template digest field");
			uint32_t n = c.le<uint32_t>("ima template name length");
			if (n > kNameLenMax)
				bad_log(at + "ima template file name of " + std::to_string(n) + " bytes");
			auto fname = c.take(n, "ima template file name");
			e.fields = {{digest.begin(), digest.end()}, {fname.begin(), fname.end()}};
			e.template_data.assign(digest.begin(), digest.end());
			e.template_data.insert(e.template_data.end(), fname.begin(), fname.end());
		} else {
			uint32_t len = c.le<uint32_t>("template data length");
			if (len > kTemplateDataMax)
				bad_log(at + "template data of " + std::to_string(len) + " bytes");
			auto data = c.take(len, "template data");
			e.template_data.assign(data.begin(), data.end());
			ByteCursor f(data, bad_log);
			while (!f.done()) {
				uint32_t flen = f.le<uint32_t>("template field length");
				auto field = f.take(flen, "template field");
				e.fields.emplace_back(field.begin(), field.end());
			}
		}
		log.push_back(std::move(e));
	}
	return log;
}

Sha256 ima_template_hash(const ImaEntry &e)
{
	if (e.template_name != "ima")
		return sha256_of({e.template_data});
	uint8_t name[kNameLenMax + 1] = {};
	const auto &fname = e.fields.at(1);
	std::copy_n(fname.begin(), std::min(fname.size(), kNameLenMax), name); // an empty name: no copy
	return sha256_of({e.fields.at(0), std::span<const uint8_t>(name, sizeof(name))});
}

Sha256 ima_extend_value(const ImaEntry &e)
{
	if (!e.violation())
		return e.template_digest;
	Sha256 ff;
	ff.fill(0xff);
	return ff;
}

void pcr_extend(Sha256 &pcr, const Sha256 &value) { pcr = sha256_of({pcr, value}); }

std::map<uint32_t, Sha256> replay_ima_log(const std::vector<ImaEntry> &log, std::size_t count)
{
	std::map<uint32_t, Sha256> pcrs;
	for (std::size_t i = 0; i < log.size() && i < count; i++)
		pcr_extend(pcrs.try_emplace(log[i].pcr, Sha256{}).first->second, ima_extend_value(log[i]));
	return pcrs;
}

ImaBuf parse_ima_buf(const ImaEntry &e)
{
	if (e.template_name != "ima-buf")
		bad_log("template " + e.template_name + " is not ima-buf");
	if (e.fields.size() != 3)
		bad_log("ima-buf entry with " + std::to_string(e.fields.size()) + " fields, not 3 (d-ng|n-ng|buf)");
	ImaBuf b;
	const auto &d = e.fields[0];
	auto colon = std::find(d.begin(), d.end(), uint8_t(':'));
	if (colon == d.end() || colon + 1 == d.end() || colon[1] != 0 || colon == d.begin())
		bad_log("ima-buf d-ng field is not <algo>:\\0<digest>");
	b.digest_algo.assign(d.begin(), colon);
	b.digest.assign(colon + 2, d.end());
	const auto &n = e.fields[1];
	if (n.empty() || n.back() != 0 || std::find(n.begin(), n.end(), uint8_t(0)) != n.end() - 1)
		bad_log("ima-buf n-ng field is not one NUL-terminated name");
	b.event_name.assign(n.begin(), n.end() - 1);
	b.buf = e.fields[2];
	return b;
}

} // namespace lpguard
