/* SPDX-License-Identifier: MIT */
/*
 * registry.c - every allocator by name, so a tool can take "-a bestfit"
 * and get a struct balloc without knowing the allocator's constructor.
 */
#include "buddy/alloc.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct registry_entry {
	const char *name; /* the allocator's ops name */
	int (*create)(const struct balloc_options *opt, struct balloc *out);
};

/* The allocators, in the order tools list them. */
static const struct registry_entry registry[] = {
	{ "buddy", balloc_buddy_heap_create },
	{ "bestfit", balloc_bestfit_create },
	{ "system", balloc_system_create },
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])

/* Filled from the table on every call (the same values each time). */
static const char *registry_names[REGISTRY_SIZE + 1];

const char *const *balloc_names(void)
{
	for (size_t i = 0; i < REGISTRY_SIZE; i++)
		registry_names[i] = registry[i].name;
	registry_names[REGISTRY_SIZE] = NULL;
	return registry_names;
}

int balloc_create(const char *name, const struct balloc_options *opt, struct balloc *out)
{
	if (!name || !out)
		return EINVAL;
	for (size_t i = 0; i < REGISTRY_SIZE; i++)
		if (strcmp(registry[i].name, name) == 0)
			return registry[i].create(opt, out);
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
