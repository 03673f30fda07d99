#!/usr/bin/env bash
# Checks the Promela models in spec/promela exhaustively with SPIN and compares each result with its
# expectation: our design has no error over the full state space; the Go variant (-DGO) and every
# mutant of our design (-DMUT_*) have at least one, and among them the named properties.
#
# Usage: scripts/check-models.sh [--noreduce] [--trail] [MODEL[:VARIANT] ...]
#   MODEL     sendsync.pml, groupsync.pml or cleanup.pml (the .pml may be left out)
#   VARIANT   ours, GO or a mutant (MUT_UNBUFFERED, ...); all variants of MODEL when left out
#   --noreduce  compile pan without partial order reduction (a cross-check; slower)
#   --trail     for runs with errors, print SPIN's counterexample (spin -t -p) of the first one
#
# Prints one line per run:
#   model variant expected errors states transitions seconds total verdict reasons
# where seconds is pan's search, total includes spin -a and gcc, and reasons are the violated
# properties found (the names of the Monitor's verdicts, `invalidEndState`), comma-separated.
# Exits non-zero if any run misses its expectation. Everything is built in a temporary directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="$root/spec/promela"

# model variant expectation: "0" = no error; otherwise every listed reason must be found (>= 1 error)
runs=(
  "sendsync.pml ours 0"
  "sendsync.pml GO lostResponse"
  "sendsync.pml MUT_UNBUFFERED lostResponse"
  "sendsync.pml MUT_NOCLOSE acceptedNotReturned"
  "sendsync.pml MUT_LATEREG lostResponse"
  "groupsync.pml ours 0"
  "groupsync.pml GO miscounted"
  "groupsync.pml MUT_COUNT_MESSAGES miscounted"
  "groupsync.pml MUT_NO_UNINVITED miscounted"
  "groupsync.pml MUT_IGNORE_GONE goneNotReported"
  "cleanup.pml ours 0"
  "cleanup.pml GO closeOfClosedChannel,sendOnClosedChannel,messageLost"
  "cleanup.pml MUT_DROP_BUFFER messageLost"
  "cleanup.pml MUT_KEEP_OFFERER senderNotTold"
  "cleanup.pml MUT_ONE_GROUP staleMembership"
)

# -DSAFETY: only safety properties (assertions, invalid end states) are checked, no cycle detection.
# Partial order reduction stays on: --noreduce gives the same verdicts (checked when the models were
# written). -w: gcc warns about array indexes it cannot bound; pan checks every index at run time.
cflags=(-O2 -w -DSAFETY -DMEMLIM=1024)
# -m: search depth bound, far above the deepest path (< 100 steps); -w20: a 2^20-slot hash table;
# -c0: do not stop at the first error, so the whole state space is searched and counted.
panflags=(-m10000 -w20 -c0)
trail=false
selected=()
for arg in "$@"; do
  case "$arg" in
    --noreduce) cflags+=(-DNOREDUCE) ;;
    --trail) trail=true ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "check-models: unknown option $arg" >&2
      exit 2
      ;;
    *) selected+=("$arg") ;;
  esac
done

if ! command -v spin >/dev/null 2>&1; then
  bash "$root/scripts/ensure-tools.sh"
fi
for tool in spin gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "check-models: $tool is missing (scripts/ensure-tools.sh installs spin and gcc)" >&2
    exit 2
  fi
done

wanted() { # model variant
  [ ${#selected[@]} -eq 0 ] && return 0
  local s m v
  for s in "${selected[@]}"; do
    m="${s%%:*}"
    [[ "$m" == *.pml ]] || m="$m.pml"
    if [[ "$s" == *:* ]]; then v="${s#*:}"; else v=""; fi
    if [ "$m" = "$1" ] && { [ -z "$v" ] || [ "$v" = "$2" ]; }; then return 0; fi
  done
  return 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

work="$(mktemp -d "${TMPDIR:-/tmp}/check-models.XXXXXX")"
trap 'rm -rf "$work"' EXIT

format='%-14s %-19s %-8s %6s %8s %11s %7s %6s %-7s %s\n'
failed=0
matched=0
for run in "${runs[@]}"; do
  read -r model variant expect <<<"$run"
  wanted "$model" "$variant" || continue
  matched=$((matched + 1))
  [ "$matched" -gt 1 ] || printf "$format" model variant expected errors states transitions seconds total verdict reasons
  dir="$work/${model%.pml}-$variant"
  mkdir -p "$dir"
  cp "$models/$model" "$dir/"
  defines=()
  [ "$variant" = ours ] || defines=("-D$variant")
  start=$(now_ms)
  if ! (cd "$dir" && spin -a "${defines[@]}" "$model" >spin.out 2>&1 && gcc "${cflags[@]}" -o pan pan.c >gcc.out 2>&1); then
    echo "check-models: building $model ${defines[*]} failed:" >&2
    cat "$dir/spin.out" "$dir/gcc.out" >&2 2>/dev/null || true
    failed=1
    continue
  fi
  searched=$(now_ms)
  (cd "$dir" && ./pan "${panflags[@]}" >pan.out 2>&1) || true
  finished=$(now_ms)
  out="$dir/pan.out"
  errors=$(grep -oE 'errors: [0-9]+' "$out" | grep -oE '[0-9]+' || echo "?")
  states=$(grep -E '^ *[0-9]+ states, stored' "$out" | awk '{print $1}' || echo "?")
  transitions=$(grep -E 'transitions \(= stored\+matched\)' "$out" | awk '{print $1}' || echo "?")
  reasons=$(grep -E '^pan:[0-9]+: ' "$out" | sed -E 's/^pan:[0-9]+: //; s/ \(at depth [0-9]+\)//' |
    sed -E 's/^assertion violated +!\(([A-Za-z]+)\)$/\1/; s/^invalid end state$/invalidEndState/' |
    sort -u | paste -sd, - || true)
  [ -n "$reasons" ] || reasons="-"

  verdict=ok
  if [ "$expect" = 0 ]; then
    shown=0
    [ "$errors" = 0 ] || verdict=FAIL
  else
    shown=">=1"
    if ! [[ "$errors" =~ ^[0-9]+$ ]] || [ "$errors" -lt 1 ]; then verdict=FAIL; fi
    IFS=, read -r -a needed <<<"$expect"
    for reason in "${needed[@]}"; do
      [[ ",$reasons," == *",$reason,"* ]] || verdict=FAIL
    done
  fi
  # A search cut short by the depth bound or by memory is no proof.
  if grep -qE 'max search depth too small|out of memory|aborting' "$out"; then verdict=FAIL; fi
  [ "$verdict" = ok ] || failed=1

  printf "$format" "$model" "$variant" "$shown" "$errors" "$states" "$transitions" \
    "$(secs $((finished - searched)))" "$(secs $((finished - start)))" "$verdict" "$reasons"
  if [ "$verdict" != ok ]; then
    echo "  expected: $expect; pan output:" >&2
    sed 's/^/    /' "$out" >&2
  fi
  if $trail && [[ "$errors" =~ ^[0-9]+$ ]] && [ "$errors" -gt 0 ]; then
    (cd "$dir" && ./pan -m10000 -w20 >/dev/null 2>&1 || true; spin -t -p "${defines[@]}" "$model") | sed 's/^/    /'
  fi
done

if [ "$matched" -eq 0 ]; then
  echo "check-models: no run matches ${selected[*]}" >&2
  exit 2
fi
exit "$failed"
