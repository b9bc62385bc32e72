#!/bin/sh
# Builds one libFuzzer target with clang in its own tree and runs it for a
# bounded time, seeded with the shipped policy packs and fixtures.
#   run_fuzz.sh SOURCE_DIR BUILD_DIR TARGET SECONDS
set -eu
src=$1 build=$2 target=$3 seconds=$4
CXX=clang++ CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLOISTER_FUZZ=ON > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target "$target" > "$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log"; exit 1; }
corpus="$build/corpus-$target"
mkdir -p "$corpus"
# Seeds: each pack document as a document input (leading byte 0).
for f in "$src"/policies/*/*.yaml; do
  { printf '\000'; cat "$f"; } > "$corpus/$(basename "$f").seed"
done
printf '\001count(promotion.approvals, a, a.user != promotion.author) >= 2' > "$corpus/expr.seed"
# policy_fuzz shaped inputs (see policy_fuzz.cpp): the text, a NUL, then the
# bytes that shape the hook's input document. This shape is a definition with
# one step {type: http, url: https://erp.internal/api} at 2026-11-20T15:30:00Z;
# reading the second step's URL once crashed the evaluator.
one_step='\000\002\000\000\002\002\004\000\000\000\000\000\002\001\000\000\002\013\002\015'
if [ "$target" = policy_fuzz ]; then
  printf '\003definition.steps[1].url != ""'"$one_step" > "$corpus/second-step-url-expr.seed"
  printf '\007definition.steps[1].url != ""\000\002\000\000\000\002\002\004\000\000\000\000\000\002\001\000\000\002\013\002\015' \
    > "$corpus/second-step-url-save-expr.seed"
  { printf '\002'; cat "$src/tests/fuzz/seeds/second-step-url.yaml"; printf "$one_step"; } > "$corpus/second-step-url.seed"
  for f in "$src"/policies/*/*.yaml; do
    case $f in *_test.yaml) continue ;; esac
    { printf '\002'; cat "$f"; printf "$one_step"; } > "$corpus/$(basename "$f").shaped.seed"
  done
fi
"$build/tests/fuzz/$target" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus"
