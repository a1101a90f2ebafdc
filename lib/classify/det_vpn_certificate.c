/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "vpn_certificate": a VPN's TLS or DTLS server, by the certificate it shows.
 * Under TLS 1.2 and DTLS the server's certificate crosses in the clear, and nDPI reads
 * its subject and issuer ("C=.., O=.., CN=.."). Two rules:
 *
 *   - the subject's or the issuer's organisation (O=) is a VPN provider's name, below;
 *   - the server signed its certificate itself (subject and issuer alike) for an IP
 *     address (its CN= an address, no name), and the client named no server: no site
 *     presents itself that way to browsers (they would refuse it), while a VPN client,
 *     which carries its servers' addresses and pins their keys, needs no more. This is
 *     what a "stealth" mode of a VPN that hides in TLS on port 443 looks like.
 *
 * A flow whose server name or address is in a list is judged by that first, so this
 * speaks for the flows the lists leave alone; a system of the operator's own reached by
 * address behind a self-signed certificate belongs in an address list. TLS 1.3 encrypts
 * the certificate: such flows say nothing here. Looks at the first six payloads each
 * way, as long as nDPI reads the handshake. Worker thread; stateless.
 *
 * The providers (brand, and the operating company where the provider's own terms name a
 * different one), compiled 2026-11-29 from the providers' published names; Windscribe's
 * as its servers' certificates carry it ("O=Windscribe"). Matched case-insensitively,
 * whole, or followed by a character that is no letter or digit ("Windscribe Limited").
 */

#include <arpa/inet.h>
#include <ctype.h>

#include "bwg_classify.h"
#include "det_common.h"

static const char *const providers[] = {
	"Windscribe",     "NordVPN",      "Tefincom",         "ExpressVPN",
	"Express VPN",    "Surfshark",    "Mullvad",          "Private Internet Access",
	"CyberGhost",     "IPVanish",     "PureVPN",          "Hotspot Shield",
	"AnchorFree",     "TunnelBear",   "VyprVPN",          "Golden Frog",
	"Psiphon",        "ProtonVPN",    "Astrill",          "Brave New Software",
	"UltraReach",     "SoftEther",    "hide.me",          "Hide My Ass",
	"Privax",         "Betternet",    "Turbo VPN",        "Innovative Connecting",
};

#define VALUE_MAX 128

static bool
provider(const char *org)
{
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		size_t n = strlen(providers[i]);
		if (strncasecmp(org, providers[i], n) == 0 &&
		    !isalnum((unsigned char)org[n]))
			return true;
	}
	return false;
}

static bool
provider_named(const char *dn)
{
	char org[VALUE_MAX];
	return dn && bwg_cert_dn_value(dn, "O", org, sizeof(org)) && provider(org);
}

static bool
ip_literal(const char *s)
{
	uint8_t a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const struct bwg_dpi_result *r = p->dpi;
	if (!r || !r->cert_subject)
		return BWG_DET_MAYBE;
	if (provider_named(r->cert_subject) || provider_named(r->cert_issuer))
		return BWG_DET_MATCH;
	char cn[VALUE_MAX];
	if (r->cert_issuer && strcmp(r->cert_subject, r->cert_issuer) == 0 &&
	    (!r->host || !r->host[0]) && !r->cert_names &&
	    bwg_cert_dn_value(r->cert_subject, "CN", cn, sizeof(cn)) && ip_literal(cn))
		return BWG_DET_MATCH;
	return BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_vpn_certificate = {
	.name = "vpn_certificate",
	.rule = "a VPN's TLS server certificate: a VPN provider's organisation, or self-signed "
		"for an IP address when no server name was asked",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP | BWG_DET_UDP,
	.max_payloads = 6,
	.unknown_only = false,
	.packet = packet,
};
