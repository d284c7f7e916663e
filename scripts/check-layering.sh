#!/bin/sh
# Fail if the FUSE-free libraries include a FUSE header, or if generated
# protobuf-c headers leak outside the files that own the wire formats.
srcdir=${top_srcdir:-$(dirname "$0")/..}/src
cd "$srcdir" || exit 99
status=0
core="err coding crc32c table table_builder tensor bundle state bundle_writer objgraph convert tree overlay"
for m in $core; do
	for f in "$m.c" "$m.h"; do
		[ -f "$f" ] || continue
		if grep -n '#include *<fuse' "$f"; then
			echo "check-layering: $f includes a FUSE header" >&2
			status=1
		fi
	done
done
for f in *.c *.h; do
	case "$f" in
	bundle.c | bundle_writer.c | objgraph.c) continue ;;
	esac
	if grep -n 'pb-c\.h' "$f"; then
		echo "check-layering: $f uses generated protobuf-c code" >&2
		status=1
	fi
done
[ $status = 0 ] && echo "check-layering: ok"
exit $status
