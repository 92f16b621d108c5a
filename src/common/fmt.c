/* SPDX-License-Identifier: MIT */
/*
 * fmt.c - freestanding snprintf subset; see fmt.h. Output past `size` is
 * counted but not written, and the buffer is always NUL-terminated when
 * size > 0.
 */
#include "common/fmt.h"

#include <stdint.h>

struct out {
	char *buf;
	size_t size;
	size_t len; /* characters the text needs so far */
};

static void out_putc(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, size_t n)
{
	while (n--)
		out_putc(o, ' ');
}

static void out_text(struct out *o, const char *s, size_t n, unsigned width, int left)
{
	if (!left && width > n)
		out_pad(o, width - n);
	for (size_t i = 0; i < n; i++)
		out_putc(o, s[i]);
	if (left && width > n)
		out_pad(o, width - n);
}

static void out_number(struct out *o, unsigned long long v, int neg, unsigned base,
		       unsigned width, int left)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	do {
		tmp[--n] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[--n] = '-';
	out_text(o, tmp + n, sizeof(tmp) - n, width, left);
}

size_t buddy_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			out_putc(&o, *f);
			continue;
		}
		f++;
		int left = 0;
		unsigned width = 0;
		if (*f == '-') {
			left = 1;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (unsigned)(*f++ - '0');
		int size_mod = 0; /* 'z', 'l' or 'L' (ll) */
		if (*f == 'z' || *f == 'l') {
			size_mod = (unsigned char)*f++;
			if (size_mod == 'l' && *f == 'l') {
				size_mod = 'L';
				f++;
			}
		}
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = 0;
			while (s[n])
				n++;
			out_text(&o, s, n, width, left);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			out_text(&o, &c, 1, width, left);
			break;
		}
		case 'd': {
			long long v = size_mod == 'l' ? va_arg(ap, long)
				    : size_mod == 'L' ? va_arg(ap, long long)
				    : size_mod == 'z' ? (long long)va_arg(ap, size_t)
						      : va_arg(ap, int);
			unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v
						       : (unsigned long long)v;
			out_number(&o, mag, v < 0, 10, width, left);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = size_mod == 'l' ? va_arg(ap, unsigned long)
					     : size_mod == 'L' ? va_arg(ap, unsigned long long)
					     : size_mod == 'z' ? va_arg(ap, size_t)
							       : va_arg(ap, unsigned);
			out_number(&o, v, 0, *f == 'x' ? 16 : 10, width, left);
			break;
		}
		case 'p':
			out_putc(&o, '0');
			out_putc(&o, 'x');
			out_number(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, 0);
			break;
		case '%':
			out_putc(&o, '%');
			break;
		default: /* unknown conversion: show it as written */
			out_putc(&o, '%');
			if (*f)
				out_putc(&o, *f);
			else
				f--;
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

size_t buddy_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = buddy_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
