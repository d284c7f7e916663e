/* bundle_writer.c -- placeholder until implemented. */
#include "config.h"
