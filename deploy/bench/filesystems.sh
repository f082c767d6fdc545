#!/usr/bin/env bash
#
# Issue 15's "say which filesystem each figure was taken on": bench.sh
# --entries on several filesystems, one after the other, then one table
# (scenario x size x filesystem). A measurement script, not a test. Needs root
# (it makes and mounts filesystems).
#
#     deploy/bench/filesystems.sh [--entries 1k,100k,1M] [--fs native,ext4-journal,xfs,tmpfs]
#                                 [--plain] [--image-dir DIR] [--image-gib N]
#                                 [--dir D] [-- BENCH_OPTIONS...]
#
#   native        the state directory's filesystem as this machine has it:
#                 DIR (default run/) is on it (root ext4 here, without a journal)
#   ext4-journal  a loop-mounted ext4 made by mkfs.ext4 with its defaults (a
#                 journal, data=ordered), on an image file in --image-dir; -N
#                 gives it the inodes bench.sh needs (4 a entry)
#   xfs           a loop-mounted xfs (mkfs.xfs defaults; inodes are dynamic), ditto
#   tmpfs         mount -t tmpfs: no disk at all. An entry takes about 16 KiB of
#                 memory there (3 files x (a 4 KiB page + about 1 KiB of inode
#                 and dentry)); sizes that would not fit in MemAvailable less
#                 4 GiB are skipped with a message
#
# Each image is a sparse file of --image-gib GiB (default: 20 KiB an entry of
# the largest size + 3 GiB, what bench.sh checks for), made, mounted, measured,
# unmounted and removed in turn; every mount is removed on any exit. --plain
# also runs bench.sh's normal scenarios (bench.sh --dir on that filesystem, so
# its state directory is there). BENCH_OPTIONS (--duration, --connections, ...)
# go to every bench.sh run; DEVICEGATE_BIN / BENCH_POPULATE_BIN are honoured.
# Per filesystem: D/<fs>/ (default D = run/bench-fs) holds bench.sh --entries'
# output, D/<fs>.plain.txt the --plain table; the combined table is
# D/results-filesystems.txt.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$bench_dir/../lib/common.sh"

sizes_spec=1k,100k,1M
filesystems=native,ext4-journal,xfs,tmpfs
plain=false
image_dir=""
image_gib=""
work=""
bench_options=()

usage() { sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --entries) sizes_spec=$2; shift ;;
        --fs) filesystems=$2; shift ;;
        --plain) plain=true ;;
        --image-dir) image_dir=$2; shift ;;
        --image-gib) image_gib=$2; shift ;;
        --dir) work=$2; shift ;;
        --) shift; bench_options=("$@"); break ;;
        -h | --help) usage ;;
        *) printf 'unknown option: %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
done

((EUID == 0)) || die "filesystems.sh makes and mounts filesystems: run it as root (sudo $0 ...)"
ensure_packages xfsprogs=mkfs.xfs e2fsprogs=mkfs.ext4 util-linux=findmnt

