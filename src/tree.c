/* tree.c -- placeholder until implemented. */
#include "config.h"
#include "tree.h"
int ckptfs_tree_placeholder;
