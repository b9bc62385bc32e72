#!/bin/sh
# Clang's lock analysis (-Wthread-safety, as errors) over every source file
# that declares or takes an annotated lock: those including
# appliance/core/mutex.h, directly or through their own header. The analysis
# runs while clang reads the code, so -fsyntax-only is enough and no second
# build of the tree is needed. First it checks that the analysis is on: a
# guarded member read without its lock must fail.
#   thread_safety_check.sh SOURCE_DIR
set -eu
src=$1
flags="-std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety -DSQLITE_HAS_CODEC -I$src $(pkg-config --cflags sqlcipher)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat > "$probe/unguarded.cpp" <<'CPP'
#include "appliance/core/mutex.h"
class Counter {
 public:
  int Read() const { return value_; }
 private:
  mutable cloister::Mutex mu_;
  int value_ CL_GUARDED_BY(mu_) = 0;
};
int main() { return Counter().Read(); }
CPP
if clang++ $flags "$probe/unguarded.cpp" 2>/dev/null; then
  echo "the lock analysis did not refuse an unguarded read: are the annotations compiled in?" >&2
  exit 1
fi
cd "$src"
headers=$(grep -rl --include='*.h' '#include "appliance/core/mutex.h"' appliance audit governance)
pattern=appliance/core/mutex.h
for h in $headers; do pattern="$pattern|$h"; done
files=$(grep -rlE --include='*.cpp' "#include \"($pattern)\"" appliance audit governance | sort)
count=$(echo "$files" | wc -l)
echo "checking locks in $count files"
echo "$files" | xargs -P "$(nproc)" -n 4 clang++ $flags
echo "no unguarded access in $count files"
