/* check_dir.h -- an invariant of the tree the fuzz targets check after
 * every build or replay (a header: each target is one program). */
#ifndef CKPT_FUZZ_CHECK_DIR_H
#define CKPT_FUZZ_CHECK_DIR_H

#include <stdlib.h>

#include "tree.h"

/* Every name of directory D is where its node says it is, displayable,
 * and found again by a lookup; abort() if not. */
static inline void
check_dir(const struct ckptfs_node *d)
{
	for (size_t k = 0; k < d->dir.n; k++) {
		struct ckptfs_node *c = CKPTFS_DIR_ENTS(d)[k].node;
		const struct ckptfs_loc *l;

		if (c == NULL)
			continue;
		l = CKPTFS_ENT_LOC(d, c);
		if (l->dir != d || l->len == 0 || l->len > CKPTFS_NAME_MAX ||
		    ckptfs_dir_lookup(d, l->name, l->len) != c)
			abort();
	}
}

#endif
