#!/usr/bin/env bash
# Run nbcl's kernels under oclgrind (a simulated OpenCL device that checks every memory access)
# on small scenes covering every feature, in both precisions, and fail on any reported error.
#
# Each scene (16 x 16 pixels) runs twice per precision and pixel kernel (nbcl_k_pixel, one pixel
# per work-item, and nbcl_k_pixel_simd, the vector expansion of the same source; NBCL_KERNEL):
#   checked   oclgrind --data-races --uninitialized --check-api, kernels built with
#             -cl-opt-disable (oclgrind 21.10's uninitialized-value plugin aborts on LLVM's
#             `freeze` instruction, which the optimiser emits: "Unsupported instruction: freeze")
#   shipped   oclgrind --data-races --check-api on the optimised kernels, as devices build them
# and must exit 0 with an empty oclgrind log (oclgrind itself exits 0 even when it reports, so
# the log is what counts). When another OpenCL device exists (PoCL in CI) the same scene is also
# rendered there and the oclgrind images must agree with it (relative to the image maximum:
# 1e-6 in double, 1e-3 in single), which proves the kernels really ran under oclgrind.
#
# Statistics: nbcl computes image statistics with CLBlast on non-CPU devices; CLBlast's own
# reduction kernels are not ours and cost ~45 s per run under oclgrind (and its
# XdotEpilogue/XasumEpilogue report uninitialized local-memory stores). Every run therefore sets
# NBCL_STATS=host (engine/src/render/stats.c: the host passes), so only nbcl's kernels run under
# oclgrind. A log naming another kernel says this no longer holds.
#
# Exit status: 0 all clean; 1 a run failed, reported an error or disagreed with the reference;
# 2 set-up problem (no oclgrind, no nbcl binary, oclgrind device not visible).
#
# Environment:
#   NBCL_BIN          nbcl executable (default: build/bin/nbcl, the build tools/test.sh makes,
#                     else build-rel/bin/nbcl; built into build-rel when neither exists)
#   NBCL_OCLGRIND_OUT work directory for fixtures, logs, images (default: a mktemp directory,
#                     removed on success)
#   NBCL_OCLGRIND_ONLY  space-separated scene names to run (default: all)
#   NBCL_OCLGRIND_PRECISIONS  default "double single"
#   NBCL_OCLGRIND_KERNELS  default "scalar simd" (values of NBCL_KERNEL)
#   NBCL_OCLGRIND_MEM  --global-mem-size of the simulated device (default 65536 bytes)
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! command -v oclgrind >/dev/null 2>&1; then
    echo "run_oclgrind: oclgrind not found (apt-get install oclgrind)" >&2
    exit 2
fi
nbcl=${NBCL_BIN:-}
if [ -z "$nbcl" ]; then
    for b in "$here/build/bin/nbcl" "$here/build-rel/bin/nbcl"; do
        if [ -x "$b" ]; then nbcl=$b; break; fi
    done
fi
if [ -z "$nbcl" ]; then
    echo "run_oclgrind: building nbcl into $here/build-rel"
    cmake -S "$here" -B "$here/build-rel" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$here/build-rel" -j2 --target nbcl_cli >/dev/null || {
        echo "run_oclgrind: build failed" >&2; exit 2; }
    nbcl=$here/build-rel/bin/nbcl
fi
nbcl=$(cd "$(dirname "$nbcl")" && pwd)/$(basename "$nbcl")

