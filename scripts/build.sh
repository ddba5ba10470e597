#!/usr/bin/env bash
# Builds the service as one Kore binary: a private copy of Debian's Kore
# sources with the patches named in patches/series applied in that order,
# plus src/ and assets/, with the
# config from conf/ embedded. The Dockerfile runs this same script.
#
# Output: build/booking
#
# `scripts/build.sh asan` builds the same sources (Kore's too) with
# AddressSanitizer and UndefinedBehaviorSanitizer into build/asan/booking,
# for the sanitizer part of make test (scripts/test.sh asan).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-}
case "$variant" in
"")	out="$root/build" ;;
asan)	out="$root/build/asan" ;;
*)	echo "usage: $0 [asan]" >&2; exit 1 ;;
esac
kore_src="$out/kore"
app="$out/app/booking"

mkdir -p "$out" "$app/conf"

# patches/series names the patches in the order they apply (comments and
# blank lines aside). A patch in patches/ that the series does not name is
# an error: it would silently not be applied.
series=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$root/patches/series")
for p in "$root"/patches/*.patch; do
	if ! grep -qxF "$(basename "$p")" <<< "$series"; then
		echo "patches/$(basename "$p") is not in patches/series" >&2
		exit 1
	fi
done

# Refresh the Kore copy when the series or a patch changes.
# (and when this script changes: its kore_flavor, e.g. CURL=1, changes
# Kore's objects).
stamp=$( (for p in $series; do echo "$p"; cat "$root/patches/$p"; done
    cat "$0") | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/kore.stamp" ] || [ "$(cat "$out/kore.stamp")" != "$stamp" ]
then
	echo "applying patches/series to a copy of /usr/share/kore"
	rm -rf "$kore_src" "$app/.objs"
	cp -r /usr/share/kore "$kore_src"
	for p in $series; do
		patch -s -d "$kore_src" -p1 --forward --no-backup-if-mismatch \
		    < "$root/patches/$p" || {
			echo "patches/$p does not apply" >&2
			exit 1
		}
	done
	echo "$stamp" > "$out/kore.stamp"
fi

# kodev names the application after its directory and embeds
# conf/<name>.conf, so the app is assembled under a fixed name.
ln -sfn "$root/src" "$app/src"
cp "$root/conf/build.conf" "$app/conf/build.conf"

# Assets: assets/* as they are, the API description as JSON instead of
# YAML, and the docs pages' bundles when scripts/npm.sh installed them.
# Without the bundles /docs and /redoc answer 404 docs_not_built.
assets="$app/assets"
[ -L "$assets" ] && rm -f "$assets"
mkdir -p "$assets"
find "$assets" -mindepth 1 -maxdepth 1 -type l -delete
for f in "$root"/assets/*; do
	case "$f" in
	*.yaml|*/app)	;;
	*)	ln -s "$f" "$assets/$(basename "$f")" ;;
	esac
done
python3 "$root/scripts/openapi-json.py" "$root/assets/openapi.yaml" \
    > "$out/openapi.json.new"
if ! cmp -s "$out/openapi.json.new" "$out/openapi.json"; then
	mv "$out/openapi.json.new" "$out/openapi.json"
else
	rm -f "$out/openapi.json.new"
fi
cp -p "$out/openapi.json" "$assets/openapi.json"

nm="$root/node_modules"
bundles="$nm/swagger-ui-dist/swagger-ui-bundle.js
$nm/swagger-ui-dist/swagger-ui.css
$nm/redoc/bundles/redoc.standalone.js"
docs=yes
for f in $bundles; do
	[ -f "$f" ] || docs=no
