/* err.c -- first-failure error records with a message (see err.h). */
#include "config.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
ckpt_fail(struct ckpt_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != 0)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
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
	memcpy(err->msg, tmp, sizeof(tmp));
}
