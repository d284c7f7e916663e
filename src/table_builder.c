/* table_builder.c -- placeholder until implemented. */
#include "config.h"
