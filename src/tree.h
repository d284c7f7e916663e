/* tree.h -- placeholder until implemented. */
#ifndef CKPT_TREE_H
#define CKPT_TREE_H
#endif
