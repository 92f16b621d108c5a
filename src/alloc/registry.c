/* SPDX-License-Identifier: MIT */
/*
 * registry.c - every allocator by name, so a tool can take "-a bestfit"
 * and get a struct balloc without knowing the allocator's constructor.
 */
#include "buddy/alloc.h"
#include "buddy/kmalloc.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/*
 * The names, in the order tools list them: a constant array, so that
 * balloc_names() writes nothing and any number of threads may call it.
 */
static const char *const registry_names[] = { "buddy", "kmalloc", "bestfit", "system", NULL };

/* Each allocator's constructor, at its name's index. */
static int (*const registry_create[])(const struct balloc_options *opt, struct balloc *out) = {
	balloc_buddy_heap_create,
	balloc_kmalloc_create,
	balloc_bestfit_create,
	balloc_system_create,
};

#define REGISTRY_SIZE (sizeof registry_create / sizeof registry_create[0])

_Static_assert(sizeof registry_names / sizeof registry_names[0] == REGISTRY_SIZE + 1,
	       "one name per allocator, then NULL");

const char *const *balloc_names(void)
{
	return registry_names;
}

int balloc_create(const char *name, const struct balloc_options *opt, struct balloc *out)
{
	if (!name || !out)
		return EINVAL;
	for (size_t i = 0; i < REGISTRY_SIZE; i++)
		if (strcmp(registry_names[i], name) == 0)
			return registry_create[i](opt, out);
	return ENOENT;
}

void balloc_destroy(struct balloc *a)
{
	if (!a || !a->ops)
		return;
	if (a->ops->destroy)
		a->ops->destroy(a->self);
	a->ops = NULL;
	a->self = NULL;
}
