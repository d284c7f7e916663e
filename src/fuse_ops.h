/* fuse_ops.h -- placeholder. */
#ifndef CKPTFS_FUSE_OPS_H
#define CKPTFS_FUSE_OPS_H
#endif
