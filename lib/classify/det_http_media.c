/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "http_media": video fetched over plain HTTP, as adaptive streaming players
 * and video downloads do it, by what nDPI 4.2 has parsed of the exchange (the request
 * URL, the response's Content-Type) without naming the service:
 *
 *   - MPEG-DASH (ISO/IEC 23009-1): the manifest is an .mpd file served as
 *     application/dash+xml, the media segments .m4s (or whole .mp4) files;
 *   - HLS (RFC 8216, section 4): playlists are .m3u8 files served as
 *     application/vnd.apple.mpegurl (or the older application/x-mpegurl, audio/mpegurl);
 *   - media files: a request for .mp4, .m4v, .flv or .webm, or a response of RFC 2046's
 *     top-level type "video" (video/mp4, video/webm, video/mp2t segments...).
 *
 * The URL's path (before any '?' or '#') must end with one of those extensions, compared
 * without regard to case. The URL is nDPI's; the response's type is nDPI's when the
 * response is the first thing it parsed, else read here from the response head (a
 * "Content-Type:" header line before the blank line, RFC 9112). Not unknown-only: it
 * refines nDPI's generic "HTTP" (and HTTP apps no class claims); named services and hosts
 * in a class's lists decide first, so a government site's training video stays business.
 * Looks at the first four payloads each way: the request and the response head. Worker
 * thread; stateless.
 */

#include <string.h>
#include <strings.h>

#include "bwg_classify.h"

static const char *const extensions[] = {".mpd", ".m3u8", ".m4s", ".mp4", ".m4v", ".flv",
					 ".webm"};

static const char *const playlist_types[] = {"application/dash+xml",
					     "application/vnd.apple.mpegurl",
					     "application/x-mpegurl", "audio/mpegurl",
					     "audio/x-mpegurl"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool
media_url(const char *url)
{
	size_t n = strcspn(url, "?#");
	for (size_t i = 0; i < N(extensions); i++) {
		size_t m = strlen(extensions[i]);
		if (n > m && strncasecmp(url + n - m, extensions[i], m) == 0)
			return true;
	}
	return false;
}

/* A media type in ct[0..len): its type/subtype before any parameter. */
static bool
media_type(const char *ct, size_t len)
{
	size_t i = 0;
	while (i < len && (ct[i] == ' ' || ct[i] == '\t'))
		i++;
	ct += i, len -= i;
	size_t n = 0;
	while (n < len && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t' && ct[n] != '\r')
		n++;
	if (n > 6 && strncasecmp(ct, "video/", 6) == 0)
		return true;
	for (size_t k = 0; k < N(playlist_types); k++)
		if (n == strlen(playlist_types[k]) && strncasecmp(ct, playlist_types[k], n) == 0)
			return true;
	return false;
}

/* The Content-Type of an HTTP/1.x response head in b[0..n). */
static bool
response_media_type(const uint8_t *b, uint32_t n)
{
	static const char status[] = "HTTP/1.", field[] = "content-type:";
	if (n < sizeof(status) - 1 || memcmp(b, status, sizeof(status) - 1) != 0)
		return false;
	const char *s = (const char *)b;
	for (uint32_t at = 0; at < n;) {
		const char *eol = memchr(s + at, '\n', n - at);
		uint32_t end = eol ? (uint32_t)(eol - s) : n;
		uint32_t line = end - at;
		if (line <= 1) /* the blank line: no more header fields */
			return false;
		if (line > sizeof(field) - 1 &&
		    strncasecmp(s + at, field, sizeof(field) - 1) == 0)
			return media_type(s + at + sizeof(field) - 1, line - (sizeof(field) - 1));
		at = end + 1;
	}
	return false;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const struct bwg_dpi_result *r = p->dpi;
	if (r && r->url && media_url(r->url))
		return BWG_DET_MATCH;
	if (r && r->content_type && media_type(r->content_type, strlen(r->content_type)))
		return BWG_DET_MATCH;
	return response_media_type(p->payload, p->len) ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_http_media = {
	.name = "http_media",
	.rule = "HTTP video: a URL path ending .mpd .m3u8 .m4s .mp4 .m4v .flv .webm, or a response "
		"of type video/..., application/dash+xml or an HLS playlist",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 4,
	.unknown_only = false,
	.packet = packet,
};