keep=1
work=${NBCL_OCLGRIND_OUT:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/nbcl_oclgrind.XXXXXX")
    keep=0
fi
mkdir -p "$work"
cd "$work" || exit 2

# Never load a cached program binary: oclgrind's --build-options are not part of nbcl's cache key,
# and a cached optimised binary would defeat -cl-opt-disable.
export NBCL_CACHE=off
# statistics on the host: only nbcl's kernels run under oclgrind (see the header)
export NBCL_STATS=host
unset NBCL_DEVICE NBCL_BUILD_OPTIONS NBCL_KERNEL_DIR NBCL_KERNEL
# simulated device memory (bytes): every buffer of these scenes fits
OG_MEM=${NBCL_OCLGRIND_MEM:-65536}

# ------------------------------------------------------------------ oclgrind device visible?
if ! oclgrind "$nbcl" -list_devices 2>/dev/null | grep -qi oclgrind; then
    echo "run_oclgrind: nbcl does not see the oclgrind platform under oclgrind:" >&2
    oclgrind "$nbcl" -list_devices >&2
    exit 2
fi
# a reference device outside oclgrind (PoCL in CI); empty when there is none
ref_dev=""
if "$nbcl" -list_devices 2>/dev/null | grep -qv -i oclgrind; then
    ref_dev=$("$nbcl" -list_devices 2>/dev/null | grep -vi oclgrind | head -1 | awk '{print $1}')
fi

# ------------------------------------------------------------------ fixtures
# HKL grid -3..3 (tricubic interpolation needs neighbours; reflections beyond it use default_F)
for h in -3 -2 -1 0 1 2 3; do for k in -3 -2 -1 0 1 2 3; do for l in -3 -2 -1 0 1 2 3; do
    echo "$h $k $l $(( (h * h + 2 * k * k + 3 * l * l) % 11 * 10 + 5 ))"
done; done; done > f.hkl
printf ' -0.0100 0.0020 0.0010\n 0.0015 -0.0095 0.0030\n 0.0040 0.0025 0.0110\n' > a.mat
printf -- '-10 0 0 1 1e-10\n-10 0.002 0 1 1e-10\n-10 0 -0.002 0.5\n' > s.txt
# 16 x 16 SMV mask, pixel 0.5 mm: zero in a band of rows 4..7 and in column 3
{
    hdr=$(printf '{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\nSIZE1=16;\nSIZE2=16;\nPIXEL_SIZE=0.5;\nDISTANCE=100;\nWAVELENGTH=1;\n}\f')
    printf '%s' "$hdr"
    head -c $((512 - ${#hdr})) /dev/zero | tr '\0' ' '
    for y in $(seq 0 15); do for x in $(seq 0 15); do
        if [ "$y" -ge 4 ] && [ "$y" -le 7 ] || [ "$x" -eq 3 ]; then printf '\000\000'; else printf '\001\000'; fi
    done; done
} > m.img

# ------------------------------------------------------------------ scenes
# name | features (space separated) | arguments
B="-cell 100 100 100 90 90 90 -detpixels 16 -pixel 0.5 -distance 100 -seed 1 -oversample 1"
scenes=(
"hkl_interp|hkl interpolation square mosflm polar|$B -hkl f.hkl -nodump -N 2 -interpolate"
"hkl_nearest|hkl nearest square mosflm|$B -hkl f.hkl -nodump -N 5 -nointerpolate"
"default_F|default_F square mosflm|$B -default_F 100 -N 5"
"round|round default_F|$B -default_F 100 -N 5 -round_xtal"
"gauss|gauss default_F|$B -default_F 100 -N 5 -gauss_xtal"
"tophat|tophat default_F|$B -default_F 100 -N 5 -tophat_spots"
"xds|xds default_F|$B -default_F 100 -N 5 -xds"
"adxv|adxv default_F|$B -default_F 100 -N 5 -adxv"
"denzo|denzo default_F|$B -default_F 100 -N 5 -denzo"
"dials|dials default_F|$B -default_F 100 -N 5 -dials"
"custom|custom vectors default_F|$B -default_F 100 -N 5 -fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 -beam_vector 1 0 0 -polar_vector 0 0 1 -spindle_axis 0 0 1"
"pivot_sample|xds pivot_sample default_F|$B -default_F 100 -N 5 -xds -ORGX 7 -ORGY 9 -close_distance 95"
"rotations|rotations twotheta default_F|$B -default_F 100 -N 5 -detector_rotx 5 -detector_roty 3 -detector_rotz 2 -twotheta 10"
"curved|curved default_F|$B -default_F 100 -N 5 -curved_det"
"point_pixel|point_pixel default_F|$B -default_F 100 -N 5 -point_pixel"
"absorption|absorption thicksteps default_F|$B -default_F 100 -N 5 -detector_abs 500 -detector_thick 450 -thicksteps 3"
"oversample|oversample oversample_thick oversample_polar oversample_omega absorption thicksteps polar|$B -default_F 100 -N 5 -oversample 2 -oversample_thick -oversample_polar -oversample_omega -detector_abs 500 -detector_thick 450 -thicksteps 2 -polar 0.5"
"polar|polar default_F|$B -default_F 100 -N 5 -polar 0.5"
"nopolar|nopolar default_F|$B -default_F 100 -N 5 -nopolar"
"divergence_dispersion|divergence dispersion default_F|$B -default_F 100 -N 5 -divergence 1 -divsteps 3 -dispersion 2 -dispsteps 3"
"sourcefile|sourcefile default_F|$B -default_F 100 -N 5 -sourcefile s.txt"
"mosaic_phi|mosaic phi hkl interpolation|$B -hkl f.hkl -nodump -N 2 -mosaic 1 -mosaic_dom 3 -phi 0 -osc 2 -phisteps 2"
"misset_mat|mat misset hkl nearest|-mat a.mat -misset 10 20 30 -detpixels 16 -pixel 0.5 -distance 100 -seed 1 -oversample 1 -hkl f.hkl -nodump -N 5 -nointerpolate"
"roi|roi default_F|$B -default_F 100 -N 5 -roi 2 12 3 13"
"mask|mask default_F|$B -default_F 100 -N 5 -mask m.img"
"water|water default_F|$B -default_F 100 -N 5 -water 100"
"dmin|dmin default_F|$B -default_F 100 -N 5 -dmin 8"
# rotation series: the vector kernel renders their frames in one launch (frames per launch;
# not with -interpolate, which renders frame by frame)
"series|series default_F mosaic phi|$B -default_F 100 -N 5 -mosaic 1 -mosaic_dom 2 -osc 1 -phisteps 2 -nframes 3"
"series_hkl|series hkl nearest|$B -hkl f.hkl -nodump -N 5 -nointerpolate -osc 1 -phisteps 2 -nframes 3"
)

precisions=${NBCL_OCLGRIND_PRECISIONS:-"double single"}
kernels=${NBCL_OCLGRIND_KERNELS:-"scalar simd"}
only=" ${NBCL_OCLGRIND_ONLY:-} "

# max |a-b| / max |b| of two raw float32 images ("nan" if either holds a non-finite value)
compare() {
    paste <(od -An -v -tf4 -w4 "$1") <(od -An -v -tf4 -w4 "$2") | awk '
        { a = $1 + 0; b = $2 + 0
          if ($1 ~ /nan|inf/ || $2 ~ /nan|inf/) bad = 1
          d = a - b; if (d < 0) d = -d; if (d > md) md = d
          if (b < 0) b = -b; if (b > mb) mb = b; n++ }
        END { if (bad || n == 0) print "nan"; else if (mb == 0) print (md == 0 ? 0 : "inf");
              else printf "%.3g\n", md / mb }'
}

declare -A cover
failures=0
runs=0
t_start=$(date +%s)
for entry in "${scenes[@]}"; do
    IFS='|' read -r name feats args <<<"$entry"
    if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then continue; fi
    for prec in $precisions; do
        ok=1
        rel=""
        # a series (-nframes N) writes N files per output: name templates, compared frame by frame
        nfr=$(sed -n 's/.*-nframes \([0-9]*\).*/\1/p' <<<"$args")
        fr=""; [ -n "$nfr" ] && fr=".#"
        outs="-floatfile $name.$prec.%s$fr.bin -intfile $name.$prec.%s$fr.img -nopgm -nonoise -noprogress -precision $prec"
        ref=""
        if [ -n "$ref_dev" ]; then
            # shellcheck disable=SC2086,SC2059,SC2046
            if "$nbcl" $args $(printf -- "$outs" ref ref) -device "$ref_dev" >"$name.$prec.ref.out" 2>&1; then
                ref=$name.$prec.ref
            else
                echo "FAIL $name $prec: reference run on $ref_dev failed:" >&2
                tail -3 "$name.$prec.ref.out" >&2
                ok=0
            fi
        fi
        for run in $(for k in $kernels; do printf '%s.checked %s.shipped ' "$k" "$k"; done); do
            kern=${run%.*} mode=${run#*.}
            runs=$((runs + 1))
            log=$name.$prec.$run.log
            if [ $mode = checked ]; then
                ogopts=(--data-races --uninitialized --check-api --build-options -cl-opt-disable)
            else
                ogopts=(--data-races --check-api)
            fi
            # shellcheck disable=SC2086,SC2059,SC2046
            NBCL_KERNEL=$kern oclgrind "${ogopts[@]}" --global-mem-size $OG_MEM --log "$log" \
                "$nbcl" $args $(printf -- "$outs" $run $run) -device oclgrind \
                >"$name.$prec.$run.out" 2>&1
            rc=$?
            if [ $rc -ne 0 ]; then
                echo "FAIL $name $prec $run: nbcl exit $rc:" >&2
                tail -5 "$name.$prec.$run.out" >&2
                ok=0
            fi
            if [ -s "$log" ]; then
                echo "FAIL $name $prec $run: oclgrind reported errors ($log):" >&2
                head -20 "$log" >&2
                others=$(sed -n 's/^[[:space:]]*Kernel: //p' "$log" | grep -v '^nbcl_' | sort -u | tr '\n' ' ')
                if [ -n "$others" ]; then
                    echo "  (kernels not nbcl's ran under oclgrind: $others- the statistics did not" \
                         "run on the host although NBCL_STATS=host)" >&2
                fi
                ok=0
            fi
            for f in $(if [ -n "$nfr" ]; then seq 1 "$nfr"; else echo ""; fi); do
                sfx=${f:+.$f}
                img=$name.$prec.$run$sfx.bin
                if [ $rc -eq 0 ] && [ ! -s "$img" ]; then
                    echo "FAIL $name $prec $run: no image $img" >&2
                    ok=0
                elif [ $rc -eq 0 ] && [ -n "$ref" ]; then
                    tol=1e-6; [ "$prec" = single ] && tol=1e-3
                    rel=$(compare "$img" "$ref$sfx.bin")
                    if ! awk -v r="$rel" -v t="$tol" 'BEGIN { exit !(r != "nan" && r != "inf" && r + 0 <= t + 0) }'; then
                        echo "FAIL $name $prec $run: $img differs from $ref_dev by $rel of its maximum (tolerance $tol)" >&2
                        ok=0
                    fi
                elif [ $rc -eq 0 ] && [ "$(compare "$img" "$img")" = nan ]; then
                    echo "FAIL $name $prec $run: non-finite pixels in $img" >&2
                    ok=0
                fi
            done
        done
        if [ $ok = 1 ]; then
            for f in $feats; do cover[$f]="${cover[$f]:-}${cover[$f]:+ }$prec"; done
            printf 'ok   %-22s %-6s %s\n' "$name" "$prec" "${rel:+(vs $ref_dev: $rel)}"
        else
            failures=$((failures + 1))
            printf 'FAIL %-22s %-6s\n' "$name" "$prec"
        fi
    done
done
t_end=$(date +%s)

echo
echo "oclgrind coverage (feature: precisions that ran clean):"
for f in $(printf '%s\n' "${!cover[@]}" | sort); do
    printf '  %-18s %s\n' "$f" "$(tr ' ' '\n' <<<"${cover[$f]}" | sort -u | tr '\n' ' ')"
done
echo "$runs oclgrind runs, $failures failing scene/precision pairs, $((t_end - t_start)) s;" \
     "reference device: ${ref_dev:-none}"
if [ $keep = 1 ] || [ $failures -ne 0 ]; then
    echo "logs and images in $work"
fi
if [ $failures -ne 0 ]; then
    exit 1
fi
if [ $keep = 0 ]; then
    cd / && rm -rf "$work"
fi
exit 0
