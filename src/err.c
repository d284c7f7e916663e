/* err.c -- first-failure error records with a message (see err.h). */
#include "config.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* S (SIZE bytes, SIZE >= 4) holds a text cut to fit: end it with "..."
 * after a whole UTF-8 character, not inside one. */
static void
mark_cut(char *s, size_t size)
{
	size_t cut = size - 4;

	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(s + cut, "...", 4);
}

int
ckpt_fail(struct ckpt_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(err->msg))
		mark_cut(err->msg, sizeof(err->msg));
	return code;
}

void
ckpt_err_append(struct ckpt_err *err, const char *tail, bool whole)
{
	size_t len, tl = strlen(tail), room = sizeof(err->msg) - 1;

	if (err == NULL || err->code == 0)
		return;
	len = strlen(err->msg);
	if (!whole || tl + 3 > room) {
		snprintf(err->msg + len, sizeof(err->msg) - len, "%s", tail);
		if (len + tl > room)
			mark_cut(err->msg, sizeof(err->msg));
		return;
	}
	if (len + tl > room) {
		/* the message's end gives way to TAIL, after "..." */
		len = room - tl - 3;
		while (len > 0 && ((unsigned char)err->msg[len] & 0xc0) == 0x80)
			len--;
		memcpy(err->msg + len, "...", 3);
		len += 3;
	}
	memcpy(err->msg + len, tail, tl + 1);
}

void
ckpt_err_clear(struct ckpt_err *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *
ckpt_err_str(const struct ckpt_err *err, int code)
{
	if (err != NULL && err->code != 0 && err->msg[0] != '\0')
		return err->msg;
	return strerror(code < 0 ? -code : code);
}

void
ckpt_err_prepend(struct ckpt_err *err, const char *prefix)
{
	char tmp[sizeof(err->msg)];
	size_t pl;

	if (err == NULL || err->code == 0)
		return;
	pl = strlen(prefix);
	if (pl > sizeof(tmp) - 3)
		pl = sizeof(tmp) - 3;
	memcpy(tmp, prefix, pl);
	memcpy(tmp + pl, ": ", 2);
	/* Copy as much of the old message as fits, NUL included. */
	memcpy(tmp + pl + 2, err->msg, sizeof(tmp) - pl - 2);
	tmp[sizeof(tmp) - 1] = '\0';
	if (pl + 2 + strlen(err->msg) >= sizeof(tmp))
		mark_cut(tmp, sizeof(tmp));
	memcpy(err->msg, tmp, sizeof(tmp));
}
