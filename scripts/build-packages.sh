#!/usr/bin/env bash
# Builds the Debian packages devns and devns-dkms (debian/) from a clean
# export of the git tree, checks them with lintian, failing on its errors,
# and checks that DKMS builds devns.ko from devns-dkms for every installed
# kernel that has its headers.
#
#   scripts/build-packages.sh [--worktree] [--no-deps] [--no-dkms] OUTDIR
#
# The export is the committed tree (git archive HEAD); with --worktree it is
# the files of the working tree that git tracks or would track (untracked
# files that .gitignore does not exclude), as they are now. The build runs
# in OUTDIR/work, which is removed when everything passed. OUTDIR receives
# the binary packages with their .changes and .buildinfo, the source package
# (.dsc and tarball), build.log, lintian.txt and, unless --no-dkms, dkms.log.
#
# As root, the build dependencies of debian/control and lintian are
# installed from Debian's archive first, unless --no-deps.
set -euo pipefail

usage() {
	echo "usage: $0 [--worktree] [--no-deps] [--no-dkms] OUTDIR" >&2
	exit 2
}

worktree=false deps=true dkms=true out=
while [ $# -gt 0 ]; do
	case $1 in
	--worktree) worktree=true ;;
	--no-deps) deps=false ;;
	--no-dkms) dkms=false ;;
	-h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) usage ;;
	*) [ -z "$out" ] || usage; out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || usage

say() { printf 'build-packages: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
mkdir -p "$out"
out=$(realpath "$out")
work=$out/work
src=$work/devns
rm -rf "$work"
mkdir -p "$src"
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo \
	"$out"/*.dsc "$out"/*.tar.* "$out"/build.log "$out"/lintian.txt "$out"/dkms.log

# ---- the export ----------------------------------------------------------

if $worktree; then
	say "exporting the working tree of $top"
	(
		cd "$top"
		git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				# Tracked files deleted in the working tree are gone.
				[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
			done |
			tar --null --no-recursion -T - -cf -
	) | tar -C "$src" -xf -
else
	say "exporting HEAD ($(git -C "$top" rev-parse --short HEAD)) of $top"
	git -C "$top" archive --format=tar HEAD | tar -C "$src" -xf -
fi
[ -f "$src/debian/control" ] ||
	die "the export has no debian/control (not committed yet? try --worktree)"

# ---- build dependencies --------------------------------------------------

if ! (cd "$src" && dpkg-checkbuilddeps) 2>/dev/null ||
	! command -v lintian >/dev/null || ! command -v dpkg-buildpackage >/dev/null; then
	if ! $deps; then
		(cd "$src" && dpkg-checkbuilddeps) || :
		die "build dependencies or lintian are missing (and --no-deps was given)"
	fi
	[ "$(id -u)" = 0 ] || die "build dependencies or lintian are missing; run as root to install them"
	say "installing the build dependencies and lintian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential dpkg-dev lintian >/dev/null
	apt-get build-dep -y -qq --no-install-recommends "$src" >/dev/null
fi

# ---- build ---------------------------------------------------------------

version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
log=$out/build.log

say "building devns $version (source, then binary packages); log: $log"
if ! { (cd "$work" && dpkg-source --build devns) &&
	(cd "$src" && dpkg-buildpackage -us -uc -b); } >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	die "the build failed; see $log and $work"
fi

for f in "$work"/*.deb "$work"/*.ddeb "$work"/*.changes "$work"/*.buildinfo \
	"$work"/*.dsc "$work"/*.tar.*; do
	[ -e "$f" ] && mv "$f" "$out/"
done
changes=$out/devns_${version}_$arch.changes
dsc=$out/devns_$version.dsc

# ---- lintian -------------------------------------------------------------

say "lintian"
status=0
lintian --fail-on error --display-info "$changes" "$dsc" >"$out/lintian.txt" 2>&1 || status=$?
grep -v '^running with root privileges' "$out/lintian.txt" >&2 || :
[ "$status" -eq 0 ] || die "lintian found errors (exit status $status); see $out/lintian.txt"

# ---- DKMS ----------------------------------------------------------------

# The module's source as devns-dkms installs it, built by dkms the way the
# package's postinst has it built, in a tree of its own: nothing is added
# to or signed with the machine's DKMS state.
if $dkms; then
	kernels=()
	for build in /lib/modules/*/build; do
		[ -d "$build" ] || continue
		k=${build%/build}
		kernels+=("${k##*/}")
	done
	if ! command -v dkms >/dev/null; then
		say "dkms is not installed: the DKMS build is not checked"
	elif [ "${#kernels[@]}" -eq 0 ]; then
		say "no kernel headers installed: the DKMS build is not checked"
	else
		dkms_dir=$work/dkms
		mkdir -p "$dkms_dir/tree"
		dpkg-deb -x "$out/devns-dkms_${version}_all.deb" "$dkms_dir/root"
		module_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' \
			"$dkms_dir"/root/usr/src/devns-*/dkms.conf)
		for k in "${kernels[@]}"; do
			say "dkms build devns/$module_version for $k"
			if ! sign_file=/nonexistent dkms build -m devns -v "$module_version" -k "$k" \
				--sourcetree "$dkms_dir/root/usr/src" --dkmstree "$dkms_dir/tree" \
				>>"$out/dkms.log" 2>&1; then
				tail -n 30 "$out/dkms.log" >&2
				die "DKMS could not build devns.ko for $k; see $out/dkms.log"
			fi
			ko=$dkms_dir/tree/devns/$module_version/$k/$(uname -m)/module/devns.ko
			[ -f "$ko" ] || [ -f "$ko.xz" ] || die "DKMS built no devns.ko for $k"
		done
	fi
fi

rm -rf "$work"
say "done: $out"
ls -l "$out" >&2
