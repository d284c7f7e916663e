/* test_writer.c -- placeholder. */
#include "config.h"
#include "check.h"
int
main(void)
{
	return check_done("test_writer");
}
