#!/usr/bin/env bats
# Covers: src/fuse_ops.c, src/overlay.c (writes and namespace changes
# beside concurrent reads), src/bundle_writer.c, scripts/load-test.
# A small run of scripts/load-test --writers 2: 8 parallel readers (half
# on the same tensor, half on their own) for 6 s while 2 writers change
# two other tensors through the mount (random ranges, each read back and
# compared with a model copy; new tensors created, read back, removed).
# Every read under timeout, every byte checked, the daemon's VmHWM
# growing by less than 32 MiB; then the unmount writes the checkpoint,
# whose checksums all verify and whose written tensors equal the models.
# The bigger run: `scripts/load-test --write` by hand.

load helpers

@test "8 readers and 2 writers for 6 s: every byte right, no hang, memory bounded" {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	command -v setfattr >/dev/null || skip "setfattr not installed"
	run -0 timeout 300 "${top_srcdir:-.}/scripts/load-test" \
		--readers 8 --writers 2 --seconds 6 --tensors 12 \
		--bytes 12000000 --max-growth 32 --scratch "$BATS_TEST_TMPDIR/load"
	assert_line --regexp '^load-test: 8 readers, [0-9]+ s, [0-9]+ reads, [0-9]+ bytes checked, 0 errors, VmHWM [0-9]+ -> [0-9]+ KiB$'
	assert_line --regexp '^load-test: 2 writers, [0-9]+ rounds, [0-9]+ bytes written and read back, 0 errors; write-out [0-9]+ ms, 12 tensors verified$'
	[ "${#lines[@]}" -eq 12 ]
	for i in 0 1 2 3 4 5 6 7; do
		assert_line --regexp "^reader $i: ([3-9]|[1-9][0-9]+) reads, [0-9]+ bytes, 0 errors$"
	done
	# Every writer got through several rounds (a new tensor every 4th).
	for i in 0 1; do
		assert_line --regexp "^writer $i: ([4-9]|[1-9][0-9]+) rounds, [0-9]+ bytes, 0 errors$"
	done
}
