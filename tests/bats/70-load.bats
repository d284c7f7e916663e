#!/usr/bin/env bats
# Covers: src/fuse_ops.c, src/bundle.c (concurrent reads), scripts/load-test.
# A small run of scripts/load-test: 8 parallel readers, half on the same
# tensor and half on their own, whole-file, O_DIRECT and random-range
# reads for 6 s, every byte compared with the shard, every read under
# timeout, the daemon's VmHWM growing by less than 32 MiB.  The bigger
# run is `scripts/load-test` by hand (README).

load helpers

@test "8 parallel readers for 6 s: every byte right, no hang, memory bounded" {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	run -0 timeout 300 "${top_srcdir:-.}/scripts/load-test" \
		--readers 8 --seconds 6 --tensors 12 --bytes 12000000 \
		--max-growth 32 --scratch "$BATS_TEST_TMPDIR/load"
	assert_line --regexp '^load-test: 8 readers, [0-9]+ s, [0-9]+ reads, [0-9]+ bytes checked, 0 errors, VmHWM [0-9]+ -> [0-9]+ KiB$'
	[ "${#lines[@]}" -eq 9 ]
	# Every reader got through several reads.
	for i in 0 1 2 3 4 5 6 7; do
		assert_line --regexp "^reader $i: ([3-9]|[1-9][0-9]+) reads, [0-9]+ bytes, 0 errors$"
	done
}
