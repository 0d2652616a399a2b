/*
 * out_json.c: JSON text for --json output (RFC 8259).
 *
 * Only what rpx prints: strings with the escapes JSON requires. Numbers are
 * printed by the callers with printf; objects are one per line, so a script
 * can read them with any line-oriented tool.
 */
#include "rpx.h"

void rpx_json_string(FILE *out, const char *s)
{
	const unsigned char *p;

	putc('"', out);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			/* RFC 8259 §7: control characters must be escaped; bytes >= 0x80 pass as UTF-8. */
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				putc(*p, out);
		}
	}
	putc('"', out);
}
