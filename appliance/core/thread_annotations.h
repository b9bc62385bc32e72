// Clang thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html).
//
// A member written `int count_ CL_GUARDED_BY(mu_);` may be touched only with
// `mu_` held; a function declared `CL_REQUIRES(mu_)` may be called only with
// it held. Clang checks this at compile time with -Wthread-safety, which the
// clang build (the fuzzing tree, tests/fuzz/run_fuzz.sh) turns into errors.
// Other compilers see nothing: the macros expand to nothing.
//
// The analysis knows only annotated locks: libstdc++'s std::mutex is not
// one, so guarded members sit behind cloister::Mutex (appliance/core/mutex.h).
#pragma once

#if defined(__clang__)
#define CL_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CL_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are locks ("mutex" in diagnostics).
#define CL_CAPABILITY(name) CL_THREAD_ANNOTATION(capability(name))
// On a class: an RAII object that holds a lock for its lifetime.
#define CL_SCOPED_CAPABILITY CL_THREAD_ANNOTATION(scoped_lockable)

// On a member: read or written only with the lock held.
#define CL_GUARDED_BY(mu) CL_THREAD_ANNOTATION(guarded_by(mu))
// On a pointer member: what it points to is read or written only with the lock held.
#define CL_PT_GUARDED_BY(mu) CL_THREAD_ANNOTATION(pt_guarded_by(mu))

// On a lock member: the order in which locks nest (documented and, with
// -Wthread-safety-beta, checked).
#define CL_ACQUIRED_AFTER(...) CL_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define CL_ACQUIRED_BEFORE(...) CL_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))

// On a function: the caller holds these locks / must not hold them.
#define CL_REQUIRES(...) CL_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define CL_EXCLUDES(...) CL_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: it takes / gives back these locks (none named: `this`).
#define CL_ACQUIRE(...) CL_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CL_RELEASE(...) CL_THREAD_ANNOTATION(release_capability(__VA_ARGS__))

// On a function: the lock is held when it returns (checked at run time, if at all, by the function).
#define CL_ASSERT_CAPABILITY(x) CL_THREAD_ANNOTATION(assert_capability(x))

// On a function: the analysis skips its body. Say why where it is used.
#define CL_NO_THREAD_SAFETY_ANALYSIS CL_THREAD_ANNOTATION(no_thread_safety_analysis)
