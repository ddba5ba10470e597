#!/usr/bin/env bash
# Builds the service as one Kore binary: a private copy of Debian's Kore
# sources with patches/*.patch applied, plus src/ and assets/, with the
# config from conf/ embedded. The Dockerfile runs this same script.
#
# Output: build/booking
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build"
kore_src="$out/kore"
app="$out/app/booking"

mkdir -p "$out" "$app/conf"

# Refresh the Kore copy when the patches change.
stamp=$(cat "$root"/patches/*.patch | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/kore.stamp" ] || [ "$(cat "$out/kore.stamp")" != "$stamp" ]
then
	rm -rf "$kore_src" "$app/.objs"
	cp -r /usr/share/kore "$kore_src"
	for p in "$root"/patches/*.patch; do
		patch -s -d "$kore_src" -p1 < "$p"
	done
	echo "$stamp" > "$out/kore.stamp"
fi

# kodev names the application after its directory and embeds
# conf/<name>.conf, so the app is assembled under a fixed name.
ln -sfn "$root/src" "$app/src"
ln -sfn "$root/assets" "$app/assets"
cp "$root/conf/build.conf" "$app/conf/build.conf"
cat "$root/conf/booking.conf" "$root"/conf/routes/*.conf \
    > "$app/conf/booking.conf.new"
if ! cmp -s "$app/conf/booking.conf.new" "$app/conf/booking.conf"; then
	mv "$app/conf/booking.conf.new" "$app/conf/booking.conf"
else
	rm -f "$app/conf/booking.conf.new"
fi

# kodev rebuilds a source only when it is newer than its object: a changed
# header invalidates every application object (named <file>.c.o).
if [ -f "$out/booking" ] && [ -n "$(find "$root/src" -name '*.h' \
    -newer "$out/booking" 2>/dev/null)" ]; then
	rm -f "$app"/.objs/*.c.o
fi

cd "$app"
KORE_SOURCE="$kore_src" KORE_FLAVOR="PGSQL=1 TASKS=1" kodev build \
    > "$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
install -m 0755 "$app/booking" "$out/booking"
echo "built $out/booking"
