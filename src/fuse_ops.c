/* fuse_ops.c -- placeholder. */
#include "config.h"
#include "fuse_ops.h"
int ckptfs_fuse_ops_placeholder;