done
# ReDoc's bundle links its logo from a CDN: the page must not reach the
# internet, so that image gets an empty source (ReDoc then omits it).
for f in $bundles; do
	dst="$assets/$(basename "$f")"
	if [ $docs = no ]; then
		rm -f "$dst"
		continue
	fi
	sed 's#https://cdn\.redoc\.ly/redoc/logo-mini\.svg##g' "$f" > "$dst.new"
	if grep -Eq 'https?://cdn' "$dst.new"; then
		echo "$f links a CDN" >&2
		exit 1
	fi
	if cmp -s "$dst.new" "$dst"; then
		rm -f "$dst.new"
	else
		mv "$dst.new" "$dst"
	fi
done
if [ $docs = yes ]; then
	echo "cflags=-DBOOKING_DOCS" >> "$app/conf/build.conf"
else
	echo "docs pages not built in: run scripts/npm.sh first" >&2
fi
# The booking page (src/boxoffice.c): assets/app/*.ts compiled with tsc
# against a client generated from the description (openapi-typescript),
# served with openapi-fetch's ES module, when the npm dev packages are
# installed; without them / answers 404 app_not_built.
web="$out/web"
app_js="main session seatmap"
boxoffice=no
if [ -x "$nm/.bin/tsc" ] && [ -x "$nm/.bin/openapi-typescript" ] &&
    [ -f "$nm/openapi-fetch/dist/index.mjs" ]; then
	boxoffice=yes
	mkdir -p "$web/src"
	cp -p "$root"/assets/app/*.ts "$web/src/"
	if [ ! -f "$web/src/api.ts" ] ||
	    [ "$out/openapi.json" -nt "$web/src/api.ts" ]; then
		# From build/web/: the project's redocly.yaml is for lint.
		(cd "$web" && "$nm/.bin/openapi-typescript" ../openapi.json \
		    -o src/api.ts --silent)
	fi
	cat > "$web/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "ES2022",
    "moduleResolution": "Bundler",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "types": [],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "noEmitOnError": true,
    "skipLibCheck": true,
    "rootDir": "src",
    "outDir": "js"
  },
  "include": ["src/*.ts"]
}
JSON
	"$nm/.bin/tsc" -p "$web/tsconfig.json"
	for m in $app_js; do
		cmp -s "$web/js/$m.js" "$assets/app-$m.js" ||
		    cp "$web/js/$m.js" "$assets/app-$m.js"
	done
	cmp -s "$nm/openapi-fetch/dist/index.mjs" \
	    "$assets/app-openapi-fetch.js" ||
	    cp "$nm/openapi-fetch/dist/index.mjs" \
	    "$assets/app-openapi-fetch.js"
	echo "cflags=-DBOOKING_BOXOFFICE" >> "$app/conf/build.conf"
else
	rm -f "$assets"/app-*.js
	echo "booking page not built in: run scripts/npm.sh first" >&2
fi
if [ "$(cat "$out/boxoffice.stamp" 2>/dev/null)" != $boxoffice ]; then
	rm -f "$app/.objs/boxoffice.c.o"
	echo $boxoffice > "$out/boxoffice.stamp"
fi
flavor="PGSQL=1 TASKS=1 CURL=1"
if [ "$variant" = asan ]; then
	san="-fsanitize=address,undefined"
	echo "cflags=$san -fno-omit-frame-pointer -DBOOKING_SANITIZE" \
	    >> "$app/conf/build.conf"
	echo "ldflags=$san" >> "$app/conf/build.conf"
	flavor="$flavor SANITIZE=address,undefined"
fi
if [ "$(cat "$out/docs.stamp" 2>/dev/null)" != $docs ]; then
	rm -f "$app/.objs/docs.c.o"
	echo $docs > "$out/docs.stamp"
fi
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
if [ ! -f "$out/booking" ] || [ ! -d "$app/.objs" ]; then
	echo "building $out/booking with kodev: Kore first, then src/" \
	    "(a few minutes; log: ${out#$root/}/build.log)"
fi
KORE_SOURCE="$kore_src" KORE_FLAVOR="$flavor" kodev build \
    > "$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
install -m 0755 "$app/booking" "$out/booking"
echo "built $out/booking"
