#!/bin/sh
# Replay every corpus file through its fuzz target (built with replay.c).
# Covers: tests/fuzz/fuzz_*.c and the parsers they drive.
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-.}
status=0
for t in table bundle tensor_string slice_key objgraph state tree journal; do
	dir=$top_srcdir/tests/fuzz/corpus/$t
	bin=$top_builddir/tests/fuzz/replay_$t
	if [ ! -d "$dir" ]; then
		echo "replay: no corpus for $t" >&2
		status=1
		continue
	fi
	# shellcheck disable=SC2046
	"$bin" $(find "$dir" -type f | sort) || status=1
done
exit $status