work=${work:-$DG_ROOT/run/bench-fs}
[[ $work == /* ]] || work=$PWD/$work
image_dir=${image_dir:-$DG_ROOT/run}
[[ $image_dir == /* ]] || image_dir=$PWD/$image_dir
mounts=$work/mnt

# entry_count SPEC: 1k -> 1000, 1M -> 1000000 (as bench.sh).
entry_count() {
    case $1 in
        *[kK]) printf '%s\n' "$((${1%?} * 1000))" ;;
        *[mM]) printf '%s\n' "$((${1%?} * 1000000))" ;;
        *) printf '%s\n' "$(($1))" ;;
    esac
}
IFS=, read -r -a size_specs <<<"$sizes_spec"
largest=0
for spec in "${size_specs[@]}"; do
    [[ $spec =~ ^[0-9]+[kKmM]?$ ]] || die "--entries: not a size: $spec"
    n=$(entry_count "$spec")
    ((n > largest)) && largest=$n
done
IFS=, read -r -a fs_list <<<"$filesystems"
for fs in "${fs_list[@]}"; do
    [[ $fs =~ ^(native|ext4-journal|xfs|tmpfs)$ ]] || die "--fs: unknown filesystem $fs (native, ext4-journal, xfs, tmpfs)"
done
image_gib=${image_gib:-$(((largest * 20 / 1024 + 1023) / 1024 + 3))}
inodes=$((5 * largest + 200000))
tmpfs_kib_per_entry=16

# ---- Mounts, removed on every exit ------------------------------------------

cleanup() {
    local m
    for m in "$mounts"/*; do
        [[ -d $m ]] || continue
        if mountpoint -q "$m"; then umount "$m" || umount -l "$m" || warn "could not unmount $m"; fi
        rmdir "$m" 2>/dev/null || true
    done
    rm -f "$image_dir"/devicegate-bench-*.img
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
rm -rf "$work"
mkdir -p "$work" "$mounts" "$image_dir"

# fs_name PATH: what findmnt and stat -f say of the filesystem PATH is on.
fs_name() {
    local type
    type=$(stat -f -c %T "$1")
    findmnt -n -o FSTYPE,SOURCE,TARGET,OPTIONS -T "$1" |
        awk -v t="$type" '{printf "%s (stat -f: %s) on %s, mounted on %s, %s", $1, t, $2, $3, $4}'
}

# image_mount FS MOUNTPOINT: a fresh FS on a sparse image file, loop-mounted.
image_mount() {
    local fs=$1 mnt=$2 image=$image_dir/devicegate-bench-$1.img avail_gib
    avail_gib=$(df --output=avail -B1G "$image_dir" | tail -n 1)
    ((avail_gib > image_gib + 2)) ||
        die "$fs: the image needs up to $image_gib GiB in $image_dir, $avail_gib GiB free (--image-dir, --image-gib)"
    rm -f "$image"
    truncate -s "${image_gib}G" "$image"
    case $fs in
        ext4-journal) mkfs.ext4 -q -F -N "$inodes" "$image" ;;
        xfs) mkfs.xfs -q -f "$image" ;;
    esac
    mount -o loop "$image" "$mnt"
}

# tmpfs_sizes: the --entries sizes that fit in memory on tmpfs, comma-separated.
tmpfs_sizes() {
    local avail_kib fit="" spec n
    avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
    for spec in "${size_specs[@]}"; do
        n=$(entry_count "$spec")
        if ((n * tmpfs_kib_per_entry + 4 * 1048576 <= avail_kib)); then
            fit+="${fit:+,}$spec"
        else
            warn "tmpfs: skipping $spec entries: ~$((n * tmpfs_kib_per_entry / 1048576)) GiB of memory" \
                "at ~$tmpfs_kib_per_entry KiB an entry, $((avail_kib / 1048576)) GiB available less 4 GiB kept free"
        fi
    done
    printf '%s\n' "$fit"
}

# ---- One filesystem after another -------------------------------------------

measured=()
for fs in "${fs_list[@]}"; do
    out=$work/$fs
    sizes=$sizes_spec
    case $fs in
        native) mnt=$work/native-fs ;;
        tmpfs)
            mnt=$mounts/tmpfs
            sizes=$(tmpfs_sizes)
            [[ -n $sizes ]] || { warn "tmpfs: no size fits in memory; skipped"; continue; }
            mkdir -p "$mnt"
            mount -t tmpfs -o "size=$((largest * tmpfs_kib_per_entry / 1024 + 3072))m,nr_inodes=$inodes,mode=0700" \
                devicegate-bench "$mnt" ;;
        *) mnt=$mounts/$fs; mkdir -p "$mnt"; image_mount "$fs" "$mnt" ;;
    esac
    mkdir -p "$mnt"
    chmod 0700 "$mnt"
    name=$(fs_name "$mnt")
    if [[ $fs == ext4-journal ]]; then
        dumpe2fs -h "$(findmnt -n -o SOURCE -T "$mnt")" 2>/dev/null | grep -q '^Filesystem features:.*has_journal' ||
            die "ext4-journal: the filesystem has no journal"
        name+=", journal"
    fi
    printf '%s\n' "$name" >"$work/$fs.fs.txt"
    log "$fs: $name"
    if $plain; then
        log "$fs: bench.sh (normal scenarios) with --dir $mnt/plain"
        bash "$bench_dir/bench.sh" --dir "$mnt/plain" "${bench_options[@]}"
        # bench.sh empties its --dir: keep the table beside it.
        cp "$mnt/plain/results.txt" "$work/$fs.plain.txt"
        rm -rf "$mnt/plain"
    fi
    log "$fs: bench.sh --entries $sizes --entries-dir $mnt/state"
    bash "$bench_dir/bench.sh" --dir "$out" --entries "$sizes" --entries-dir "$mnt/state" "${bench_options[@]}"
    measured+=("$fs")
    if mountpoint -q "$mnt"; then umount "$mnt"; fi
    rm -f "$image_dir/devicegate-bench-$fs.img"
done
((${#measured[@]})) || die "no filesystem was measured"

# ---- One table --------------------------------------------------------------

report() {
    local fs
    printf '\ndevicegate: cost per request against entries, by filesystem (bench.sh --entries)\n'
    for fs in "${measured[@]}"; do printf '  %-13s %s\n' "$fs" "$(<"$work/$fs.fs.txt")"; done
    printf 'Each cell: req/s (of the same run'"'"'s ceiling) p99 (x the ceiling'"'"'s p99).\n\n'
    local args=()
    for fs in "${measured[@]}"; do args+=("$work/$fs/results-entries.tsv"); done
    awk -F'\t' '
        FNR == 1 { n = split(FILENAME, part, "/"); fs = part[n - 1]; fss[++nfs] = fs }
        $1 == "populate" { pop[fs] = pop[fs] "    " $2 "\n"; next }
        {
            key = $1 SUBSEP $2
            if (!(key in seen)) { seen[key] = 1; rows[++nrows] = key }
            cell[key, fs] = ($3 == "-") ? "-" : sprintf("%s (%s) %s (%s)", $3, $7, $5, $8)
        }
        END {
            printf "%-42s %10s", "scenario", "entries"
            for (f = 1; f <= nfs; f++) printf "  %-32s", fss[f]
            printf "\n"
            for (r = 1; r <= nrows; r++) {
                split(rows[r], k, SUBSEP)
                printf "%-42s %10s", substr(k[1], 1, 42), k[2]
                for (f = 1; f <= nfs; f++) { c = cell[rows[r], fss[f]]; printf "  %-32s", c == "" ? "not run" : c }
                printf "\n"
            }
            for (f = 1; f <= nfs; f++) printf "\npopulating, %s:\n%s", fss[f], pop[fss[f]]
        }' "${args[@]}"
    printf '\nper filesystem, with GC CPU, disk read and issue 15'"'"'s targets: %s/<fs>/results-entries.txt\n' "$work"
    if $plain; then printf 'normal scenarios per filesystem: %s/<fs>.plain.txt\n' "$work"; fi
}
report | tee "$work/results-filesystems.txt"
