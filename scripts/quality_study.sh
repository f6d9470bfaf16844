#!/usr/bin/env bash
# Issue 14's quality study, reproducibly: each config of Configs/quality (or the ones named) trained
# with several seeds on a dataset's Dev split and scored on its Test split by `cnnsep study` (mean SDR
# ± spread across seeds per source, and the share of the oracle's gain). Every table, with the config
# and the wall time, is collected in <out>/QUALITY.md. Only calls cnnsep; running it again resumes
# unfinished training and reuses finished runs and scores.
#
#   scripts/quality_study.sh [--dataset ROOT] [--seeds 1,2,3] [--out DIR] [CONFIG ...] [-- STUDY OPTIONS]
#
#   --dataset  dataset root (default Data/realistic: cnnsep synth --realistic --out Data/realistic
#              --dev 40 --test 10 --seconds 30)
#   --seeds    comma-separated seeds (default 1,2,3)
#   --out      study folder (default Studies/quality): <out>/<config>/ per config
#   CONFIG     names under Configs/quality (default: all of them, paper first)
#   after --    passed to every `cnnsep study`, e.g. `-- --epochs 1 --songs 2` for a smoke run
# The binary is $CNNSEP (default .build/release/cnnsep, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

dataset=Data/realistic seeds=1,2,3 out=Studies/quality configs=() extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dataset) dataset=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "quality_study.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) configs+=("$1"); shift ;;
    esac
done
if [ ${#configs[@]} -eq 0 ]; then
    configs=(paper)
    for f in Configs/quality/*.json; do
        name=$(basename "$f" .json)
        [ "$name" = paper ] || configs+=("$name")
    done
fi
for name in "${configs[@]}"; do
    [ -f "Configs/quality/$name.json" ] || { echo "quality_study.sh: no config Configs/quality/$name.json" >&2; exit 2; }
done
[ -d "$dataset" ] || { echo "quality_study.sh: $dataset: no such dataset (make it with: cnnsep synth --realistic --out $dataset --dev 40 --test 10 --seconds 30)" >&2; exit 2; }

cnnsep=${CNNSEP:-.build/release/cnnsep}
[ -x "$cnnsep" ] || swift build -c release
mkdir -p "$out"
report="$out/QUALITY.md"
{
    echo "# Quality study"
    echo
    echo "\`scripts/quality_study.sh --dataset $dataset --seeds $seeds --out $out ${configs[*]}${extra[*]:+ -- ${extra[*]}}\`;"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load at start $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Each config trains on the Dev split and is scored on the Test split; cnnsep $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
} > "$report.tmp"
for name in "${configs[@]}"; do
    echo "== $name" >&2
    start=$(date +%s)
    "$cnnsep" study --config "Configs/quality/$name.json" --dataset "$dataset" --seeds "$seeds" --out "$out/$name" ${extra[@]+"${extra[@]}"}
    seconds=$(( $(date +%s) - start ))
    {
        echo
        echo "## $name"
        echo
        echo "Config \`Configs/quality/$name.json\`: \`$(tr -s ' \n' ' ' < "Configs/quality/$name.json" | sed 's/ $//')\`; this run took ${seconds} s (load at the end $(cut -d' ' -f1-3 /proc/loadavg); 0 s when every step was reused)."
        echo
        cat "$out/$name/study.md"
    } >> "$report.tmp"
done
mv "$report.tmp" "$report"
echo "report: $report" >&2
